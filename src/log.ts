import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON lines on stderr (stdout is kept for command output such as `render --dry-run`). */
export function createLogger(level: string, stream: NodeJS.WritableStream = process.stderr): Logger {
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, stream);
}

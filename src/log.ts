import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export type LogFormat = 'auto' | 'human' | 'json';

/** Whether `format` means readable lines on this stream: `auto` follows whether it is a terminal. */
export function isHumanFormat(format: LogFormat, stream: NodeJS.WritableStream): boolean {
  return format === 'human' || (format === 'auto' && (stream as { isTTY?: boolean }).isTTY === true);
}

/**
 * Logs on stderr (stdout is kept for command output such as `render --dry-run`):
 * JSON lines for machines, or one readable line per event for people
 * (`level time message {fields}`), colored on a terminal.
 */
export function createLogger(level: string, stream: NodeJS.WritableStream = process.stderr, format: LogFormat = 'json'): Logger {
  const options = { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime };
  if (!isHumanFormat(format, stream)) return pino(options, stream);
  const tty = (stream as { isTTY?: boolean }).isTTY === true;
  // pino-pretty prints its error key on lines of its own; ipx logs `err` as a one-line reason, so it stays
  // on the event's line. The fields the apply line already says in words are left out.
  return pino(
    { ...options, errorKey: 'error', serializers: { err: pino.stdSerializers.err } },
    pretty({ destination: stream, sync: true, colorize: tty, singleLine: true, errorLikeObjectKeys: ['error'], translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,change,stepsMs,runtimeOps,durationMs' }),
  );
}

import { createConnection } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { HaproxyRuntimeError } from '../errors.ts';
import { parseShowProc, type ShowProc } from './show-proc.ts';

export interface MasterCliOptions {
  readonly socketPath: string;
  /** Longest a single exchange (connect, write, read to close) may take. */
  readonly exchangeTimeoutMs?: number;
}

export interface CommandOptions {
  /**
   * Keep retrying a refused or reset connection until this many ms have
   * passed: while the master re-executes, its socket refuses connections.
   */
  readonly waitMs?: number;
  /**
   * Retry only failures that happened before the command was written. For
   * commands that must not run twice (`reload`).
   */
  readonly retryOnlyBeforeWrite?: boolean;
  /** An empty answer is a dropped connection, not an answer (true for `show proc`). */
  readonly expectOutput?: boolean;
}

/** Client for HAProxy's master CLI (`-S`): one command per connection. */
export interface MasterCli {
  readonly socketPath: string;
  command(command: string, options?: CommandOptions): Promise<string>;
  showProc(options?: CommandOptions): Promise<ShowProc>;
}

/** A failed exchange; `written` tells whether the command may have reached the master. */
class ExchangeError extends Error {
  constructor(
    readonly code: string,
    readonly written: boolean,
  ) {
    super(code);
  }
}

const RETRYABLE = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE', 'EAGAIN', 'EMPTY']);
const RETRY_SLEEP_MS = 50;

export function createMasterCli(options: MasterCliOptions): MasterCli {
  const { socketPath } = options;
  const exchangeTimeoutMs = options.exchangeTimeoutMs ?? 5000;

  async function command(text: string, commandOptions: CommandOptions = {}): Promise<string> {
    const deadline = Date.now() + (commandOptions.waitMs ?? 0);
    for (;;) {
      try {
        const answer = await exchange(socketPath, text, exchangeTimeoutMs);
        if (commandOptions.expectOutput && answer.trim() === '') throw new ExchangeError('EMPTY', true);
        return answer;
      } catch (err) {
        const failure = err as ExchangeError;
        const retryable = RETRYABLE.has(failure.code) && !(commandOptions.retryOnlyBeforeWrite && failure.written);
        if (!retryable || Date.now() + RETRY_SLEEP_MS > deadline) {
          throw new HaproxyRuntimeError(
            `haproxy: master CLI ${socketPath} did not answer '${text}' (${failure.code}${commandOptions.waitMs ? ` after retrying for ${commandOptions.waitMs} ms` : ''}); is the HAProxy master running with -S on that socket?`,
            { cause: err },
          );
        }
        await sleep(RETRY_SLEEP_MS);
      }
    }
  }

  return {
    socketPath,
    command,
    showProc: async (commandOptions) => parseShowProc(await command('show proc', { ...commandOptions, expectOutput: true })),
  };
}

/**
 * Connects, writes the command and half-closes: the master CLI answers and
 * closes only once it sees the end of input (without it, it waits for more).
 */
function exchange(socketPath: string, command: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let written = false;
    let settled = false;
    const socket = createConnection(socketPath);
    const finish = (error?: ExchangeError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const timer = setTimeout(() => finish(new ExchangeError('ETIMEDOUT', written)), timeoutMs);
    socket.on('connect', () => {
      written = true;
      socket.end(`${command}\n`);
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => finish());
    socket.on('close', () => finish());
    socket.on('error', (err: NodeJS.ErrnoException) => finish(new ExchangeError(err.code ?? err.message, written)));
  });
}

import { createConnection } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { HaproxyRuntimeError } from '../../errors.ts';

/**
 * One command per connection on an HAProxy CLI socket: the master CLI (`-S`)
 * and the stats socket of a worker (the runtime API) speak the same way.
 */
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

export interface SocketTarget {
  readonly socketPath: string;
  /** Longest a single exchange (connect, write, read to close) may take; 5 s by default. */
  readonly exchangeTimeoutMs?: number | undefined;
  /** Names the socket in an error, e.g. `master CLI`. */
  readonly label: string;
  /** The end of the error message: what to check when it does not answer. */
  readonly hint: string;
}

/** A failed exchange; `written` tells whether the command may have reached HAProxy. */
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

export type SendCommand = (text: string, options?: CommandOptions) => Promise<string>;

/** A function that sends one command to `target` and returns the whole answer. */
export function commandSender(target: SocketTarget): SendCommand {
  return (text, options) => sendCommand(target, text, options);
}

/** Sends one command and returns the whole answer; throws HaproxyRuntimeError naming the socket. */
async function sendCommand(target: SocketTarget, text: string, options: CommandOptions = {}): Promise<string> {
  const deadline = Date.now() + (options.waitMs ?? 0);
  for (;;) {
    try {
      const answer = await exchange(target.socketPath, text, target.exchangeTimeoutMs ?? 5000);
      if (options.expectOutput && answer.trim() === '') throw new ExchangeError('EMPTY', true);
      return answer;
    } catch (err) {
      const failure = err instanceof ExchangeError ? err : new ExchangeError(String(err), true);
      const retryable = RETRYABLE.has(failure.code) && !(options.retryOnlyBeforeWrite && failure.written);
      if (!retryable || Date.now() + RETRY_SLEEP_MS > deadline) {
        throw new HaproxyRuntimeError(
          `haproxy: ${target.label} ${target.socketPath} did not answer '${text}' (${failure.code}${options.waitMs ? ` after retrying for ${options.waitMs} ms` : ''}); ${target.hint}`,
          { cause: err },
        );
      }
      await sleep(RETRY_SLEEP_MS);
    }
  }
}

/**
 * Connects, writes the command and half-closes: the CLI answers and closes
 * only once it sees the end of input (without it, it waits for more).
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

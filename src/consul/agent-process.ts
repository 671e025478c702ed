/**
 * One `consul agent` child process: its output kept for error messages, a stop
 * by PID that waits for the exit, and a wait for an elected leader. The dev
 * agent and the test cluster of several agents are both built on it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { errorMessage } from '../errors.ts';

const TAIL_LINES = 30;
/** How long a SIGTERM may take before the agent is killed. */
const GRACE_MS = 5_000;

export interface AgentProcess {
  /** Undefined when spawn itself failed. */
  readonly pid: number | undefined;
  hasExited(): boolean;
  /** The agent's last lines of output. */
  tail(): string;
  /** Whether it failed to bind a port: another process took a free port between finding and binding it. */
  portInUse(): boolean;
  /**
   * Sends `signal` (SIGTERM: a clean shutdown, killed after 5 s; SIGKILL: a crash)
   * and waits for the exit. Idempotent: a second call waits for the first.
   */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
}

/** Spawns `binary args`, appending its output to logFile when given; killed if this process exits first. */
export function spawnAgent(binary: string, args: readonly string[], logFile?: string): AgentProcess {
  const log = logFile ? createWriteStream(logFile, { flags: 'a' }) : undefined;
  const tail: string[] = [];
  // Its own process group: Ctrl-C in a terminal signals the whole foreground group, and the agent
  // must outlive the watch that reads it until `ipx dev` stops it, last.
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  collect(child, tail, log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('error', () => undefined); // reported through hasExited() and the tail
  const hasExited = (): boolean => child.exitCode !== null || child.signalCode !== null;

  let stopping: Promise<void> | undefined;
  return {
    pid: child.pid,
    hasExited,
    tail: () => tail.join('\n'),
    portInUse: () => tail.some((line) => /address already in use/i.test(line)),
    stop: (signal = 'SIGTERM') => {
      stopping ??= (async () => {
        process.removeListener('exit', killOnExit);
        // No pid: spawn itself failed and there is nothing to kill or wait for.
        if (child.pid !== undefined && !hasExited()) {
          child.kill(signal);
          const timer = setTimeout(() => child.kill('SIGKILL'), GRACE_MS);
          await exited;
          clearTimeout(timer);
        }
        log?.end();
      })();
      return stopping;
    },
  };
}

/** Polls GET /v1/status/leader until it names a leader (other than `not`); resolves with its server RPC address. */
export async function waitForLeader(
  address: string,
  options: { readonly timeoutMs: number; readonly hasExited?: () => boolean; readonly not?: string },
): Promise<string> {
  const deadline = Date.now() + options.timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (options.hasExited?.()) throw new Error('the agent exited');
    try {
      const res = await fetch(`${address}/v1/status/leader`, { signal: AbortSignal.timeout(1_000) });
      const leader: unknown = await res.json();
      if (typeof leader === 'string' && leader !== '' && leader !== options.not) return leader;
      last = leader === options.not ? `the leader is still ${leader}` : 'no leader elected yet';
    } catch (err) {
      last = errorMessage(err);
    }
    await delay(50);
  }
  throw new Error(`no leader after ${options.timeoutMs} ms: ${last}`);
}

function collect(child: ChildProcess, tail: string[], log: WriteStream | undefined): void {
  const onChunk = (chunk: Buffer): void => {
    log?.write(chunk);
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
    }
  };
  child.stdout?.on('data', onChunk);
  child.stderr?.on('data', onChunk);
}

import { getPriority, setPriority } from 'node:os';
import { execa } from 'execa';

export interface ExecResult {
  /** Undefined when the command could not be started or was killed. */
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
  /** Why it did not run to completion (not found, timed out), if it did not. */
  readonly failure?: string;
}

export interface ExecOptions {
  readonly cwd?: string;
  readonly timeoutMs?: number;
  /**
   * A niceness for the command (higher yields the CPU sooner), for work nobody waits on: the
   * check of the files a runtime change leaves behind takes a second of CPU at 5,000 services.
   */
  readonly niceness?: number;
}

/** Runs a command to completion; never throws for a non-zero exit. Injected so tests can swap it. */
export type ExecFn = (file: string, args: readonly string[], options?: ExecOptions) => Promise<ExecResult>;

export const execCommand: ExecFn = async (file, args, options = {}) => {
  const child = execa(file, [...args], {
    cwd: options.cwd,
    timeout: options.timeoutMs,
    reject: false,
    stdin: 'ignore',
    // haproxy -c output is short; a ceiling keeps a runaway one from filling memory.
    maxBuffer: 10_000_000,
  });
  if (options.niceness !== undefined && child.pid !== undefined) {
    try {
      // Never above ipx's own priority: a lower niceness than it has is not this command's to take.
      setPriority(child.pid, Math.max(options.niceness, getPriority()));
    } catch {
      // Gone already, or not allowed: it runs at the usual priority.
    }
  }
  const result = await child;
  const failure = result.failed && result.exitCode === undefined ? (result.timedOut ? 'timed out' : result.shortMessage) : undefined;
  return {
    exitCode: result.exitCode,
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
    ...(failure === undefined ? {} : { failure }),
  };
};

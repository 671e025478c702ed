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
}

/** Runs a command to completion; never throws for a non-zero exit. Injected so tests can swap it. */
export type ExecFn = (file: string, args: readonly string[], options?: ExecOptions) => Promise<ExecResult>;

export const execCommand: ExecFn = async (file, args, options = {}) => {
  const result = await execa(file, [...args], {
    cwd: options.cwd,
    timeout: options.timeoutMs,
    reject: false,
    stdin: 'ignore',
    // haproxy -c output is short; a ceiling keeps a runaway one from filling memory.
    maxBuffer: 10_000_000,
  });
  const failure = result.failed && result.exitCode === undefined ? (result.timedOut ? 'timed out' : result.shortMessage) : undefined;
  return {
    exitCode: result.exitCode,
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
    ...(failure === undefined ? {} : { failure }),
  };
};

/**
 * The real binary as users run it (`node scripts/ipx.mjs ...`, which `npx ipx` runs):
 * one-shot commands, and long-running ones (watch, dev) stopped by PID.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const IPX = path.join(ROOT, 'scripts', 'ipx.mjs');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** Consul's variables from the surrounding shell must not leak into a test. */
const CLEAN_ENV = { CONSUL_HTTP_ADDR: '', CONSUL_HTTP_TOKEN: '', IPX_LOG_FORMAT: '', IPX_LOG_LEVEL: '' };

export async function ipx(args: readonly string[], options: RunOptions): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [IPX, ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...CLEAN_ENV, ...options.env },
      timeout: options.timeoutMs ?? 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

export interface Spawned {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
  /** Resolves once `pattern` appears on stdout or stderr; rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Sends `signal` and waits for the exit; SIGKILL after `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>;
}

export function spawnIpx(args: readonly string[], options: RunOptions): Spawned {
  const child = spawn(process.execPath, [IPX, ...args], { cwd: options.cwd, env: { ...process.env, ...CLEAN_ENV, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitFor(pattern, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(out) && !pattern.test(err)) {
        if (child.exitCode !== null) throw new Error(`ipx ${args.join(' ')} exited ${child.exitCode} before printing ${pattern}:\n${out}\n${err}`);
        if (Date.now() > deadline) throw new Error(`ipx ${args.join(' ')} did not print ${pattern} within ${timeoutMs} ms:\n${out}\n${err}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop(signal = 'SIGTERM', graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

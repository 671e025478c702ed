import { spawn } from 'node:child_process';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { HaproxyRuntimeError } from '../../errors.ts';
import { failureReasons, logOffset, readLogSince } from '../logs/log-tail.ts';
import { createMasterCli, type MasterCli } from './master-cli.ts';
import type { ShowProc } from './show-proc.ts';

/** A master-worker HAProxy this process drives. */
export interface HaproxyProcess {
  /** The master's pid. */
  readonly pid: number;
  readonly cli: MasterCli;
  /** Where the master's stderr goes (only for a master ipx started). */
  readonly logFile: string | undefined;
  /** False for an HAProxy started elsewhere (haproxy.manage = false): stop() leaves it running. */
  readonly managed: boolean;
  alive(): boolean;
  /** Soft stop, then SIGTERM and SIGKILL after a timeout; waits for the exit. Idempotent. */
  stop(options?: StopOptions): Promise<void>;
}

export interface StopOptions {
  /** How long old connections may finish after SIGUSR1 before SIGTERM. */
  readonly softTimeoutMs?: number;
}

export interface StartHaproxyOptions {
  readonly binary: string;
  readonly runDir: string;
  /** Absolute path of the main config. */
  readonly configFile: string;
  readonly masterSocket: string;
  /** Group given access to the master socket (mode 0660); empty: owner only. */
  readonly socketGroup?: string;
  readonly pidFile: string;
  readonly logFile: string;
  /** How long the master may take to answer with a worker. */
  readonly startTimeoutMs?: number;
}

const POLL_MS = 50;
const MAX_LOG_BYTES = 10 * 1024 * 1024;

/**
 * Spawns `haproxy -W -S <sock>,mode,600 -f <cfg> -p <pidfile>` in its own
 * process group (detached, no -D: the pid we get is the master's) and waits
 * until the master CLI reports a worker.
 */
export async function startHaproxy(options: StartHaproxyOptions): Promise<HaproxyProcess> {
  const { binary, configFile, masterSocket, pidFile, logFile } = options;
  await mkdir(options.runDir, { recursive: true });
  await rotateLog(logFile);
  const offset = await logOffset(logFile);
  const log = await open(logFile, 'a', 0o644);
  let exit: { code: number | null; signal: string | null } | undefined;
  let spawnError: Error | undefined;
  const access = options.socketGroup ? `mode,660,group,${options.socketGroup}` : 'mode,600';
  const args = ['-W', '-S', `${masterSocket},${access}`, '-f', configFile, '-p', pidFile];
  const child = spawn(binary, args, { cwd: options.runDir, detached: true, stdio: ['ignore', log.fd, log.fd] });
  await log.close();
  child.once('error', (err) => (spawnError = err));
  child.once('exit', (code, signal) => (exit = { code, signal }));
  // The master outlives ipx (it is stopped by pid), so it must not hold the event loop open.
  child.unref();

  const cli = createMasterCli({ socketPath: masterSocket, exchangeTimeoutMs: 2000 });
  const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
  for (;;) {
    await sleep(POLL_MS);
    if (spawnError) {
      throw new HaproxyRuntimeError(`haproxy: could not run '${binary}' (${spawnError.message}); install HAProxy 2.6 or newer, or set haproxy.binary to its path`, {
        cause: spawnError,
      });
    }
    if (exit || child.pid === undefined) {
      const reasons = failureReasons(await readLogSince(logFile, offset));
      throw new HaproxyRuntimeError(
        `haproxy: failed to start (exit ${exit?.code ?? exit?.signal ?? 'unknown'})${reasons ? `: ${reasons}` : ''}; see ${logFile}`,
      );
    }
    const proc = await cli.showProc().catch(() => undefined);
    if (proc && proc.master.pid === child.pid && proc.workers.length > 0) {
      return processHandle({ pid: child.pid, cli, logFile, managed: true, ownGroup: true, pidFile, hasExited: () => exit !== undefined });
    }
    if (Date.now() > deadline) {
      signal(-child.pid, 'SIGKILL');
      throw new HaproxyRuntimeError(
        `haproxy: started (pid ${child.pid}) but its master CLI ${masterSocket} reported no worker within ${options.startTimeoutMs ?? 10_000} ms; killed it. See ${logFile}; raise haproxy.reloadTimeout on a slow host`,
      );
    }
  }
}

export interface AdoptHaproxyOptions {
  readonly masterSocket: string;
  readonly pidFile: string;
  readonly logFile: string;
}

/**
 * A master left running by an earlier ipx (pid file and a live socket whose
 * master has that pid): take it over instead of starting a second one that
 * would fight it for the ports. Undefined when there is none.
 */
export async function adoptHaproxy(options: AdoptHaproxyOptions): Promise<HaproxyProcess | undefined> {
  const pid = Number((await readFile(options.pidFile, 'utf8').catch(() => '')).trim().split(/\s+/)[0]);
  if (!Number.isInteger(pid) || pid <= 1 || !isAlive(pid)) return undefined;
  const cli = createMasterCli({ socketPath: options.masterSocket, exchangeTimeoutMs: 2000 });
  const proc: ShowProc | undefined = await cli.showProc({ waitMs: 1000 }).catch(() => undefined);
  if (proc?.master.pid !== pid) return undefined;
  return processHandle({ pid, cli, logFile: options.logFile, managed: true, ownGroup: false, pidFile: options.pidFile });
}

/** An HAProxy started elsewhere (haproxy.manage = false): reload it through its master socket, never stop it. */
export async function attachHaproxy(masterSocket: string, waitMs: number): Promise<HaproxyProcess> {
  const cli = createMasterCli({ socketPath: masterSocket, exchangeTimeoutMs: 2000 });
  try {
    const proc = await cli.showProc({ waitMs });
    return processHandle({ pid: proc.master.pid, cli, logFile: undefined, managed: false, ownGroup: false, pidFile: undefined });
  } catch (err) {
    throw new HaproxyRuntimeError(
      `haproxy: haproxy.manage is false but no HAProxy master answers on ${masterSocket}; start it with 'haproxy -W -S ${masterSocket} -f <runDir>/haproxy.cfg' or set haproxy.manage to true`,
      { cause: err },
    );
  }
}

interface HandleOptions {
  readonly pid: number;
  readonly cli: MasterCli;
  readonly logFile: string | undefined;
  readonly managed: boolean;
  /** The master leads its own process group (we spawned it detached), so the group can be signalled. */
  readonly ownGroup: boolean;
  readonly pidFile: string | undefined;
  readonly hasExited?: () => boolean;
}

function processHandle(options: HandleOptions): HaproxyProcess {
  const { pid, managed, ownGroup } = options;
  const alive = () => !options.hasExited?.() && isAlive(pid);
  let stopping: Promise<void> | undefined;

  async function stopNow(softTimeoutMs: number): Promise<void> {
    if (!managed || !alive()) return;
    // SIGUSR1: the master asks workers to finish their connections, then exits.
    signal(pid, 'SIGUSR1');
    if (!(await waitForExit(alive, softTimeoutMs))) {
      signal(ownGroup ? -pid : pid, 'SIGTERM');
      if (!(await waitForExit(alive, 2000))) {
        signal(ownGroup ? -pid : pid, 'SIGKILL');
        await waitForExit(alive, 2000);
      }
    }
    // Workers can outlive a killed master; they are in its group.
    if (ownGroup) signal(-pid, 'SIGKILL');
    if (alive()) throw new HaproxyRuntimeError(`haproxy: master pid ${pid} did not exit after SIGKILL; check it with 'ps -p ${pid}'`);
    if (options.pidFile) {
      const recorded = await readFile(options.pidFile, 'utf8').catch(() => '');
      if (recorded.trim() === String(pid)) await unlink(options.pidFile).catch(() => undefined);
    }
  }

  return {
    pid,
    cli: options.cli,
    logFile: options.logFile,
    managed,
    alive,
    stop: (stopOptions = {}) => (stopping ??= stopNow(stopOptions.softTimeoutMs ?? 10_000)),
  };
}

async function waitForExit(alive: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (alive()) {
    if (Date.now() > deadline) return false;
    await sleep(POLL_MS);
  }
  return true;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Signals a pid (or a group, negative); a process already gone is not an error. */
function signal(target: number, name: NodeJS.Signals): void {
  try {
    process.kill(target, name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** HAProxy appends to its log for as long as it runs; keep one older file at start. */
async function rotateLog(logFile: string): Promise<void> {
  if ((await logOffset(logFile)) > MAX_LOG_BYTES) await rename(logFile, `${logFile}.1`);
}

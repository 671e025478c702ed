import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import { errorMessage, HaproxyRuntimeError } from '../errors.ts';
import { applyRender, type ApplyResult, type LiveConfig } from './apply.ts';
import { bindAddressesOf, bindTargets } from './bind-addresses.ts';
import { checkBindable } from './check-bindable.ts';
import { readLastGood } from './last-good.ts';
import { adoptHaproxy, attachHaproxy, startHaproxy, type HaproxyProcess } from './process.ts';
import { extraFileNames, runDirLayout } from './run-dir.ts';
import { readIfExists, removeStagingLeftovers } from './stage-files.ts';
import type { ExecFn } from './exec.ts';
import type { ShowProc } from './show-proc.ts';
import { MAIN_CONFIG, type RenderedConfig } from './types.ts';

/** Longest a shutdown waits for in-flight requests before SIGTERM. */
const STOP_GRACE_MS = 10_000;

export interface HaproxyManagerOptions {
  readonly config: Config['haproxy'];
  /** The listen addresses by key (`{ http: '127.0.0.1:8080' }`), so a port in use is reported as `listen.http`. */
  readonly listen?: Readonly<Record<string, string>>;
  readonly logger: Logger;
  readonly exec?: ExecFn;
}

/** A synchronous snapshot for /status; `refresh()` asks the master first. */
export interface HaproxyStatus {
  readonly managed: boolean;
  readonly running: boolean;
  readonly pid?: number;
  readonly masterSocket: string;
  readonly workers: number[];
  readonly oldWorkers: number[];
  readonly reloads?: number;
  readonly failedReloads?: number;
  readonly liveHash?: string;
  readonly lastApply?: {
    readonly at: string;
    readonly ok: boolean;
    readonly action?: ApplyResult['action'];
    readonly hash: string;
    readonly durationMs: number;
    readonly error?: string;
  };
}

export interface HaproxyManager {
  /** Starts HAProxy (or adopts the one an earlier ipx left running) and applies `rendered`. */
  start(rendered: RenderedConfig): Promise<ApplyResult>;
  /** Applies `rendered`: noop when its hash is live, else check, swap, reload (starting HAProxy if needed). */
  apply(rendered: RenderedConfig): Promise<ApplyResult>;
  /** Waits for the apply in flight, then stops a managed HAProxy. Idempotent. */
  stop(): Promise<void>;
  status(): HaproxyStatus;
  refresh(): Promise<HaproxyStatus>;
  /** The last configuration a reload confirmed, for a cold start while Consul is unreachable. */
  lastGood(): Promise<RenderedConfig | undefined>;
}

/**
 * The HAProxy stage's front door. Operations run one at a time (a second
 * call waits for the first): reloads sent back to back are lost by the master.
 */
export function createHaproxyManager(options: HaproxyManagerOptions): HaproxyManager {
  const { config, logger } = options;
  const layout = runDirLayout(config.runDir, config.masterSocket);
  let haproxy: HaproxyProcess | undefined;
  let live: LiveConfig | undefined;
  let attached = false;
  let stopped = false;
  let proc: ShowProc | undefined;
  let lastApply: HaproxyStatus['lastApply'];
  let queue: Promise<unknown> = Promise.resolve();

  const serially = <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(task);
    queue = run.catch(() => undefined);
    return run;
  };

  /** Once: find the HAProxy to drive (attach, adopt), and clear what a crash left in runDir. */
  async function attach(): Promise<void> {
    if (attached) return;
    if (!config.manage) {
      haproxy = await attachHaproxy(layout.masterSocket, config.reloadTimeout);
    } else {
      haproxy = await adoptHaproxy(layout);
      if (haproxy) logger.info({ masterPid: haproxy.pid }, 'haproxy: adopted the master an earlier ipx left running');
    }
    await removeStagingLeftovers(layout);
    if (haproxy) live = await liveFromDisk();
    attached = true;
  }

  /** The live hash is known only when haproxy.cfg on disk is the last-good copy. */
  async function liveFromDisk(): Promise<LiveConfig | undefined> {
    const good = await readLastGood(layout);
    if (!good || (await readIfExists(layout.config)) !== good.rendered.files[MAIN_CONFIG]) return undefined;
    return { hash: good.rendered.hash, extraNames: extraFileNames(good.rendered) };
  }

  async function startProcess(): Promise<HaproxyProcess> {
    if (!config.manage) throw new HaproxyRuntimeError(`haproxy: the master on ${layout.masterSocket} is gone and haproxy.manage is false; restart it where it is managed`);
    const text = (await readIfExists(layout.config)) ?? '';
    await checkBindable(bindTargets(bindAddressesOf(text), options.listen));
    return startHaproxy({
      binary: config.binary,
      runDir: layout.dir,
      configFile: layout.config,
      masterSocket: layout.masterSocket,
      pidFile: layout.pidFile,
      logFile: layout.logFile,
      startTimeoutMs: config.reloadTimeout,
    });
  }

  async function applyNow(rendered: RenderedConfig): Promise<ApplyResult> {
    if (stopped) throw new HaproxyRuntimeError('haproxy: the manager was stopped; create a new one to apply again');
    const started = performance.now();
    try {
      await attach();
      const outcome = await applyRender(rendered, {
        layout,
        binary: config.binary,
        reloadTimeoutMs: config.reloadTimeout,
        logger,
        exec: options.exec,
        running: haproxy,
        start: startProcess,
        live,
      });
      haproxy = outcome.process;
      live = outcome.live;
      if (outcome.proc) proc = outcome.proc;
      const { action, hash, durationMs, checkWarnings, reloadMs } = outcome;
      if (action !== 'noop') {
        lastApply = { at: new Date().toISOString(), ok: true, action, hash, durationMs };
        if (action === 'start') proc = await haproxy.cli.showProc().catch(() => proc);
        logger.info({ action, hash: hash.slice(0, 12), durationMs, reloadMs, masterPid: haproxy.pid }, `haproxy: ${action} done`);
      }
      return { action, hash, durationMs, checkWarnings, ...(reloadMs === undefined ? {} : { reloadMs }) };
    } catch (err) {
      lastApply = { at: new Date().toISOString(), ok: false, hash: rendered.hash, durationMs: Math.round(performance.now() - started), error: errorMessage(err) };
      throw err;
    }
  }

  function status(): HaproxyStatus {
    const running = haproxy?.alive() ?? false;
    return {
      managed: config.manage,
      running,
      ...(haproxy ? { pid: haproxy.pid } : {}),
      masterSocket: layout.masterSocket,
      workers: running ? (proc?.workers.map((worker) => worker.pid) ?? []) : [],
      oldWorkers: running ? (proc?.oldWorkers.map((worker) => worker.pid) ?? []) : [],
      ...(proc ? { reloads: proc.master.reloads, failedReloads: proc.master.failed } : {}),
      ...(live ? { liveHash: live.hash } : {}),
      ...(lastApply ? { lastApply } : {}),
    };
  }

  return {
    start: (rendered) => serially(() => applyNow(rendered)),
    apply: (rendered) => serially(() => applyNow(rendered)),
    stop: () =>
      serially(async () => {
        if (stopped) return;
        stopped = true;
        // With idle-close-on-response a soft-stopped worker keeps idle keep-alive connections
        // open until hard-stop-after (30 s by default), so a shutdown would wait that long for
        // any pooled client; in-flight requests get up to STOP_GRACE_MS, then SIGTERM.
        await haproxy?.stop({ softTimeoutMs: Math.min(config.hardStopAfter, STOP_GRACE_MS) });
      }),
    status,
    refresh: () =>
      serially(async () => {
        if (haproxy?.alive()) proc = await haproxy.cli.showProc({ waitMs: config.reloadTimeout });
        return status();
      }),
    lastGood: async () => (await readLastGood(layout))?.rendered,
  };
}

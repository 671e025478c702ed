import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage, HaproxyCheckError, HaproxyRuntimeError } from '../errors.ts';
import { createAdminCli } from './runtime/admin-cli.ts';
import { applyRender, type ApplyResult, type LiveConfig } from './apply.ts';
import { applyRuntime, persistRuntime } from './runtime/apply-runtime.ts';
import { latestOnly } from './files/latest-only.ts';
import { replaceMap } from './runtime/replace-map.ts';
import { createDrainer } from './runtime/drainer.ts';
import { createLastGoodStore } from './files/last-good.ts';
import { adoptedAgrees } from './runtime/adopted-agrees.ts';
import { countOps, planApply, planForLive, type ApplyPlan, type RuntimeOp } from './plan/plan-apply.ts';
import { adoptHaproxy, attachHaproxy, type HaproxyProcess } from './process/process.ts';
import { checkNewBinds, startManaged } from './process/start-managed.ts';
import { extraFileNames, runDirLayout } from './files/run-dir.ts';
import { readIfExists, removeStagingLeftovers } from './files/stage-files.ts';
import { writeServerState } from './files/write-server-state.ts';
import type { ShowProc } from './process/show-proc.ts';
import { MAIN_CONFIG, type RenderedConfig } from './types.ts';
import { composeStatus, type HaproxyStatus } from './manager-status.ts';

export type { HaproxyStatus } from './manager-status.ts';
export type { ApplyInput, HaproxyManager, HaproxyManagerOptions } from './manager-types.ts';
import type { ApplyInput, HaproxyManager, HaproxyManagerOptions } from './manager-types.ts';
import type { Model } from '../model/types.ts';

/** Longest a shutdown waits for in-flight requests before SIGTERM. */
const STOP_GRACE_MS = 10_000;

/**
 * The HAProxy stage's front door. Operations run one at a time (a second
 * call waits for the first): reloads sent back to back are lost by the master.
 *
 * Instance changes go through the runtime API with dynamic servers (`add
 * server` / `del server`) rather than pre-allocated slots
 * (`server-template`). Measured on 2.6.12, 2 cores: both take about 0.1 ms
 * per operation and served 0 errors across 150-220 add/remove cycles under
 * load; but 16 spare slots per backend at 2,000 backends tripled worker
 * memory (82 → 256 MB) and reload time (180-250 → 600-660 ms), a backend
 * outgrowing its slots still needs a reload, and slot names would make the
 * config a function of history instead of the model. Dynamic servers keep
 * instance-derived names and the on-disk config the pure render of the
 * model; neither survives a reload by itself, which rewriting the config
 * after every runtime apply takes care of.
 */
export function createHaproxyManager(options: HaproxyManagerOptions): HaproxyManager {
  const { config, logger } = options;
  const layout = runDirLayout(config.runDir, config.masterSocket);
  const lastGood = createLastGoodStore(layout);
  let haproxy: HaproxyProcess | undefined;
  let live: LiveConfig | undefined;
  // The `renderer` of the apply that made `live`; undefined when not known.
  let liveRenderer: object | undefined;
  let attached = false;
  let stopped = false;
  let proc: ShowProc | undefined;
  let lastApply: HaproxyStatus['lastApply'];
  let lastReloadAt: number | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  // Writes the files of runtime applies behind them (persistOne), the latest only, resting as long as each took.
  const persist = latestOnly(persistOne, (ms) => ms);
  const backgroundListeners: Array<(error: unknown) => void> = [];

  const serially = <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(task);
    queue = run.catch(() => undefined);
    return run;
  };
  const admin = createAdminCli({ socketPath: layout.adminSocket });
  const drainer = createDrainer({ admin, timeoutMs: config.drainTimeout, exclusive: serially, logger });

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
    const good = await lastGood.read();
    if (!good || (await readIfExists(layout.config)) !== good.rendered.files[MAIN_CONFIG]) return undefined;
    return { hash: good.rendered.hash, extraNames: extraFileNames(good.rendered) };
  }

  async function applyNow(input: ApplyInput): Promise<ApplyResult> {
    if (stopped) throw new HaproxyRuntimeError('haproxy: the manager was stopped; create a new one to apply again');
    const { model, renderer } = input;
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    let files: RenderedConfig | undefined;
    const rendered = (): RenderedConfig => (files ??= typeof input.rendered === 'function' ? input.rendered() : input.rendered);
    try {
      await attach();
      const running = haproxy?.alive() ? haproxy : undefined;
      let plan: ApplyPlan;
      let force = false;
      if (running && live?.model && model && renderer !== undefined && renderer === liveRenderer) {
        // Same templates and settings: the models alone tell what changed, before any render.
        plan = planApply(live.model, model);
        if (plan.kind === 'noop') {
          live = { ...live, model };
          return { action: 'noop', hash: live.hash, durationMs: elapsed(), checkWarnings: [] };
        }
      } else if (running && live?.hash === rendered().hash) {
        // An adopted HAProxy has the right files; its servers must also agree before runtime changes build on them.
        const agrees = live.model !== undefined || !model || (await adoptedAgrees(admin, model, drainer.draining(), logger));
        if (agrees) {
          if (model) live = { ...live, model };
          // These files are the live ones: whatever rendered them renders the live config.
          liveRenderer = renderer;
          return { action: 'noop', hash: live.hash, durationMs: elapsed(), checkWarnings: [] };
        }
        plan = { kind: 'reload', reasons: ['the live servers disagree with the model of the live configuration'] };
        // The files are live already; only a reload brings the servers back to them.
        force = true;
      } else {
        plan = planForLive({ running: running !== undefined, applied: live?.model, next: model });
      }
      if (plan.kind === 'runtime' && model) {
        const result = await runtimeApply(rendered, model, renderer, plan.ops, elapsed);
        if ('action' in result) return done(result);
        plan = { kind: 'reload', reasons: result.reasons };
      }
      const reasons = plan.kind === 'reload' ? plan.reasons : [];
      await persist.flush();
      if (running) await checkNewBinds(layout, options.listen, rendered());
      const outcome = await reloadApply(rendered(), model, running, force);
      liveRenderer = renderer;
      return done({ ...outcome, durationMs: elapsed(), reasons });
    } catch (err) {
      lastApply = { at: new Date().toISOString(), ok: false, hash: files?.hash ?? '', durationMs: elapsed(), error: errorMessage(err) };
      throw err;
    }
  }

  function done(result: ApplyResult): ApplyResult {
    const { action, hash, durationMs, reloadMs, runtimeOps, phasesMs, reasons } = result;
    lastApply = { at: new Date().toISOString(), ok: true, action, hash, durationMs };
    // The daemon logs each apply once, with what changed; this line is the HAProxy stage's detail.
    logger.debug({ action, hash: hash.slice(0, 12), durationMs, reloadMs, runtimeOps, phasesMs, reasons, masterPid: haproxy?.pid }, `haproxy: ${action} done`);
    return result;
  }

  /**
   * Only servers (or runtime policy values) changed: runtime API, read back, done; the same
   * files are checked and swapped in afterwards (persistOne). Reasons to reload instead on failure.
   */
  async function runtimeApply(
    render: () => RenderedConfig,
    model: Model,
    renderer: object | undefined,
    ops: readonly RuntimeOp[],
    elapsed: () => number,
  ): Promise<ApplyResult | { reasons: string[] }> {
    try {
      const { phasesMs } = await applyRuntime({ model, ops }, { admin, drainer });
      const ready = elapsed();
      const rendered = render();
      live = { hash: rendered.hash, extraNames: extraFileNames(rendered), model };
      liveRenderer = renderer;
      persist.push({ rendered, model });
      // durationMs is until the ops were read back: what a caller waited for.
      return { action: 'runtime', hash: rendered.hash, durationMs: ready, checkWarnings: [], runtimeOps: countOps(ops), phasesMs };
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'haproxy: runtime apply failed; reloading to make the live state match the config');
      return { reasons: [`runtime apply failed: ${errorMessage(err)}`] };
    }
  }

  /**
   * Checks and swaps in the files of a runtime apply after it returned. What a
   * reload or a restart would bring back lags what runs by that long; a reload
   * first finishes this (persist.flush).
   */
  async function persistOne({ rendered, model }: { readonly rendered: RenderedConfig; readonly model: Model }): Promise<void> {
    try {
      const outcome = await persistRuntime(rendered, model, { layout, binary: config.binary, logger, exec: options.exec, live, lastGood });
      logger.debug({ hash: rendered.hash.slice(0, 12), phasesMs: outcome.phasesMs }, 'haproxy: runtime changes written to the config');
    } catch (err) {
      persist.drop();
      lastApply = { at: new Date().toISOString(), ok: false, hash: rendered.hash, durationMs: 0, error: errorMessage(err) };
      logger.error({ err: errorMessage(err), hash: rendered.hash.slice(0, 12) }, 'haproxy: the files of a runtime change failed their check; reloading the last good configuration');
      // A config haproxy -c refuses would be refused by a reload too. The ops already ran, so
      // reload the files on disk (the last good ones) to bring the live servers back to them.
      // Queued, not awaited: a reload waiting for this may hold the queue.
      const failedHash = rendered.hash;
      void serially(async () => {
        if (live?.hash === failedHash) await restoreLive();
      }).catch((restoreErr: unknown) => logger.error({ err: errorMessage(restoreErr) }, 'haproxy: could not reload the last good configuration'));
      for (const listener of backgroundListeners) listener(err);
    }
  }

  /** Reloads the last-known-good files so the running servers match them again. */
  async function restoreLive(): Promise<void> {
    const good = await lastGood.read();
    const running = haproxy?.alive() ? haproxy : undefined;
    // The model of the last good files is not kept: the next apply reloads rather than plans against a guess.
    live = undefined;
    liveRenderer = undefined;
    if (!good || !running) return;
    logger.warn({ hash: good.rendered.hash.slice(0, 12) }, 'haproxy: reloading the last good configuration to undo runtime changes its file does not have');
    await reloadApply(good.rendered, undefined, running, true);
  }

  /** A reload (or a first start): waits for the reload floor, carries the server state that agrees with `model`. */
  async function reloadApply(rendered: RenderedConfig, model: Model | undefined, running: HaproxyProcess | undefined, force = false) {
    if (running && lastReloadAt !== undefined) {
      const wait = lastReloadAt + config.reloadFloor - performance.now();
      if (wait > 0) await sleep(wait);
    }
    await writeServerState(layout.serverStateFile, { admin: running ? admin : undefined, next: model, logger });
    const outcome = await applyRender(rendered, {
      layout,
      lastGood,
      binary: config.binary,
      reloadTimeoutMs: config.reloadTimeout,
      logger,
      exec: options.exec,
      running,
      start: () => startManaged(config, layout, options.listen),
      live,
      force,
    }).catch((err: unknown) => {
      // A refused check reloaded nothing; a failed reload (and its rollback) did.
      if (!(err instanceof HaproxyCheckError)) lastReloadAt = performance.now();
      throw err;
    });
    lastReloadAt = performance.now();
    // The new worker has none of the servers that were draining; the old one finishes their requests.
    drainer.forget();
    haproxy = outcome.process;
    live = { ...outcome.live, ...(model ? { model } : {}) };
    proc = outcome.proc ?? (await haproxy.cli.showProc().catch(() => proc));
    const { action, hash, checkWarnings, reloadMs, phasesMs } = outcome;
    return { action, hash, checkWarnings, ...(reloadMs === undefined ? {} : { reloadMs }), ...(phasesMs ? { phasesMs } : {}) };
  }

  function status(): HaproxyStatus {
    return composeStatus({ managed: config.manage, masterSocket: layout.masterSocket, haproxy, proc, live, draining: drainer.draining(), lastApply });
  }

  const apply = (input: ApplyInput): Promise<ApplyResult> => serially(() => applyNow(input));
  return {
    // A start is an apply: applyNow attaches, adopts or starts HAProxy as needed.
    start: apply,
    apply,
    stop: () =>
      serially(async () => {
        if (stopped) return;
        stopped = true;
        // An HAProxy left running (not managed) must find on disk what it runs.
        await persist.flush();
        drainer.forget();
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
    lastGood: async () => (await lastGood.read())?.rendered,
    // Not serialized behind applies: a read-only look must not wait for a reload.
    liveServers: async () => (haproxy?.alive() ? (await admin.serversState().catch(() => undefined))?.state.servers : undefined),
    onBackgroundFailure: (listener) => {
      backgroundListeners.push(listener);
    },
    clearMap: (map) =>
      serially(async () => {
        if (haproxy?.alive()) await replaceMap(admin, map, []);
      }),
    settled: async () => {
      await persist.flush();
      // An undo of a failed check is queued behind the applies.
      await serially(async () => {});
    },
  };
}

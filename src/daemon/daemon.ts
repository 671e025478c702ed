import { createConsulClient, createWatcher, EMPTY_SNAPSHOT, type ConsulWatcher } from '../consul/index.ts';
import { withComposites } from '../composites/index.ts';
import { loadRenderKit, type RenderKit } from '../runner/assets.ts';
import { renderSnapshot } from '../runner/pipeline.ts';
import { ConfigError, errorMessage } from '../errors.ts';
import { countConsulConnections } from './consul-connections.ts';
import { startFirstSyncProgress } from './first-sync-progress.ts';
import { restartOnlyChanges } from './restart-only.ts';
import { backendStatus } from './status-document.ts';
import type { RenderResult } from '../render/index.ts';
import { startAdminServer, type AdminServer, type Readiness } from './admin-server.ts';
import { ApplyLoop, type Applier, type ApplyInput } from './apply-loop.ts';
import { createMetrics } from './metrics.ts';
import { readiness } from './readiness.ts';
import { startAccessLog } from '../haproxy/logs/access-log.ts';
import { JWT_VERIFIED_MAP } from '../render/caller-maps.ts';
import type { Writable } from 'node:stream';
import type { Config } from '../config/index.ts';
import type { Logger } from '../log.ts';

export type { Applier } from './apply-loop.ts';

/** A verified JWT skips its signature check for at most this long (then it is verified again). */
export const JWT_SWEEP_MS = 60_000;

export interface DaemonOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly applier: Applier;
  readonly kit?: RenderKit;
  /** How often a managed HAProxy is checked for life (ms). */
  readonly watchdogIntervalMs?: number;
  /** How often the verified-JWT map is emptied (ms; default JWT_SWEEP_MS). */
  readonly jwtSweepMs?: number;
  /** Where to show the first sync's progress (a terminal, when logs are for people); none: no progress. */
  readonly progress?: NodeJS.WritableStream;
  /** `haproxy -c` on a trial render of new settings before reconfigure() takes them; none: no check. */
  readonly checkRendered?: (rendered: RenderResult, config: Config) => Promise<unknown>;
  /** Where access-log lines go when log.access is stdout (default: process.stdout). */
  readonly accessLogOut?: Writable;
}

export interface Daemon {
  /** Where /healthz, /readyz, /metrics and /status answer. */
  readonly adminAddress: string;
  readiness(): Readiness;
  /** Resolves when the runner has applied everything submitted so far, and its files are written. */
  idle(): Promise<void>;
  /**
   * New settings and templates: checked (restart-only keys unchanged, a trial
   * render of the latest Consul state, `haproxy -c`), then applied like any
   * change. Throws ConfigError or RenderError and keeps what runs when they fail.
   */
  reconfigure(config: Config, kit: RenderKit): Promise<void>;
  /** Stops watching, waits for the run in flight, stops HAProxy when managed. Idempotent. */
  stop(): Promise<void>;
}

/**
 * The watch loop: Consul watcher → apply loop (debounce, single flight,
 * mass-drop guard) → HAProxy; a cold start from the last-known-good
 * configuration; a watchdog that starts a managed HAProxy again if it dies;
 * and ipx's own health and metrics endpoints.
 */
export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const { logger } = options;
  let config = options.config;
  const applier = withComposites(options.applier, () => config, logger);
  const kit = options.kit ?? (await loadRenderKit(undefined, config.templates.dir));
  const accessLog = config.log.access === 'stdout' ? await startAccessLog({ address: config.listen.accessLog, out: options.accessLogOut ?? process.stdout, logger }) : undefined;
  const metrics = createMetrics();
  const loop = new ApplyLoop({ config, logger, applier, kit, metrics });
  applier.onBackgroundFailure?.((error) => loop.undone(error));

  // Serve what last worked before Consul has answered (or while it cannot). Set only once it applied.
  let coldStart: ApplyInput | undefined;
  const lastGood = await applier.lastGood();
  if (lastGood) {
    const input: ApplyInput = { rendered: lastGood };
    await applier.apply(input).then(
      (result) => {
        coldStart = input;
        logger.info({ action: result.action, hash: lastGood.hash.slice(0, 12) }, 'serving the last-known-good configuration until Consul is read');
      },
      (err: unknown) => logger.warn({ err: errorMessage(err) }, 'could not start from the last-known-good configuration; waiting for Consul'),
    );
  }

  const consul = createConsulClient(config.consul);
  const watcher: ConsulWatcher = createWatcher({
    client: consul,
    config: config.consul,
    limits: config.limits,
    intentions: config.access.consulIntentions,
    logger,
    onSnapshot: (snapshot) => {
      progress?.done();
      metrics.snapshots.inc();
      loop.submit(snapshot);
    },
    // The watcher logs the first failure of a streak at warn; every retry only counts here.
    onError: (error, info) => {
      metrics.consulErrors.inc();
      logger.debug({ err: error.message, ...info }, 'consul read failed; serving the last good configuration and retrying');
    },
  });

  const currentReadiness = (): Readiness => {
    const consulState = watcher.state();
    metrics.consulReady.set(consulState.ready ? 1 : 0);
    metrics.consulStale.set(consulState.stale ? 1 : 0);
    return readiness(consulState, loop.state(), applier.status().running);
  };

  const admin: AdminServer = await startAdminServer({
    listen: config.listen.admin,
    registry: metrics.registry,
    readiness: currentReadiness,
    confirmGuard: () => {
      const held = loop.confirm();
      if (held) logger.warn('guard: an operator confirmed the held change');
      return held;
    },
    status: async (query) => {
      const { applied, lastFailure, guard } = loop.state();
      const live = await applier.liveServers?.();
      return {
        readiness: currentReadiness(),
        consul: { address: config.consul.address, ...watcher.state(), connections: await countConsulConnections(config.consul.address) },
        applied: applied && { hash: applied.rendered.hash, action: applied.action, at: applied.at, services: applied.model.services.length, rejections: applied.model.rejections },
        lastFailure,
        guard,
        haproxy: applier.status(),
        backends: backendStatus(applied?.model, live, query.get('service') ?? undefined),
      };
    },
    model: () => loop.state().applied?.model,
  });

  let stopping: Promise<void> | undefined;
  // A managed HAProxy that died (OOM kill, operator mistake) is started again with what was live.
  // Only after an apply succeeded: before that, HAProxy was never up (or the first start is in flight).
  let restarting = false;
  const watchdog = setInterval(() => {
    const status = applier.status();
    const input: ApplyInput | undefined = loop.state().applied ?? coldStart;
    if (stopping || restarting || !status.managed || status.running || !input) return;
    restarting = true;
    logger.error('haproxy: the managed master is gone; starting it again with the last applied configuration');
    metrics.haproxyRestarts.inc();
    applier
      .apply(input)
      .catch((err: unknown) => logger.error({ err: errorMessage(err) }, 'haproxy: restart failed; retrying'))
      .finally(() => (restarting = false));
  }, options.watchdogIntervalMs ?? 1000);
  watchdog.unref();

  // Verified JWTs are remembered by hash in a map HAProxy fills (render/caller-maps.ts); emptied
  // every JWT_SWEEP_MS so that it holds only the tokens of the last minute, however many come and go.
  const jwtSweep = setInterval(() => {
    const jwt = loop.state().applied?.model.caller.rules.jwt;
    if (!jwt || stopping || !applier.status().running) return;
    applier.clearMap?.(JWT_VERIFIED_MAP).catch((err: unknown) => logger.debug({ err: errorMessage(err) }, 'haproxy: could not empty the verified-JWT map; trying again at the next sweep'));
  }, options.jwtSweepMs ?? JWT_SWEEP_MS);
  jwtSweep.unref();

  const progress = options.progress ? startFirstSyncProgress({ state: () => watcher.state(), stream: options.progress }) : undefined;
  watcher.start();
  logger.info({ consul: config.consul.address, admin: admin.address, http: config.listen.http, stats: config.listen.stats }, 'ipx watching');

  return {
    adminAddress: admin.address,
    readiness: currentReadiness,
    idle: async () => {
      await loop.idle();
      await applier.settled?.();
    },
    reconfigure: async (next, nextKit) => {
      const fixed = restartOnlyChanges(config, next);
      if (fixed.length > 0) {
        throw new ConfigError(`config reload: ${fixed.join(', ')} changed, which only a restart of ipx watch applies; nothing was changed (restart it, or put the old value back)`);
      }
      const trial = renderSnapshot(loop.latestSnapshot() ?? EMPTY_SNAPSHOT, next, nextKit);
      await options.checkRendered?.(trial.rendered, next);
      config = next;
      logger.level = next.log.level;
      loop.reconfigure(next, nextKit);
    },
    stop: () =>
      (stopping ??= (async () => {
        clearInterval(watchdog);
        clearInterval(jwtSweep);
        progress?.cancel();
        await watcher.stop();
        consul.close();
        await loop.close();
        await applier.stop();
        await admin.close();
        await accessLog?.close();
        logger.info('ipx stopped');
      })()),
  };
}

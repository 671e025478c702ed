import { createConsulClient, createWatcher, type ConsulWatcher, type Snapshot } from '../consul/index.ts';
import { diffModel, type Model } from '../model/index.ts';
import { Runner } from '../runner/runner.ts';
import { renderSnapshot } from '../runner/pipeline.ts';
import { loadRenderKit, type RenderKit } from '../runner/assets.ts';
import { errorMessage } from '../errors.ts';
import { startAdminServer, type AdminServer, type Readiness } from './admin-server.ts';
import { createMetrics } from './metrics.ts';
import type { Config } from '../config/index.ts';
import type { Logger } from '../log.ts';
import type { RenderResult } from '../render/index.ts';

/** What the daemon needs of the HAProxy stage. */
export interface Applier {
  /** `model` lets instance changes go through the runtime API; `runtimeOps` counts them by kind. */
  apply(input: { model: Model; rendered: RenderResult }): Promise<{
    action: string;
    hash: string;
    runtimeOps?: Readonly<Partial<Record<string, number>>>;
  }>;
  stop(): Promise<void>;
  status(): unknown;
}

export interface DaemonOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly applier: Applier;
  readonly kit?: RenderKit;
}

interface RunResult {
  readonly model: Model;
  readonly action: string;
  readonly hash: string;
  readonly runtimeOps?: Readonly<Partial<Record<string, number>>>;
}

export interface Daemon {
  /** Where /healthz, /readyz, /metrics and /status answer. */
  readonly adminAddress: string;
  readiness(): Readiness;
  /** Resolves when the runner has applied everything submitted so far. */
  idle(): Promise<void>;
  /** Stops watching, waits for the run in flight, stops HAProxy when managed. Idempotent. */
  stop(): Promise<void>;
}

/**
 * The watch loop: Consul watcher → runner (debounce, single flight) →
 * render → apply; plus ipx's own health and metrics endpoints.
 */
export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const { config, logger, applier } = options;
  const kit = options.kit ?? (await loadRenderKit());
  const metrics = createMetrics();
  let applied: RunResult | undefined;
  let lastFailure: { message: string; at: string } | undefined;
  let rejectionKey = '';

  const runner = new Runner<Snapshot, RunResult>({
    window: config.watch,
    run: async (snapshot) => {
      const { model, rendered } = renderSnapshot(snapshot, config, kit);
      logRejections(model);
      const result = await applier.apply({ model, rendered });
      return { model, action: result.action, hash: result.hash, ...(result.runtimeOps ? { runtimeOps: result.runtimeOps } : {}) };
    },
    onEvent: (event) => {
      metrics.runDuration.observe(event.durationMs / 1000);
      if (event.type === 'run-ok') {
        const { model, action, hash, runtimeOps } = event.result;
        metrics.runs.inc({ result: 'ok' });
        metrics.applies.inc({ action });
        for (const [op, count] of Object.entries(runtimeOps ?? {})) if (count) metrics.runtimeOps.inc({ op }, count);
        metrics.services.set(model.services.length);
        metrics.servers.set(model.services.reduce((sum, s) => sum + s.servers.filter((server) => server.state === 'ready').length, 0));
        metrics.rejections.set(model.rejections.length);
        metrics.lastSuccess.setToCurrentTime();
        if (action !== 'noop') {
          const diff = applied ? diffModel(applied.model, model) : undefined;
          logger.info({ action, hash: hash.slice(0, 12), durationMs: event.durationMs, services: model.services.length, runtimeOps, diff }, `haproxy: ${action} applied`);
        }
        applied = event.result;
        lastFailure = undefined;
      } else {
        metrics.runs.inc({ result: 'failed' });
        lastFailure = { message: errorMessage(event.error), at: new Date().toISOString() };
        logger.error({ err: lastFailure.message }, 'apply failed; the last good configuration keeps serving');
      }
    },
  });

  function logRejections(model: Model): void {
    const key = JSON.stringify(model.rejections);
    if (key === rejectionKey) return;
    rejectionKey = key;
    for (const rejection of model.rejections) logger.warn({ subject: rejection.subject, reason: rejection.reason }, `skipped ${rejection.subject}: ${rejection.reason}`);
  }

  const consul = createConsulClient(config.consul);
  const watcher: ConsulWatcher = createWatcher({
    client: consul,
    config: config.consul,
    logger,
    onSnapshot: (snapshot) => {
      metrics.snapshots.inc();
      runner.submit(snapshot);
    },
    onError: (error, info) => {
      metrics.consulErrors.inc();
      logger.warn({ err: error.message, ...info }, 'consul read failed; serving the last good configuration and retrying');
    },
  });

  const readiness = (): Readiness => {
    const consul = watcher.state();
    const reasons: string[] = [];
    if (!consul.ready) reasons.push(consul.lastError ? `consul not read yet: ${consul.lastError.message}` : 'consul not read yet');
    else if (consul.stale) reasons.push(`consul data stale since ${new Date(consul.staleSince ?? 0).toISOString()}: ${consul.lastError?.message ?? ''}`);
    if (!applied) reasons.push('no configuration applied yet');
    if (lastFailure) reasons.push(`last apply failed at ${lastFailure.at}: ${lastFailure.message}`);
    metrics.consulReady.set(consul.ready ? 1 : 0);
    metrics.consulStale.set(consul.stale ? 1 : 0);
    return { ready: reasons.length === 0, reasons };
  };

  const admin: AdminServer = await startAdminServer({
    listen: config.listen.admin,
    registry: metrics.registry,
    readiness,
    status: () => ({
      readiness: readiness(),
      consul: watcher.state(),
      applied: applied && { hash: applied.hash, action: applied.action, services: applied.model.services.length, rejections: applied.model.rejections },
      lastFailure,
      haproxy: applier.status(),
    }),
  });

  watcher.start();
  logger.info({ consul: config.consul.address, admin: admin.address, http: config.listen.http, stats: config.listen.stats }, 'ipx watching');

  let stopping: Promise<void> | undefined;
  return {
    adminAddress: admin.address,
    readiness,
    idle: () => runner.idle(),
    stop: () =>
      (stopping ??= (async () => {
        await watcher.stop();
        consul.close();
        await runner.close();
        await applier.stop();
        await admin.close();
        logger.info('ipx stopped');
      })()),
  };
}

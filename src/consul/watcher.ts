/**
 * Watches Consul with a bounded number of connections, whatever the number of
 * services (CONSUL-SCALE.md: the agent allows 200 per client IP, shared by every
 * process on the host; one blocking query per service holds one each under HTTP/1.1).
 *
 * Four long-held blocking queries: the list of services (catalog/services, or
 * catalog/nodes while node views follow every node: catalog-source.ts), the
 * critical and the warning checks (the health change signal, check-views.ts)
 * and the KV prefix. A service is read (GET /v1/health/service/<name>, not blocking) when
 * it is new, and again only when a signal shows a write newer than its last
 * read (change-signals.ts): a check turning unhealthy or healthy again shows
 * in the check signal; a registration wakes the view of its node
 * (node-views.ts: one blocking query per node while the nodes fit), or else
 * catalog/services, which starts a scan of the nodes' instances (registrations.ts
 * applies what a node's answer and the check signal tell in full, unread). Reads share
 * a pool of consul.maxConnections - 4 (- 5 with access.consulIntentions, less one
 * per node view): no more than consul.maxConnections sockets are ever open.
 *
 * Why not the alternatives (measured, README "Consul at scale"): one blocking
 * query per service needs one connection each under HTTP/1.1 and breaks at the
 * agent's limit; polling every service costs a full read of each per round; the
 * unfiltered health/state/any costs megabytes per wake, and filtered it still
 * costs the agent a read of every check per wake. The price here is a
 * node's answer per registration, and with more nodes than fit, a scan of all
 * of them per registration burst.
 *
 * A snapshot is emitted once every service has been read (or failed its first
 * read), and whenever one changes; a failing read keeps the service's last
 * good data and is retried with backoff (DESIGN.md invariant 3). The first
 * sync of a large catalog on few nodes reads by node (read-by-node.ts).
 */
import { setMaxListeners } from 'node:events';
import { isDeepStrictEqual } from 'node:util';
import pLimit from 'p-limit';
import { errorMessage, type ConsulError } from '../errors.ts';
import { assembleSnapshot, chooseWatched, NO_WATCH_LIMITS } from './assemble.ts';
import { DEFAULT_VIEW_TIMING, REAL_EFFECTS, requestTimeout, type ViewEffects, type ViewTiming } from './blocking-view.ts';
import { isBehind, nodeNamesOf, type FetchedService, type InstanceSignal } from './change-signals.ts';
import { concernedBy, startCheckViews, type CheckViews } from './check-views.ts';
import { intentionsQuery, type IntentionEntry } from './intentions.ts';
import { MAX_STREAMS_PER_CONNECTION } from './http2-reads.ts';
import { createNodeScan, NODE_SCAN_KEY } from './node-scan.ts';
import { createNodeViews, nodeViewWait, notFollowedMessage } from './node-views.ts';
import { createCatalogSource } from './catalog-source.ts';
import { kvPrefixQuery, type Query } from './query.ts';
import type { ReadPool } from './read-pool.ts';
import { BY_NODE_MIN_SERVICES, seedFirstSync } from './read-by-node.ts';
import { withRegistrations } from './registrations.ts';
import { createServiceReads, type ReadRecord, type ServiceRecord } from './service-reads.ts';
import { startSlot, type Slot, type SlotView } from './signal-slot.ts';
import { isBackwards, serviceKey, watcherState } from './watcher-state.ts';
import type { KvEntry, Snapshot } from './snapshot.ts';
import { SILENT_LOGGER, type ConsulWatcher, type WatcherOptions, type WatcherState } from './watcher-types.ts';

export type { ConsulWatcher, WatcherErrorInfo, WatcherLogger, WatcherOptions, WatcherState } from './watcher-types.ts';

/** Long-held blocking queries: the list of services, the critical and the warning checks, the KV prefix (and the intentions, when watched). */
export const BLOCKING_QUERIES = 4;

export function createWatcher(options: WatcherOptions): ConsulWatcher {
  const { client, config } = options;
  const logger = options.logger ?? SILENT_LOGGER;
  const timing: ViewTiming = { ...DEFAULT_VIEW_TIMING, ...options.timing };
  const effects: ViewEffects = { ...REAL_EFFECTS, ...options.effects };
  const limits = options.limits ?? NO_WATCH_LIMITS;
  const controller = new AbortController();
  // Every read in flight and every view listens for the stop: a stream each over HTTP/2, not a leak.
  setMaxListeners(config.maxConnections * MAX_STREAMS_PER_CONNECTION + 8, controller.signal);
  // The blocking queries hold BLOCKING_QUERIES sockets for good; every other read shares the rest.
  const longHeld = BLOCKING_QUERIES + (options.intentions ? 1 : 0);
  const limit = pLimit(Math.max(1, config.maxConnections - longHeld));
  const readTimeout = requestTimeout('0', 0, timing);
  let kv: Slot<readonly KvEntry[]> | undefined;
  let intentions: Slot<readonly IntentionEntry[]> | undefined;
  let checks: CheckViews | undefined;
  let instances: InstanceSignal | undefined;
  let unwatched: readonly string[] = [];
  let phase: 'new' | 'running' | 'stopped' = 'new';
  let stopping: Promise<void> | undefined;
  let lastEmitted: Snapshot | undefined;
  let dirty = true;
  let emitScheduled = false;
  let lastSuccessAt: number | undefined;
  let synced!: () => void;
  const firstSync = new Promise<void>((resolve) => (synced = resolve));
  let lastError: WatcherState['lastError'];
  const lastIndex = new Map<string, string>();

  function failed(key: string, error: ConsulError, attempt: number): void {
    lastError = { message: error.message, key, at: effects.now() };
    // The first failure of a streak is news; the retries are not.
    const fields = { key, attempt, err: error.message };
    if (attempt === 1) logger.warn(fields, 'consul: read failed; keeping the last good data and retrying');
    else logger.debug(fields, 'consul: read failed again');
    options.onError?.(error, { key, attempt });
  }

  function succeeded(key: string, failures: number): void {
    lastSuccessAt = effects.now();
    if (failures > 0) logger.info({ key, failures }, 'consul: reading again after errors');
  }

  const behind = (name: string, fetched: FetchedService): boolean => isBehind(name, fetched, checks?.signal(), instances);

  const pool: ReadPool = { client, limit, signal: controller.signal, timing, effects, timeoutMs: readTimeout };
  const reads = createServiceReads({
    ...pool,
    isBehind: behind,
    onChange: () => {
      dirty = true;
      scheduleEmit();
    },
    onSuccess: (record) => succeeded(record.name, 0),
    onError: (record, error) => {
      failed(serviceKey(record.name), error, record.failures);
      // A service whose first read failed no longer holds back the others.
      if (!record.data) scheduleEmit();
    },
  });

  const scan = createNodeScan({
    ...pool,
    onScan: (scanned) => {
      instances = scanned;
      refreshBehind();
    },
    onSuccess: (failures) => succeeded(NODE_SCAN_KEY, failures),
    onError: (error, attempt) => failed(NODE_SCAN_KEY, error, attempt),
  });

  const slotView = <T>(query: Query<T>): SlotView<T> => ({ client, query, wait: config.wait, parent: controller.signal, timing: options.timing, effects: options.effects, now: effects.now });

  // Registrations: one blocking query per node while the nodes fit in the budget, else a scan per burst.
  const views = createNodeViews({
    maxConnections: config.maxConnections,
    longHeld,
    limit,
    streamsPerConnection: () => client.streamsPerConnection?.(),
    start: (query, hooks) => startSlot({ ...slotView(query), wait: nodeViewWait(config.wait) }, hooks),
    synced: firstSync,
    listNodes: async () => nodeNamesOf((await limit(() => client.catalogNodes({ index: '0', signal: controller.signal, timeout: readTimeout }))).body),
    scan: () => scan.trigger(),
    onNotFollowed: (nodes) => logger.warn({ nodes, maxConnections: config.maxConnections }, notFollowedMessage(nodes, config.maxConnections, longHeld)),
    onSignal: (signal, changed) => {
      const since = instances?.index;
      instances = signal;
      refreshBehind(changed && ((record) => changed.has(record.name)), since);
    },
    onNames: (names) => catalog.fromViews(names),
    onSuccess: succeeded,
    onError: failed,
  });
  const catalog = createCatalogSource({ start: startView, views: () => views, onNames: reconcile });

  function resyncAll(key: string): void {
    logger.info({ key, services: reads.records.size }, 'consul: reading every service again, as a change signal may have missed writes');
    for (const name of reads.records.keys()) reads.refresh(name);
  }

  /** Reads again the services a signal shows behind: of those read before `since`, only the ones a change concerns. */
  function refreshBehind(concerns?: (record: ReadRecord) => boolean, since?: bigint): void {
    for (const record of reads.records.values()) {
      if (!record.data || record.busy) continue;
      if (concerns && since !== undefined && record.data.fetched.index <= since && !concerns(record as ReadRecord)) continue;
      if (!behind(record.name, record.data.fetched)) continue;
      // Registrations the node views kept, and the checks as read: known without asking.
      const known = instances && withRegistrations(record.name, record.data, instances, checks?.signal());
      if (!known || !reads.replace(record.name, known)) reads.refresh(record.name);
    }
  }

  function startView<T>(query: Query<T>, onData: (data: T) => void, onIndex: (index: string) => void = () => {}): Slot<T> {
    return startSlot(slotView(query), {
      onSuccess: (index, failures) => {
        succeeded(query.key, failures);
        // After a failure streak, or when Consul's index went backwards (a restarted agent, a
        // restored snapshot), a signal cannot tell what it missed: every service is read again.
        const previous = lastIndex.get(query.key);
        lastIndex.set(query.key, index);
        if (failures > 0 || (previous !== undefined && isBackwards(previous, index))) resyncAll(query.key);
        onIndex(index);
      },
      onData,
      onError: (error, attempt) => failed(query.key, error, attempt),
    });
  }

  function reconcile(names: readonly string[]): void {
    const chosen = chooseWatched(names, limits);
    if (chosen.unwatched.length !== unwatched.length) {
      const fields = { unwatched: chosen.unwatched.length, watched: chosen.watched.length, limit: limits.services };
      if (chosen.unwatched.length > 0) logger.warn(fields, 'consul: not watching some services (limits.services, limits.fieldLength); they are rejected by name');
      else logger.info(fields, 'consul: watching every service again');
    }
    if (!isDeepStrictEqual(unwatched, chosen.unwatched)) dirty = true;
    unwatched = chosen.unwatched;
    // The first sync of a large catalog reads by node when that pays (read-by-node.ts).
    const byNode = reads.records.size === 0 && chosen.watched.length >= BY_NODE_MIN_SERVICES;
    for (const name of reads.sync(chosen.watched, { read: !byNode })) {
      dirty = true;
      logger.info({ service: name }, 'consul: service left the catalog; stopped reading its health');
    }
    if (byNode) seedFirstSync(pool, reads, chosen.watched, logger);
    scheduleEmit();
  }

  // Many reads end in one burst (the first sync, a scan): one snapshot for all of them.
  function scheduleEmit(): void {
    if (emitScheduled) return;
    emitScheduled = true;
    setImmediate(() => {
      emitScheduled = false;
      emitIfComplete();
    });
  }

  function emitIfComplete(): void {
    // A service never read and not failed yet has its first answer on the way; without it
    // the service would show zero instances.
    if (phase !== 'running' || !catalog.listed() || !kv?.data || !dirty || reads.unread() > 0) return;
    synced();
    // Never answered and not failed: without them every intention deny would be missing.
    if (intentions && !intentions.data && intentions.failures === 0) return;
    const services: Array<readonly [string, ServiceRecord['data'] & object]> = [];
    for (const [name, record] of reads.records) if (record.data) services.push([name, record.data]);
    const snapshot = assembleSnapshot({
      services: services.map(([name, data]) => [name, data.instances] as const),
      kv: kv.data.value,
      unwatched,
      ...(intentions ? { intentions: intentions.data?.value ?? [] } : {}),
    });
    dirty = false;
    if (lastEmitted && isDeepStrictEqual(lastEmitted, snapshot)) return;
    lastEmitted = snapshot;
    try {
      options.onSnapshot(snapshot);
    } catch (err) {
      logger.error({ err: errorMessage(err) }, 'consul: the snapshot consumer threw; the watcher keeps running');
    }
  }

  function slots(): Array<Readonly<Slot<unknown>>> {
    const all: Array<Readonly<Slot<unknown>> | undefined> = [catalog.slot(), kv, ...(checks?.slots ?? []), intentions];
    return all.filter((slot): slot is Readonly<Slot<unknown>> => slot !== undefined);
  }

  return {
    start() {
      if (phase !== 'new') return;
      phase = 'running';
      kv = startView(kvPrefixQuery(config.kvPrefix), () => {
        dirty = true;
        scheduleEmit();
      });
      checks = startCheckViews((query, onData) => startView(query, onData), (changes, since) => refreshBehind(changes && concernedBy(changes), since));
      if (options.intentions) {
        intentions = startView(intentionsQuery(), () => {
          dirty = true;
          scheduleEmit();
        });
      }
      catalog.start();
    },
    stop() {
      if (!stopping) {
        phase = 'stopped';
        controller.abort();
        reads.stop();
        limit.clearQueue();
        stopping = Promise.all([...[...slots(), ...views.slots()].map((slot) => slot.done), scan.done(), idle()]).then(() => undefined);
      }
      return stopping;
    },
    state: () =>
      watcherState({
        running: phase === 'running',
        basisRead: catalog.listed() && kv?.data !== undefined,
        signals: slots().map((slot) => ({ key: slot.key, answered: slot.data !== undefined, failingSince: slot.failingSince })),
        scan: { key: NODE_SCAN_KEY, failingSince: scan.failingSince() },
        nodeViews: { slots: views.slots(), following: views.following() },
        records: reads.records.values(),
        queuedReads: reads.pending(),
        lastSuccessAt,
        lastError,
        indexes: lastIndex.values(),
      }),
  };

  /** Resolves once no read is in flight or queued. */
  async function idle(): Promise<void> {
    while (limit.activeCount > 0 || limit.pendingCount > 0) await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

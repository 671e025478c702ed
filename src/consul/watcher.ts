/**
 * Fan-in of blocking views: the catalog list, one health view per service (started
 * and stopped as services come and go) and one KV view, assembled into one
 * Snapshot stream. A snapshot is emitted only when every view that can have
 * data has it, and a failing view keeps its last good data (DESIGN.md invariant 3).
 */
import { isDeepStrictEqual } from 'node:util';
import type { Config } from '../config/index.ts';
import { errorMessage, type ConsulError } from '../errors.ts';
import { assembleSnapshot, chooseWatched, NO_WATCH_LIMITS, type WatchLimits } from './assemble.ts';
import { runBlockingView, type ViewEffects, type ViewTiming } from './blocking-view.ts';
import type { ConsulClient } from './client.ts';
import { intentionsQuery, type IntentionEntry } from './intentions.ts';
import { catalogServicesQuery, healthServiceQuery, kvPrefixQuery, type Query } from './query.ts';
import type { InstanceEntry, KvEntry, Snapshot } from './snapshot.ts';

/** What the watcher logs through; a pino logger fits. */
export interface WatcherLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface WatcherErrorInfo {
  /** Query key of the failing view, e.g. health.service("web"). */
  readonly key: string;
  /** Position in this view's current failure streak (1 = first failure). */
  readonly attempt: number;
}

/** For /readyz and `ipx status`. Times are epoch milliseconds. */
export interface WatcherState {
  /** Every view has read Consul at least once. */
  readonly ready: boolean;
  /** Some view is failing: snapshots may lag behind Consul. */
  readonly stale: boolean;
  readonly staleSince: number | undefined;
  /** Last successful answer from any view. */
  readonly lastSuccessAt: number | undefined;
  readonly lastError: { readonly message: string; readonly key: string; readonly at: number } | undefined;
  /** Keys of the views now failing, sorted. */
  readonly failing: readonly string[];
  readonly services: number;
}

export interface WatcherOptions {
  readonly client: ConsulClient;
  readonly config: Config['consul'];
  /**
   * limits.services and limits.fieldLength: no health view is opened beyond
   * them (thousands of services would be thousands of blocking queries); the
   * names left out travel in the snapshot's `unwatched`. Absent: no limit.
   */
  readonly limits?: WatchLimits;
  /** Also watch Connect intentions (access.consulIntentions); the snapshot waits for their first answer. */
  readonly intentions?: boolean;
  onSnapshot(snapshot: Snapshot): void;
  onError?(error: ConsulError, info: WatcherErrorInfo): void;
  readonly logger?: WatcherLogger;
  readonly timing?: Partial<ViewTiming>;
  readonly effects?: Partial<ViewEffects>;
}

export interface ConsulWatcher {
  /** Starts the views; calling it again, or after stop(), does nothing. */
  start(): void;
  /** Cancels every request in flight and resolves when all views have ended. Idempotent. */
  stop(): Promise<void>;
  state(): WatcherState;
}

interface Slot<T> {
  readonly key: string;
  readonly controller: AbortController;
  done: Promise<void>;
  data: { readonly value: T } | undefined;
  failures: number;
  failingSince: number | undefined;
}

/** Any slot, read-only, so slots of different data types can share one list. */
type AnySlot = Readonly<Slot<unknown>>;

const SILENT: WatcherLogger = { debug() {}, info() {}, warn() {}, error() {} };

export function createWatcher(options: WatcherOptions): ConsulWatcher {
  const { client, config } = options;
  const logger = options.logger ?? SILENT;
  const now = options.effects?.now ?? Date.now;
  const health = new Map<string, Slot<readonly InstanceEntry[]>>();
  const ending = new Set<Promise<void>>();
  let catalog: Slot<readonly string[]> | undefined;
  let kv: Slot<readonly KvEntry[]> | undefined;
  let intentions: Slot<readonly IntentionEntry[]> | undefined;
  let unwatched: readonly string[] = [];
  const limits = options.limits ?? NO_WATCH_LIMITS;
  let phase: 'new' | 'running' | 'stopped' = 'new';
  let stopping: Promise<void> | undefined;
  let lastEmitted: Snapshot | undefined;
  let lastSuccessAt: number | undefined;
  let lastError: WatcherState['lastError'];

  function startView<T>(query: Query<T>, onData: (data: T) => void): Slot<T> {
    const slot: Slot<T> = {
      key: query.key,
      controller: new AbortController(),
      done: Promise.resolve(),
      data: undefined,
      failures: 0,
      failingSince: undefined,
    };
    slot.done = runBlockingView({
      client,
      query,
      wait: config.wait,
      signal: slot.controller.signal,
      timing: options.timing,
      effects: options.effects,
      onSuccess: () => {
        lastSuccessAt = now();
        if (slot.failures > 0) logger.info({ key: slot.key, failures: slot.failures }, 'consul: reading again after errors');
        slot.failures = 0;
        slot.failingSince = undefined;
      },
      onData: (data) => {
        slot.data = { value: data };
        onData(data);
        emitIfComplete();
      },
      onError: (error, attempt) => {
        slot.failures = attempt;
        slot.failingSince ??= now();
        lastError = { message: error.message, key: slot.key, at: now() };
        // The first failure of a streak is news; the retries are not.
        const fields = { key: slot.key, attempt, err: error.message };
        if (attempt === 1) logger.warn(fields, 'consul: read failed; keeping the last good data and retrying');
        else logger.debug(fields, 'consul: read failed again');
        options.onError?.(error, { key: slot.key, attempt });
        // A service whose first read failed no longer holds back the others.
        if (!slot.data) emitIfComplete();
      },
    });
    return slot;
  }

  function endView(slot: AnySlot): void {
    slot.controller.abort();
    ending.add(slot.done);
    void slot.done.then(() => ending.delete(slot.done));
  }

  function reconcile(names: readonly string[]): void {
    const chosen = chooseWatched(names, limits);
    if (chosen.unwatched.length !== unwatched.length) {
      const fields = { unwatched: chosen.unwatched.length, watched: chosen.watched.length, limit: limits.services };
      if (chosen.unwatched.length > 0) logger.warn(fields, 'consul: not watching some services (limits.services, limits.fieldLength); they are rejected by name');
      else logger.info(fields, 'consul: watching every service again');
    }
    unwatched = chosen.unwatched;
    const wanted = new Set(chosen.watched);
    for (const [name, slot] of health) {
      if (wanted.has(name)) continue;
      health.delete(name);
      endView(slot);
      logger.info({ service: name }, 'consul: service left the catalog; stopped watching its health');
    }
    for (const name of wanted) {
      if (health.has(name)) continue;
      health.set(name, startView(healthServiceQuery(name), () => {}));
      logger.debug({ service: name }, 'consul: watching health of a new service');
    }
  }

  function emitIfComplete(): void {
    if (phase !== 'running' || !catalog?.data || !kv?.data) return;
    // Never answered and not failed: without it every intention deny would be missing.
    if (intentions && !intentions.data && intentions.failures === 0) return;
    const services: Array<readonly [string, readonly InstanceEntry[]]> = [];
    for (const [name, slot] of health) {
      if (slot.data) services.push([name, slot.data.value]);
      // Never read and not failed yet: its first answer is on the way; without it the
      // service would show zero instances.
      else if (slot.failures === 0) return;
    }
    const snapshot = assembleSnapshot({ services, kv: kv.data.value, unwatched, ...(intentions ? { intentions: intentions.data?.value ?? [] } : {}) });
    if (lastEmitted && isDeepStrictEqual(lastEmitted, snapshot)) return;
    lastEmitted = snapshot;
    try {
      options.onSnapshot(snapshot);
    } catch (err) {
      logger.error({ err: errorMessage(err) }, 'consul: the snapshot consumer threw; the watcher keeps running');
    }
  }

  function slots(): AnySlot[] {
    const all: Array<AnySlot | undefined> = [catalog, kv, intentions, ...health.values()];
    return all.filter((slot): slot is AnySlot => slot !== undefined);
  }

  return {
    start() {
      if (phase !== 'new') return;
      phase = 'running';
      kv = startView(kvPrefixQuery(config.kvPrefix), () => {});
      if (options.intentions) intentions = startView(intentionsQuery(), () => {});
      catalog = startView(catalogServicesQuery(), reconcile);
    },
    stop() {
      if (!stopping) {
        phase = 'stopped';
        for (const slot of slots()) endView(slot);
        stopping = Promise.all([...ending]).then(() => undefined);
      }
      return stopping;
    },
    state() {
      const all = slots();
      const failing = all.filter((slot) => slot.failingSince !== undefined);
      const since = failing.map((slot) => slot.failingSince as number);
      return {
        ready: phase === 'running' && all.length > 0 && all.every((slot) => slot.data !== undefined),
        stale: failing.length > 0,
        staleSince: since.length > 0 ? Math.min(...since) : undefined,
        lastSuccessAt,
        lastError,
        failing: failing.map((slot) => slot.key).sort(),
        services: health.size,
      };
    },
  };
}

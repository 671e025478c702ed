/**
 * The services' own reads (GET /v1/health/service/<name>, not blocking), made
 * only when a change signal says a service moved, through a pool of at most
 * `size` requests in flight. Each service keeps its last good instances: a
 * failed read never replaces them (DESIGN.md invariant 3) and is retried with
 * backoff until it succeeds or the service leaves the catalog.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ConsulError } from '../errors.ts';
import { asConsulError, backoffDelay } from './blocking-view.ts';
import { fetchedServiceOf, type FetchedService } from './change-signals.ts';
import type { ReadPool } from './read-pool.ts';
import { normalizeInstances } from './normalize.ts';
import type { ServiceRead } from './read-by-node.ts';
import type { InstanceEntry } from './snapshot.ts';

export interface ServiceRecord {
  readonly name: string;
  data: { readonly instances: readonly InstanceEntry[]; readonly fetched: FetchedService } | undefined;
  /** Waiting for the pool or being read. */
  busy: boolean;
  /** Marked behind while a read was in flight: read again once it ends. */
  again: boolean;
  failures: number;
  failingSince: number | undefined;
  retry: NodeJS.Timeout | undefined;
  /** Reads in a row that came back older than a signal (a stale server): backed off like failures. */
  lagging: number;
}

/** A service read at least once. */
export type ReadRecord = ServiceRecord & { readonly data: NonNullable<ServiceRecord['data']> };

export interface ServiceReadsOptions extends ReadPool {
  /** Whether a signal shows a write newer than this read. */
  isBehind(name: string, fetched: FetchedService): boolean;
  /** Instances differ from the last good ones (or are the first). */
  onChange(record: ServiceRecord): void;
  onSuccess(record: ServiceRecord): void;
  onError(record: ServiceRecord, error: ConsulError): void;
}

export interface ServiceReads {
  readonly records: ReadonlyMap<string, ServiceRecord>;
  /**
   * Starts reading services new in `names` (or, with `read: false`, only records them, for
   * a read by node to seed) and forgets the ones no longer in it; returns the forgotten names.
   */
  sync(names: readonly string[], options?: { readonly read: boolean }): readonly string[];
  /** A first answer got another way (read-by-node.ts), for a service not read yet. */
  seed(name: string, read: ServiceRead): void;
  /** Reads the service again (once, however often it is asked while waiting). */
  refresh(name: string): void;
  /** Instances known without a read (without-removed.ts); false when a read is in flight. */
  replace(name: string, read: ServiceRead): boolean;
  /** Requests waiting for the pool. */
  pending(): number;
  /** Services neither read nor failed yet: a snapshot without them would show them empty. */
  unread(): number;
  /** Cancels the timers of scheduled retries. */
  stop(): void;
}

export function createServiceReads(options: ServiceReadsOptions): ServiceReads {
  const { client, limit, signal, timing, effects } = options;
  const records = new Map<string, ServiceRecord>();
  // Kept as a count so that "is every service read?" costs nothing at thousands of services.
  let unread = 0;
  const settleFirst = (record: ServiceRecord): void => {
    if (!record.data && record.failures === 0) unread -= 1;
  };

  function refresh(name: string): void {
    const record = records.get(name);
    if (!record || signal.aborted) return;
    if (record.busy) {
      record.again = true;
      return;
    }
    clearTimeout(record.retry);
    record.retry = undefined;
    record.busy = true;
    void limit(() => read(record)).finally(() => {
      record.busy = false;
      if (record.again && records.get(name) === record) {
        record.again = false;
        refresh(name);
      }
    });
  }

  async function read(record: ServiceRecord): Promise<void> {
    if (signal.aborted || records.get(record.name) !== record) return;
    let instances: readonly InstanceEntry[];
    let fetched: FetchedService;
    try {
      const result = await client.healthService(record.name, { index: '0', signal, timeout: options.timeoutMs });
      instances = normalizeInstances(result.body, record.name);
      fetched = fetchedServiceOf(result.body, result.index);
    } catch (err) {
      if (signal.aborted || records.get(record.name) !== record) return;
      settleFirst(record);
      record.failures += 1;
      record.failingSince ??= effects.now();
      options.onError(record, asConsulError(err, `health.service(${JSON.stringify(record.name)})`));
      schedule(record, record.failures);
      return;
    }
    if (records.get(record.name) !== record) return;
    accept(record, instances, fetched);
  }

  function accept(record: ServiceRecord, instances: readonly InstanceEntry[], fetched: FetchedService): void {
    settleFirst(record);
    record.failures = 0;
    record.failingSince = undefined;
    const changed = !record.data || !isDeepStrictEqual(record.data.instances, instances);
    record.data = { instances: changed ? instances : (record.data?.instances ?? instances), fetched };
    options.onSuccess(record);
    if (changed) options.onChange(record);
    // A stale server can answer older than the signal that asked for the read: try again, backed off.
    if (options.isBehind(record.name, fetched)) {
      record.lagging += 1;
      schedule(record, record.lagging);
    } else {
      record.lagging = 0;
    }
  }

  function schedule(record: ServiceRecord, attempt: number): void {
    if (signal.aborted) return;
    clearTimeout(record.retry);
    record.retry = setTimeout(() => {
      record.retry = undefined;
      refresh(record.name);
    }, backoffDelay(attempt, timing, effects.random()));
    record.retry.unref();
  }

  return {
    records,
    sync(names, { read: start } = { read: true }) {
      const wanted = new Set(names);
      const gone: string[] = [];
      for (const [name, record] of records) {
        if (wanted.has(name)) continue;
        clearTimeout(record.retry);
        settleFirst(record);
        records.delete(name);
        gone.push(name);
      }
      for (const name of names) {
        if (records.has(name)) continue;
        records.set(name, {
          name,
          data: undefined,
          busy: false,
          again: false,
          failures: 0,
          failingSince: undefined,
          retry: undefined,
          lagging: 0,
        });
        unread += 1;
        if (start) refresh(name);
      }
      return gone;
    },
    refresh,
    replace(name, read) {
      const record = records.get(name);
      if (!record?.data || record.busy || signal.aborted) return false;
      accept(record, read.instances, read.fetched);
      return true;
    },
    seed(name, read) {
      const record = records.get(name);
      if (!record || record.data || record.busy || signal.aborted) return;
      accept(record, read.instances, read.fetched);
    },
    pending: () => limit.pendingCount,
    unread: () => unread,
    stop() {
      for (const record of records.values()) clearTimeout(record.retry);
    },
  };
}

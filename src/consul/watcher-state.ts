/** Pure: the watcher's state for /readyz and `ipx status`, from what its reads hold now. */
import type { Following } from './node-views.ts';
import type { ServiceRecord } from './service-reads.ts';
import type { WatcherState } from './watcher-types.ts';

/** What one long-held query (a change signal) holds: its key, whether it has answered, its failure streak. */
export interface SignalView {
  readonly key: string;
  readonly answered: boolean;
  readonly failingSince: number | undefined;
}

export interface WatcherStateInput {
  readonly running: boolean;
  /** The catalog and the KV prefix have answered: what a snapshot is made of, besides the services. */
  readonly basisRead: boolean;
  readonly signals: readonly SignalView[];
  readonly scan: { readonly key: string; readonly failingSince: number | undefined };
  /** The node views (node-views.ts): like the scan, they count when failing, not among the views read; and how registrations are followed. */
  readonly nodeViews?: {
    readonly slots: ReadonlyArray<{ readonly key: string; readonly failingSince: number | undefined }>;
    readonly following: Following | undefined;
  };
  readonly records: Iterable<Pick<ServiceRecord, 'name' | 'data' | 'failingSince'>>;
  readonly queuedReads: number;
  readonly lastSuccessAt: number | undefined;
  readonly lastError: WatcherState['lastError'];
  readonly indexes: Iterable<string>;
}

export function watcherState(input: WatcherStateInput): WatcherState {
  const failing: Array<{ key: string; since: number }> = [];
  for (const signal of input.signals) if (signal.failingSince !== undefined) failing.push({ key: signal.key, since: signal.failingSince });
  for (const follower of [input.scan, ...(input.nodeViews?.slots ?? [])]) {
    if (follower.failingSince !== undefined) failing.push({ key: follower.key, since: follower.failingSince });
  }
  let services = 0;
  let read = 0;
  for (const record of input.records) {
    services += 1;
    if (record.failingSince !== undefined) failing.push({ key: serviceKey(record.name), since: record.failingSince });
    if (record.data) read += 1;
  }
  const since = failing.map((entry) => entry.since);
  return {
    // The health signal is not part of a snapshot: its failures show in `failing`, not in `ready`.
    ready: input.running && input.basisRead && read === services,
    stale: failing.length > 0,
    staleSince: since.length > 0 ? Math.min(...since) : undefined,
    lastSuccessAt: input.lastSuccessAt,
    lastError: input.lastError,
    failing: failing.map((entry) => entry.key).sort(),
    services,
    queuedReads: input.queuedReads,
    views: input.signals.length + services,
    viewsRead: input.signals.filter((signal) => signal.answered).length + read,
    lastIndex: highestIndex(input.indexes),
    ...(input.nodeViews?.following ? { registrations: input.nodeViews.following } : {}),
  };
}

/** The key a service's reads are reported under, e.g. health.service("web"). */
export function serviceKey(name: string): string {
  return `health.service(${JSON.stringify(name)})`;
}

function highestIndex(indexes: Iterable<string>): string | undefined {
  let highest: bigint | undefined;
  for (const index of indexes) if (/^\d+$/.test(index) && (highest === undefined || BigInt(index) > highest)) highest = BigInt(index);
  return highest?.toString();
}

/** Consul's index went backwards (a restarted agent, a restored snapshot): what was read before may be gone. */
export function isBackwards(previous: string, index: string): boolean {
  return /^\d+$/.test(previous) && /^\d+$/.test(index) && BigInt(index) < BigInt(previous);
}

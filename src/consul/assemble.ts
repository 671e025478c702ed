/** Pure: the pieces read from Consul into one immutable, sorted Snapshot. */
import { compareStrings } from '../compare.ts';
import type { IntentionEntry } from './intentions.ts';
import type { InstanceEntry, KvEntry, ServiceEntry, Snapshot } from './snapshot.ts';

/** Consul's own service (the servers' RPC port) is never something to route to. */
const IGNORED_SERVICES: ReadonlySet<string> = new Set(['consul']);

/** Catalog names ipx watches: everything but the ignored ones, sorted. */
export function watchedServices(names: readonly string[]): readonly string[] {
  return names.filter((name) => !IGNORED_SERVICES.has(name)).sort(compareStrings);
}

export interface WatchLimits {
  /** limits.services */
  readonly services: number;
  /** limits.fieldLength: a longer name cannot be a DNS label, so it is not worth a view. */
  readonly fieldLength: number;
}

/** For callers that pass no limits: every name is watched (the model still applies limits.*). */
export const NO_WATCH_LIMITS: WatchLimits = Object.freeze({ services: Number.POSITIVE_INFINITY, fieldLength: Number.POSITIVE_INFINITY });

export interface ChosenServices {
  /** Sorted. */
  readonly watched: readonly string[];
  /** Sorted; the model rejects them with the limit that left them out. */
  readonly unwatched: readonly string[];
}

/**
 * Which services get a health view: the first `limits.services` names in
 * sorted order, after names longer than `limits.fieldLength` are set aside.
 * The model applies the same rule (model/limits.ts), so a snapshot of the
 * views it chose is within its limits and the rest are rejected by name.
 */
export function chooseWatched(names: readonly string[], limits: WatchLimits): ChosenServices {
  const all = watchedServices(names);
  const fitting = all.filter((name) => name.length <= limits.fieldLength);
  const watched = fitting.slice(0, limits.services);
  const chosen = new Set(watched);
  return { watched, unwatched: all.filter((name) => !chosen.has(name)) };
}

export interface SnapshotParts {
  /** Instances per service name; instances already sorted by normalizeInstances. */
  readonly services: Iterable<readonly [string, readonly InstanceEntry[]]>;
  readonly kv: readonly KvEntry[];
  /** Catalog names left out by chooseWatched. */
  readonly unwatched?: readonly string[];
  /** Read only with access.consulIntentions. */
  readonly intentions?: readonly IntentionEntry[];
}

/**
 * The entry made last time for the same instances array (the watcher keeps a
 * service's array while its answer does not change), so that an unchanged
 * service is the same object in the next snapshot: the model reuses what it
 * built from it (model/model-memo.ts) and snapshot comparison skips it.
 */
const entries = new WeakMap<readonly InstanceEntry[], ServiceEntry>();
const kvCopies = new WeakMap<readonly KvEntry[], readonly KvEntry[]>();

function entryOf(name: string, instances: readonly InstanceEntry[]): ServiceEntry {
  const known = entries.get(instances);
  if (known?.name === name) return known;
  const entry: ServiceEntry = Object.freeze({ name, instances: Object.freeze([...instances]) });
  entries.set(instances, entry);
  return entry;
}

function kvOf(kv: readonly KvEntry[]): readonly KvEntry[] {
  const known = kvCopies.get(kv);
  if (known) return known;
  const copy = Object.freeze([...kv]);
  kvCopies.set(kv, copy);
  return copy;
}

export function assembleSnapshot(parts: SnapshotParts): Snapshot {
  const services: ServiceEntry[] = [];
  for (const [name, instances] of parts.services) services.push(entryOf(name, instances));
  services.sort((a, b) => compareStrings(a.name, b.name));
  const unwatched = [...(parts.unwatched ?? [])].sort(compareStrings);
  return Object.freeze({
    services: Object.freeze(services),
    kv: kvOf(parts.kv),
    ...(unwatched.length > 0 ? { unwatched: Object.freeze(unwatched) } : {}),
    ...(parts.intentions ? { intentions: parts.intentions } : {}),
  });
}

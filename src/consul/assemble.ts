/** Pure: the pieces read from Consul into one immutable, sorted Snapshot. */
import { compareStrings } from './normalize.ts';
import type { InstanceEntry, KvEntry, ServiceEntry, Snapshot } from './snapshot.ts';

/** Consul's own service (the servers' RPC port) is never something to route to. */
export const IGNORED_SERVICES: ReadonlySet<string> = new Set(['consul']);

/** Catalog names ipx watches: everything but the ignored ones, sorted. */
export function watchedServices(names: readonly string[]): readonly string[] {
  return names.filter((name) => !IGNORED_SERVICES.has(name)).sort(compareStrings);
}

export interface SnapshotParts {
  /** Instances per service name; instances already sorted by normalizeInstances. */
  readonly services: Iterable<readonly [string, readonly InstanceEntry[]]>;
  readonly kv: readonly KvEntry[];
}

export function assembleSnapshot(parts: SnapshotParts): Snapshot {
  const services: ServiceEntry[] = [];
  for (const [name, instances] of parts.services) {
    services.push(Object.freeze({ name, instances: Object.freeze([...instances]) }));
  }
  services.sort((a, b) => compareStrings(a.name, b.name));
  return Object.freeze({ services: Object.freeze(services), kv: Object.freeze([...parts.kv]) });
}

import type { IntentionEntry } from './intentions.ts';

/**
 * What ipx knows of Consul at one moment: immutable, normalized and sorted at
 * the boundary so that the same Consul state always yields the same snapshot.
 * Every string in here is untrusted (DESIGN.md invariant 1).
 */
export type HealthStatus = 'passing' | 'warning' | 'critical';

export interface InstanceEntry {
  /** Consul service ID, unique per agent. */
  readonly id: string;
  readonly node: string;
  /** Service address, or the node's address when the service has none (Consul's rule). */
  readonly address: string;
  readonly port: number;
  /** Sorted, duplicates removed. */
  readonly tags: readonly string[];
  /** Keys in sorted order. */
  readonly meta: Readonly<Record<string, string>>;
  /** Worst status of the node's and the service's checks; maintenance shows as critical. */
  readonly status: HealthStatus;
  /**
   * Consul's `Weights.Warning` while the instance is in warning, else
   * `Weights.Passing` (1 when the registration sets none). Taken as Consul
   * answers it; the model maps it onto HAProxy's range.
   */
  readonly weight: number;
}

export interface ServiceEntry {
  readonly name: string;
  /** Sorted by node, then id. */
  readonly instances: readonly InstanceEntry[];
}

export interface KvEntry {
  readonly key: string;
  readonly value: string;
}

export interface Snapshot {
  /** Sorted by name. */
  readonly services: readonly ServiceEntry[];
  /** Everything under the configured KV prefix, sorted by key. */
  readonly kv: readonly KvEntry[];
  /**
   * Catalog names whose health ipx did not read: beyond limits.services, or
   * longer than limits.fieldLength. Sorted; absent when there are none, so
   * snapshots under the limits look as they always did.
   */
  readonly unwatched?: readonly string[];
  /** Connect intentions, only when access.consulIntentions reads them. */
  readonly intentions?: readonly IntentionEntry[];
}

export const EMPTY_SNAPSHOT: Snapshot = Object.freeze({ services: [], kv: [] });

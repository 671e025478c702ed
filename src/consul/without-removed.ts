/**
 * Pure: a deregistration applied to a service's last read, without reading it
 * again (the watcher's node views show it before any read could).
 */
import { NONE, pairKey, type FetchedService, type InstanceSignal } from './change-signals.ts';
import type { InstanceEntry } from './snapshot.ts';

/**
 * Pure: a read's instances less the ones the instance signal no longer shows,
 * when that is all that can have changed: the signal is not older than the read,
 * saw no instance written after it, and shows a strict subset of its instances
 * (a deregistration, or a node gone). Removing an instance changes nothing of the
 * others, so the service need not be read again (a read costs the agent little,
 * but waits its turn behind the node's answer at thousands of services).
 * Undefined otherwise. The checks are the caller's to compare.
 */
export function withoutRemoved(
  service: string,
  read: { readonly instances: readonly InstanceEntry[]; readonly fetched: FetchedService },
  signal: InstanceSignal,
): { readonly instances: readonly InstanceEntry[]; readonly fetched: FetchedService } | undefined {
  const { fetched } = read;
  const seen = signal.services.get(service) ?? NONE;
  if (signal.index < fetched.index || seen.maxIndex > fetched.index || seen.keys === fetched.instanceKeys) return undefined;
  const kept = new Set(seen.keys ? seen.keys.split('\n') : []);
  const had = new Set(fetched.instanceKeys ? fetched.instanceKeys.split('\n') : []);
  for (const key of kept) if (!had.has(key)) return undefined;
  return {
    instances: read.instances.filter((instance) => kept.has(pairKey(instance.node, instance.id))),
    fetched: { ...fetched, instanceKeys: seen.keys },
  };
}

/**
 * Pure: the instance signal (change-signals.ts) out of node answers: a scan of
 * every node at once (node-scan.ts), or kept up to date one node at a time
 * (node-views.ts). Node views also keep, of the services a node's answer
 * changed, the instances written since that node's answer before, as the
 * answer gave them: a registration can then be applied without reading its
 * service (registrations.ts).
 */
import { Collector, consulIndex, joinSorted, pairKey, type Group, type InstanceSignal, type Seen, type WrittenInstance } from './change-signals.ts';
import { isRecord, shapeError, str } from './normalize.ts';

/** Pure: the bodies of GET /v1/catalog/node/<node> for every node into per-service instance summaries. */
export function instanceSignalOf(answers: ReadonlyArray<{ readonly body: unknown; readonly index: string }>): InstanceSignal {
  const scan = createInstanceScan();
  for (const answer of answers) scan.add(answer);
  return scan.finish();
}

/**
 * The same, one node answer at a time, so that a scan holds one node's body at
 * once (megabytes each at thousands of services) and keeps only the summary.
 */
export function createInstanceScan(): { add(answer: { readonly body: unknown; readonly index: string }): void; finish(): InstanceSignal } {
  const services = new Collector();
  let lowest: bigint | undefined;
  return {
    add({ body, index }) {
      const at = consulIndex(index);
      lowest = lowest === undefined || at < lowest ? at : lowest;
      // A node deregistered between the node list and its read answers null: it has no instances.
      if (body === null || body === undefined) return;
      for (const [service, group] of nodeInstancesOf(body, '/v1/catalog/node/<node>').groups) for (const key of group.keys) services.add(service, key, group.maxIndex);
    },
    finish: () => ({ index: lowest ?? 0n, services: services.seen() }),
  };
}

/** One service's instances on one node. */
export interface NodeGroup extends Group {
  /** Their IDs as the answer listed them: with maxIndex, what tells that nothing of them changed. */
  readonly ids: string;
}

/** One node's instances as the instance signal counts them. */
export interface NodeInstances {
  /**
   * By service: its instances on the node. A service whose instances the
   * answer before listed the same (IDs and highest ModifyIndex, which every write
   * raises) keeps that answer's object, so that a registration costs one
   * new group, not one per service on the node.
   */
  readonly groups: ReadonlyMap<string, Readonly<NodeGroup>>;
  /**
   * By service: its instances on the node written after `after` (the highest
   * ModifyIndex of its instances on the node in the answer before: every
   * instance at or below it was in that answer as it is now). Only services
   * with such an instance, and none for a node's first answer.
   */
  readonly written: ReadonlyMap<string, WrittenOnNode>;
}

export interface WrittenOnNode {
  readonly after: bigint;
  readonly instances: readonly WrittenInstance[];
}

interface Tally {
  ids: string;
  maxIndex: bigint;
  readonly instances: Array<Record<string, unknown> & { readonly ID: string }>;
}

/**
 * Pure: one node's instances out of GET /v1/catalog/node/<node> (services keyed
 * by id) or GET /v1/catalog/node-services/<node> (a list); null, a node gone, has none.
 * With `before` (the node's groups before this answer) the instances written since are kept.
 */
export function nodeInstancesOf(body: unknown, path: string, before?: ReadonlyMap<string, Readonly<NodeGroup>>): NodeInstances {
  const groups = new Map<string, Readonly<NodeGroup>>();
  const written = new Map<string, WrittenOnNode>();
  if (body === null || body === undefined) return { groups, written };
  if (!isRecord(body) || !isRecord(body.Node) || typeof body.Node.Node !== 'string') throw shapeError(path, 'a node with its services');
  const node = body.Node.Node;
  const address = str(body.Node.Address);
  const services = Array.isArray(body.Services) ? body.Services : Object.values(isRecord(body.Services) ? body.Services : {});
  const tallies = new Map<string, Tally>();
  for (const instance of services) {
    if (!isRecord(instance) || typeof instance.ID !== 'string' || typeof instance.Service !== 'string') continue;
    const modified = consulIndex(instance.ModifyIndex);
    const tally = tallies.get(instance.Service);
    const listed = instance as Tally['instances'][number];
    if (!tally) tallies.set(instance.Service, { ids: instance.ID, maxIndex: modified, instances: [listed] });
    else {
      tally.ids += `\n${instance.ID}`;
      if (modified > tally.maxIndex) tally.maxIndex = modified;
      tally.instances.push(listed);
    }
  }
  for (const [service, { ids, maxIndex, instances }] of tallies) {
    const old = before?.get(service);
    if (old && sameGroup(old, ids, maxIndex)) {
      groups.set(service, old);
      continue;
    }
    groups.set(service, { keys: instances.map((instance) => pairKey(node, instance.ID)), maxIndex, ids });
    if (!before) continue;
    const after = old?.maxIndex ?? 0n;
    const kept: WrittenInstance[] = [];
    for (const instance of instances) {
      const modifyIndex = consulIndex(instance.ModifyIndex);
      if (modifyIndex > after) kept.push({ service, key: pairKey(node, instance.ID), node, modifyIndex, item: { Node: { Node: node, Address: address }, Service: instance } });
    }
    if (kept.length > 0) written.set(service, { after, instances: kept });
  }
  return { groups, written };
}

function sameGroup(group: Readonly<NodeGroup>, ids: string, maxIndex: bigint): boolean {
  return group.maxIndex === maxIndex && group.ids === ids;
}

/** The instance signal kept up to date one node at a time (the node views). */
export interface InstanceTotals {
  /** Replaces one node's instances (undefined: the node is gone); returns the services whose summary changed. */
  set(node: string, instances: NodeInstances | undefined): ReadonlySet<string>;
  /** The node's summary by service as its last answer gave it: what its next answer is to be compared with. */
  before(node: string): ReadonlyMap<string, Readonly<NodeGroup>> | undefined;
  signal(index: bigint): InstanceSignal;
}

interface NodeState {
  readonly groups: ReadonlyMap<string, Readonly<NodeGroup>>;
  readonly written: ReadonlyMap<string, WrittenOnNode>;
}

/**
 * Pure: what a scan of every node's latest answer gives (createInstanceScan),
 * but a node's new answer costs a pass over that node's instances and a new
 * summary for only the services whose instances on it changed (one, for a
 * registration), instead of summing up every node again.
 */
export function createInstanceTotals(): InstanceTotals {
  const byNode = new Map<string, NodeState>();
  const seen = new Map<string, Seen>();
  return {
    set(node, instances) {
      const before = byNode.get(node)?.groups ?? new Map<string, Readonly<NodeGroup>>();
      const after = instances?.groups ?? new Map<string, Readonly<NodeGroup>>();
      const changed = new Set<string>();
      for (const [service, group] of after) {
        const old = before.get(service);
        if (old !== group && !(old && sameGroup(old, group.ids, group.maxIndex))) changed.add(service);
      }
      for (const service of before.keys()) if (!after.has(service)) changed.add(service);
      if (instances) byNode.set(node, { groups: after, written: keptWritten(instances.written, byNode.get(node)?.groups) });
      else byNode.delete(node);
      for (const service of changed) {
        const keys: string[] = [];
        let maxIndex: bigint | undefined;
        for (const state of byNode.values()) {
          const entry = state.groups.get(service);
          if (!entry) continue;
          keys.push(...entry.keys);
          if (maxIndex === undefined || entry.maxIndex > maxIndex) maxIndex = entry.maxIndex;
        }
        if (maxIndex === undefined) seen.delete(service);
        else seen.set(service, { keys: joinSorted(keys), maxIndex });
      }
      return changed;
    },
    before: (node) => byNode.get(node)?.groups,
    signal(index) {
      // The nodes as they are now: a later answer must not change what this signal says was written.
      const nodes = [...byNode.values()];
      return { index, services: new Map(seen), written: (service, after) => writtenAfter(nodes, service, after) };
    },
  };
}

/** What an answer kept of its written instances, if it was read against the summary the node has (not one a stop and a restart of its view replaced). */
function keptWritten(written: ReadonlyMap<string, WrittenOnNode>, before: ReadonlyMap<string, Readonly<NodeGroup>> | undefined): ReadonlyMap<string, WrittenOnNode> {
  const kept = new Map<string, WrittenOnNode>();
  if (!before) return kept;
  for (const [service, entry] of written) if (entry.after === (before.get(service)?.maxIndex ?? 0n)) kept.set(service, entry);
  return kept;
}

/** Every instance of `service` written after `after`, when each node holding one kept it. */
function writtenAfter(nodes: readonly NodeState[], service: string, after: bigint): readonly WrittenInstance[] | undefined {
  const out: WrittenInstance[] = [];
  for (const state of nodes) {
    const group = state.groups.get(service);
    if (!group || group.maxIndex <= after) continue;
    const kept = state.written.get(service);
    // Kept are the ones above kept.after; one between `after` and it would be missing.
    if (!kept || kept.after > after) return undefined;
    for (const instance of kept.instances) if (instance.modifyIndex > after) out.push(instance);
  }
  return out;
}

/**
 * Pure: which services changed, judged from two cluster-wide reads instead of
 * one blocking query per service (CONSUL-SCALE.md).
 *
 * - The check signal is GET /v1/health/state/critical and /warning
 *   (check-views.ts): every check that is not passing, with its node,
 *   service, status and ModifyIndex. A check turning critical or warning joins
 *   an answer, one turning passing leaves it; either way the service's set of
 *   unhealthy checks changes.
 * - The instance signal is every node's instances with their ModifyIndex: one
 *   blocking GET /v1/catalog/node-services/<node> per node while the nodes fit
 *   (node-views.ts), else a scan of GET /v1/catalog/node/<node> each time
 *   /v1/catalog/services wakes (node-scan.ts). Either wakes on any registration
 *   (a new instance, a removed one, a re-registration with another port or
 *   meta) but not on check writes.
 *
 * A service's own read (GET /v1/health/service/<name>) returns its per-service
 * index, which Consul raises on every write to the service's instances, their
 * checks and the checks of their nodes. So the service is behind a signal when
 * the signal saw a write above that index, or saw another set of instances or
 * of unhealthy checks (a deregistration or a recovery leaves no ModifyIndex behind).
 */
import { compareStrings } from '../compare.ts';
import { isRecord, shapeError, str } from './normalize.ts';

/** What one signal saw of one service (or, for node checks, of one node). */
export interface Seen {
  /** Sorted, JSON-encoded [node, id] pairs, joined: cheap to compare. */
  readonly keys: string;
  readonly maxIndex: bigint;
}

export interface CheckSignal {
  /** X-Consul-Index of the answer (the checks table). */
  readonly index: bigint;
  /** Service checks not passing, by service name. */
  readonly services: ReadonlyMap<string, Seen>;
  /** Node checks (no service) not passing, by node name. */
  readonly nodes: ReadonlyMap<string, Seen>;
}

export interface InstanceSignal {
  /** Lowest X-Consul-Index among the node reads of the scan. */
  readonly index: bigint;
  /** Instances by service name. */
  readonly services: ReadonlyMap<string, Seen>;
  /**
   * The instances of a service written after `after`, as their nodes' answers
   * gave them (node-instances.ts); undefined when one of them was not kept.
   * Only node views keep them: a scan has none.
   */
  readonly written?: (service: string, after: bigint) => readonly WrittenInstance[] | undefined;
}

/** One instance as a node's answer gave it, kept because it was written since that node's answer before. */
export interface WrittenInstance {
  readonly service: string;
  /** pairKey(node, id). */
  readonly key: string;
  readonly node: string;
  readonly modifyIndex: bigint;
  /** In the shape of one item of GET /v1/health/service/<name>, without its checks. */
  readonly item: { readonly Node: { readonly Node: string; readonly Address: string }; readonly Service: unknown };
}

/** What the last good read of one service saw, in the same terms. */
export interface FetchedService {
  readonly index: bigint;
  readonly instanceKeys: string;
  /** Its checks (and its nodes' checks) that are not passing, with their status. */
  readonly checkKeys: string;
  /** Nodes of its instances, sorted: their node checks count as the service's. */
  readonly nodes: readonly string[];
}

/** Pure: checks not passing (GET /v1/health/state/critical or /warning) into per-service and per-node summaries. */
export function checkSignalOf(body: unknown, index: string, path = '/v1/health/state/<state>'): CheckSignal {
  if (!Array.isArray(body)) throw shapeError(path, 'a list of checks');
  const services = new Collector();
  const nodes = new Collector();
  for (const check of body) {
    if (!isRecord(check) || typeof check.Node !== 'string' || typeof check.CheckID !== 'string') continue;
    // Asked for by state; a check that passes anyway is not one the signal is about.
    if (check.Status === 'passing') continue;
    const key = checkKey(check.Node, check.CheckID, check.Status);
    const modified = consulIndex(check.ModifyIndex);
    const service = typeof check.ServiceName === 'string' ? check.ServiceName : '';
    if (service) services.add(service, key, modified);
    else if (!str(check.ServiceID)) nodes.add(check.Node, key, modified);
  }
  return { index: consulIndex(index), services: services.seen(), nodes: nodes.seen() };
}

/** Pure: node names out of GET /v1/catalog/nodes, sorted. */
export function nodeNamesOf(body: unknown): readonly string[] {
  if (!Array.isArray(body)) throw shapeError('/v1/catalog/nodes', 'a list of nodes');
  const names = body.filter(isRecord).map((node) => node.Node).filter((name): name is string => typeof name === 'string');
  return [...new Set(names)].sort(compareStrings);
}

/** Pure: the instance and check sets of one GET /v1/health/service/<name> answer (already shape-checked by normalizeInstances). */
export function fetchedServiceOf(body: unknown, index: string): FetchedService {
  const instances: string[] = [];
  const checks = new Set<string>();
  const nodes = new Set<string>();
  for (const item of Array.isArray(body) ? body : []) {
    if (!isRecord(item) || !isRecord(item.Node) || !isRecord(item.Service)) continue;
    const node = str(item.Node.Node);
    nodes.add(node);
    instances.push(pairKey(node, str(item.Service.ID)));
    for (const check of Array.isArray(item.Checks) ? item.Checks : []) {
      if (isRecord(check) && check.Status !== 'passing') checks.add(checkKey(str(check.Node) || node, str(check.CheckID), check.Status));
    }
  }
  return {
    index: consulIndex(index),
    instanceKeys: joinSorted(instances),
    checkKeys: joinSorted([...checks]),
    nodes: [...nodes].sort(compareStrings),
  };
}

/**
 * Pure: does a signal show a write to `service` that its last good read did not?
 * A signal older than the read (its index below the read's) cannot tell.
 */
export function isBehind(service: string, fetched: FetchedService, checks?: CheckSignal, instances?: InstanceSignal): boolean {
  if (checks && checks.index >= fetched.index) {
    const seen = expectedChecks(service, fetched.nodes, checks);
    if (seen.maxIndex > fetched.index || seen.keys !== fetched.checkKeys) return true;
  }
  if (instances && instances.index >= fetched.index) {
    const seen = instances.services.get(service) ?? NONE;
    if (seen.maxIndex > fetched.index || seen.keys !== fetched.instanceKeys) return true;
  }
  return false;
}

/** What a signal that does not list a name saw of it. */
export const NONE: Seen = Object.freeze({ keys: '', maxIndex: 0n });

/** The unhealthy checks a health read of `service` returns: its own, plus the node checks of the nodes it runs on. */
function expectedChecks(service: string, nodes: readonly string[], checks: CheckSignal): Seen {
  const own = checks.services.get(service) ?? NONE;
  if (nodes.length === 0) return own;
  let maxIndex = own.maxIndex;
  const keys = own.keys ? own.keys.split('\n') : [];
  for (const node of nodes) {
    const seen = checks.nodes.get(node);
    if (!seen) continue;
    if (seen.keys) keys.push(...seen.keys.split('\n'));
    if (seen.maxIndex > maxIndex) maxIndex = seen.maxIndex;
  }
  return { keys: joinSorted(keys), maxIndex };
}

/** One name's keys as collected, unsorted, and the highest index among them. */
export interface Group {
  keys: string[];
  maxIndex: bigint;
}

export class Collector {
  private readonly byName = new Map<string, Group>();

  add(name: string, key: string, modified: bigint): void {
    const entry = this.byName.get(name);
    if (!entry) this.byName.set(name, { keys: [key], maxIndex: modified });
    else {
      entry.keys.push(key);
      if (modified > entry.maxIndex) entry.maxIndex = modified;
    }
  }

  seen(): Map<string, Seen> {
    const out = new Map<string, Seen>();
    for (const [name, entry] of this.byName) out.set(name, { keys: joinSorted(entry.keys), maxIndex: entry.maxIndex });
    return out;
  }
}

// JSON keeps any character of an untrusted name from blurring two pairs into one.
export function pairKey(node: string, id: string): string {
  return JSON.stringify([node, id]);
}

function checkKey(node: string, id: string, status: unknown): string {
  return JSON.stringify([node, id, str(status)]);
}

export function joinSorted(keys: readonly string[]): string {
  return [...new Set(keys)].sort(compareStrings).join('\n');
}

/** An X-Consul-Index or ModifyIndex as a number to compare; 0 when it is not one. */
export function consulIndex(value: unknown): bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === 'string' && /^\d+$/.test(value)) return BigInt(value);
  return 0n;
}

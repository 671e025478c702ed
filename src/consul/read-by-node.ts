/**
 * The first read of every service, node by node: GET /v1/catalog/node/<node>
 * (its instances) and GET /v1/health/node/<node> (its checks) give, per
 * node, what GET /v1/health/service/<name> gives per service. At 5,000
 * services on 10 nodes that is 21 requests instead of 5,000 (measured: the
 * per-service first sync took 15 s through 13 connections on this machine,
 * bound by the agent answering one small request after another).
 *
 * Used when the catalog has many services on few nodes (the usual shape: a
 * few hosts or a few agents running many services); with as many nodes as
 * services, reading per service is cheaper and the watcher does that.
 *
 * The answers are regrouped into the shape of health/service answers and go
 * through the same normalizer, so a service reads the same either way. Its
 * index is the lowest X-Consul-Index of the node reads (each is the index of
 * the tables it read, at least that of every write it saw): a write after the
 * first of them has a higher index, shows in a change signal as newer, and
 * the service is read again on its own.
 */
import { consulIndex, nodeNamesOf, fetchedServiceOf, type FetchedService } from './change-signals.ts';
import { isRecord, normalizeInstances } from './normalize.ts';
import type { ReadPool } from './read-pool.ts';
import type { ServiceReads } from './service-reads.ts';
import type { InstanceEntry } from './snapshot.ts';
import type { WatcherLogger } from './watcher-types.ts';
import { errorMessage } from '../errors.ts';

/** Reading by node needs at least this many services to be worth it. */
export const BY_NODE_MIN_SERVICES = 100;
/** Node reads of the first sync in flight at once: each answer is megabytes at thousands of services. */
const NODES_AT_ONCE = 2;

export interface ServiceRead {
  readonly instances: readonly InstanceEntry[];
  readonly fetched: FetchedService;
}

/** Whether `services` on `nodes` read faster by node (two requests each) than by service. */
export function readsByNode(services: number, nodes: number): boolean {
  return services >= BY_NODE_MIN_SERVICES && nodes * 2 < services;
}

/**
 * Every wanted service found on some node, read by node; undefined when the
 * catalog is not of the shape where that pays. A failed request throws: the
 * caller reads every service on its own instead.
 */
export async function readServicesByNode(pool: ReadPool, wanted: ReadonlySet<string>): Promise<ReadonlyMap<string, ServiceRead> | undefined> {
  const { client, limit, signal } = pool;
  const read = { index: '0', signal, timeout: pool.timeoutMs } as const;
  const listed = await limit(() => client.catalogNodes(read));
  const nodes = nodeNamesOf(listed.body);
  if (!readsByNode(wanted.size, nodes.length)) return undefined;
  // Not the node list's index: it is the nodes table's alone, far below the services' own
  // indexes, and would make every service look older than the first change signal.
  const group = createNodeGrouping(wanted);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < nodes.length && !signal.aborted) {
      const node = nodes[next++] as string;
      const [instances, checks] = await Promise.all([limit(() => client.catalogNode(node, read)), limit(() => client.healthNode(node, read))]);
      group.add(instances.body, checks.body);
      group.index(instances.index);
      group.index(checks.index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(NODES_AT_ONCE, nodes.length) }, worker));
  return group.finish();
}

/** Seeds every service found on the nodes into `reads`; the others (and all, when this fails) are read one by one. */
export function seedFirstSync(pool: ReadPool, reads: Pick<ServiceReads, 'seed' | 'refresh'>, names: readonly string[], logger: WatcherLogger): void {
  const started = pool.effects.now();
  readServicesByNode(pool, new Set(names)).then(
    (found) => {
      if (found) logger.info({ services: found.size, ms: pool.effects.now() - started }, 'consul: first sync read by node');
      for (const name of names) {
        const read = found?.get(name);
        if (read) reads.seed(name, read);
        else reads.refresh(name);
      }
    },
    (err: unknown) => {
      if (pool.signal.aborted) return;
      logger.warn({ err: errorMessage(err) }, 'consul: reading the first sync by node failed; reading each service');
      for (const name of names) reads.refresh(name);
    },
  );
}

/** Pure: node answers regrouped into per-service health answers, normalized. */
export function createNodeGrouping(wanted: ReadonlySet<string>): {
  add(nodeBody: unknown, checksBody: unknown): void;
  index(value: string): void;
  finish(): ReadonlyMap<string, ServiceRead>;
} {
  const items = new Map<string, unknown[]>();
  let lowest: bigint | undefined;
  return {
    add(nodeBody, checksBody) {
      // A node deregistered between the list and its read answers null: no instances.
      if (!isRecord(nodeBody) || !isRecord(nodeBody.Node) || !isRecord(nodeBody.Services)) return;
      const node = nodeBody.Node;
      const nodeChecks: Record<string, unknown>[] = [];
      const byInstance = new Map<string, Record<string, unknown>[]>();
      for (const check of Array.isArray(checksBody) ? checksBody.filter(isRecord) : []) {
        if (typeof check.ServiceID !== 'string' || check.ServiceID === '') nodeChecks.push(check);
        else byInstance.set(check.ServiceID, [...(byInstance.get(check.ServiceID) ?? []), check]);
      }
      for (const service of Object.values(nodeBody.Services)) {
        if (!isRecord(service) || typeof service.Service !== 'string' || !wanted.has(service.Service)) continue;
        // What health/service gives an instance: its node, itself, the node's checks and its own.
        const own = typeof service.ID === 'string' ? (byInstance.get(service.ID) ?? []) : [];
        const list = items.get(service.Service) ?? [];
        list.push({ Node: node, Service: service, Checks: [...nodeChecks, ...own] });
        items.set(service.Service, list);
      }
    },
    index(value) {
      const at = consulIndex(value);
      lowest = lowest === undefined || at < lowest ? at : lowest;
    },
    finish() {
      const index = String(lowest ?? 0n);
      const out = new Map<string, ServiceRead>();
      for (const [name, list] of items) out.set(name, { instances: normalizeInstances(list, name), fetched: fetchedServiceOf(list, index) });
      return out;
    },
  };
}

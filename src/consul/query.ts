/**
 * One abstraction per Consul query (consul-template's dependency): a key that
 * includes every argument, so the watcher can key its views by it, and a
 * fetch that returns normalized, sorted, frozen data plus the Consul index.
 */
import { checkSignalOf, nodeNamesOf, type CheckSignal } from './change-signals.ts';
import { nodeInstancesOf, type NodeGroup, type NodeInstances } from './node-instances.ts';
import type { ConsulClient, ReadResult } from './client.ts';
import { normalizeInstances, normalizeKv, normalizeServiceNames } from './normalize.ts';
import type { InstanceEntry, KvEntry } from './snapshot.ts';

export interface FetchOptions {
  /** "0" for an immediate answer; otherwise block until Consul's index passes it. */
  readonly index: string;
  /** Longest Consul may hold the request, in ms. */
  readonly wait: number;
  readonly signal?: AbortSignal;
  /** Give up on the request after this many ms. */
  readonly timeout?: number;
}

export interface QueryResult<T> {
  readonly data: T;
  readonly index: string;
}

export interface Query<T> {
  readonly key: string;
  fetch(client: ConsulClient, options: FetchOptions): Promise<QueryResult<T>>;
}

/** Names of every node, blocking on nodes coming and going (not on their services): while node views follow them all. */
export function catalogNodesQuery(): Query<readonly string[]> {
  return {
    key: 'catalog.nodes',
    fetch: async (client, options) => convert(await client.catalogNodes(options), nodeNamesOf),
  };
}

/** Names of every service in the catalog (tags are read per instance from health). */
export function catalogServicesQuery(): Query<readonly string[]> {
  return {
    key: 'catalog.services',
    fetch: async (client, options) => convert(await client.catalogServices(options), normalizeServiceNames),
  };
}

/** Every instance of one service, passing or not, with the worst status of its node and service checks. */
export function healthServiceQuery(service: string): Query<readonly InstanceEntry[]> {
  return {
    key: `health.service(${JSON.stringify(service)})`,
    fetch: async (client, options) =>
      convert(await client.healthService(service, options), (body) => normalizeInstances(body, service)),
  };
}

/** The checks in one state, summed up per service and per node: half of the watcher's health change signal (check-views.ts). */
export function checksInStateQuery(state: 'critical' | 'warning'): Query<CheckSignal> {
  return {
    key: `health.state(${state})`,
    fetch: async (client, options) => {
      const result = await client.healthState(state, options);
      return { data: checkSignalOf(result.body, result.index, `/v1/health/state/${state}`), index: result.index };
    },
  };
}

/** One node's instances, blocking on that node's registrations alone: the watcher's node views (node-views.ts). */
export function nodeInstancesQuery(node: string, before: () => ReadonlyMap<string, Readonly<NodeGroup>> | undefined): Query<NodeInstances> {
  return {
    key: `catalog.node-services(${JSON.stringify(node)})`,
    fetch: async (client, options) =>
      convert(await client.catalogNodeServices(node, options), (body) => nodeInstancesOf(body, `/v1/catalog/node-services/${node}`, before())),
  };
}

/** Every key under the prefix, values as UTF-8 strings, sorted by key. */
export function kvPrefixQuery(prefix: string): Query<readonly KvEntry[]> {
  return {
    key: `kv.recurse(${JSON.stringify(prefix)})`,
    fetch: async (client, options) => convert(await client.kvRecurse(prefix, options), (body) => normalizeKv(body, prefix)),
  };
}

function convert<T>(result: ReadResult, normalize: (body: unknown) => T): QueryResult<T> {
  return { data: normalize(result.body), index: result.index };
}

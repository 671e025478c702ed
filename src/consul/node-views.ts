/**
 * The instance signal from one blocking query per node on
 * /v1/catalog/node-services/<node>: a registration wakes only its node's
 * query (measured on Consul 1.8.7), so a change reads one node instead of a
 * scan of all of them (node-scan.ts), which at 5,000 services on 10 nodes is
 * 10 answers of 2 MB and about a second of the agent's time per registration.
 *
 * Over HTTP/1.1 each view holds a connection for good, so views run only while
 * the nodes fit beside the other long-held queries and MIN_READS pooled reads
 * within consul.maxConnections; otherwise the watcher scans. The pool shrinks
 * by one read per view while they run. Over HTTP/2 (an agent reached over
 * HTTPS, http2-reads.ts) a view is a stream: 250 share a connection.
 *
 * A node-services answer's X-Consul-Index is the whole catalog's, not the
 * node's. A view that is blocked has seen every write to its node (its query
 * would have returned otherwise), so the signal is dated by the newest answer
 * of any view; while a view fails (and is not blocked), no later than its last
 * answer. A view's data counts once every view has answered.
 */
import type { LimitFunction } from 'p-limit';
import { compareStrings } from '../compare.ts';
import { consulIndex, type InstanceSignal } from './change-signals.ts';
import { createInstanceTotals, type NodeInstances } from './node-instances.ts';
import type { ConsulError } from '../errors.ts';
import { nodeInstancesQuery } from './query.ts';
import type { Slot, SlotHooks } from './signal-slot.ts';
import type { Query } from './query.ts';

/**
 * Pooled reads kept beside the views: a change reads the few services it
 * touched, and the first sync of a large catalog reads two nodes at a time.
 */
export const MIN_READS = 2;

/**
 * How long a node view's query is held: at least 5 minutes (Consul allows 10). A query that
 * ends without a change brings the node's whole list again, with nothing new in it: at 5,000
 * instances on a node 2.6 MB and 50-80 ms of the agent's time. Consul 1.8 dates that answer
 * with the index from before it blocked, so the next query answers at once with the list
 * again when anything else was written meanwhile (measured: 20 answers of 10 views, 53 MB,
 * each consul.wait of 55 s, per gateway).
 */
export const NODE_VIEW_MIN_WAIT_MS = 5 * 60_000;

export function nodeViewWait(wait: number): number {
  return Math.max(wait, NODE_VIEW_MIN_WAIT_MS);
}

/** Pure: the consul.maxConnections that gives each of `nodes` nodes a view beside `longHeld` other blocking queries. */
export function connectionsForViews(nodes: number, longHeld: number): number {
  return nodes + longHeld + MIN_READS;
}

/**
 * Pure: whether views for `nodes` nodes fit in `maxConnections` beside `longHeld` other blocking
 * queries: a connection each over HTTP/1.1; over HTTP/2 (`streams` per connection) a stream each,
 * beside the pool's reads, which then keep their number.
 */
export function nodeViewsFit(nodes: number, maxConnections: number, longHeld: number, streams?: number): boolean {
  if (nodes < 1) return false;
  return streams ? nodes + maxConnections <= streams * maxConnections : connectionsForViews(nodes, longHeld) <= maxConnections;
}

/** Pure: what the log says when the nodes do not fit, and the consul.maxConnections that would follow them all. */
export function notFollowedMessage(nodes: number, maxConnections: number, longHeld: number): string {
  const needed = connectionsForViews(nodes, longHeld);
  return (
    `consul: the catalog has ${nodes} nodes, more than node views can follow within consul.maxConnections ${maxConnections} ` +
    `(${Math.max(0, maxConnections - connectionsForViews(0, longHeld))} nodes), so every node is read again after each registration: ` +
    `1-2 s per registration at 5,000 services on 100 nodes, against 40-60 ms with a view per node (README, Consul at scale). ` +
    `Set consul.maxConnections to ${needed} where this host's connection budget allows it (the agent's ` +
    `limits.http_max_conns_per_client, 200 by default, is shared by every process on the host), or read the agent's ` +
    `HTTPS port (consul.address https://), where node views share HTTP/2 connections`
  );
}

export interface NodeViewsOptions {
  readonly maxConnections: number;
  readonly longHeld: number;
  /** Streams per connection when the client reads over HTTP/2 (client.ts), else undefined. */
  readonly streamsPerConnection: () => number | undefined;
  /** The watcher's read pool: its concurrency shrinks by one per view. */
  readonly limit: LimitFunction;
  start<T>(query: Query<T>, hooks: SlotHooks<T>): Slot<T>;
  /** The catalog's node names (GET /v1/catalog/nodes). */
  listNodes(): Promise<readonly string[]>;
  /**
   * Resolves once every service has been read once. Views start only then: their first answers
   * are every node's whole list at once (2.6 MB each at 5,000 services on a node), which on top
   * of the first sync's own reads made the process's memory peak (measured: 300-311 MB at 5,000).
   */
  readonly synced: Promise<void>;
  /** Scans every node once (node-scan.ts): the way when the views do not fit. */
  scan(): void;
  /** The nodes do not fit in views: called with their number whenever it changes while they do not. */
  onNotFollowed(nodes: number): void;
  /**
   * A new signal, with the services whose instances changed since the last one
   * (undefined: every service may have changed, e.g. at the first signal of a set of views).
   */
  onSignal(signal: InstanceSignal, changed: ReadonlySet<string> | undefined): void;
  /**
   * The names of the services on the followed nodes, sorted, after a signal that
   * may have changed them (a service's first instance or last one): while every
   * node is followed, the catalog's service list without asking for it.
   */
  onNames(names: readonly string[]): void;
  onSuccess(key: string, failures: number): void;
  onError(key: string, error: ConsulError, attempt: number): void;
}

export interface NodeViews {
  /**
   * After a registration somewhere (a new catalog/services index): follows the
   * catalog's nodes with views when they fit, else scans them all (not after
   * the first index: every service is read then anyway).
   */
  refresh(first: boolean): Promise<void>;
  /** Follows exactly these nodes; false (and no view left) when they do not fit. */
  follow(nodes: readonly string[]): boolean;
  readonly slots: () => ReadonlyArray<Slot<NodeInstances>>;
  /** How registrations are followed now, for `ipx status`; undefined before the nodes were first listed. */
  readonly following: () => Following | undefined;
}

/** Registrations followed by a view per node, or by scans of every node (with the consul.maxConnections that would give each a view). */
export type Following =
  | { readonly by: 'node views'; readonly nodes: number; /** The views are HTTP/2 streams (an agent reached over HTTPS). */ readonly http2?: true }
  | { readonly by: 'scans'; readonly nodes: number; readonly maxConnectionsForViews: number };

interface View {
  readonly slot: Slot<NodeInstances>;
  data: NodeInstances | undefined;
  lastIndex: bigint;
}

export function createNodeViews(options: NodeViewsOptions): NodeViews {
  const pooled = options.limit.concurrency;
  const views = new Map<string, View>();
  const totals = createInstanceTotals();
  let changed: Set<string> | undefined;
  let newest = 0n;
  let publishing = false;
  let present: ReadonlySet<string> | undefined;
  let notFollowed: number | undefined;

  // A success and the data it brought arrive one after the other in one turn: one signal for both.
  function schedulePublish(): void {
    if (publishing) return;
    publishing = true;
    queueMicrotask(() => {
      publishing = false;
      publish();
    });
  }

  function publish(): void {
    const all = [...views.values()];
    if (all.length === 0 || all.some((view) => view.data === undefined)) return;
    let index = newest;
    for (const view of all) if (view.slot.failures > 0 && view.lastIndex < index) index = view.lastIndex;
    const since = changed;
    changed = new Set();
    const signal = totals.signal(index);
    options.onSignal(signal, since);
    // Only a service's first instance or its last one changes the names: not worth a sort of thousands per change.
    const known = present;
    if (known && since && [...since].every((service) => signal.services.has(service) === known.has(service))) return;
    present = new Set(signal.services.keys());
    options.onNames([...present].sort(compareStrings));
  }

  function note(services: ReadonlySet<string>): void {
    if (changed) for (const service of services) changed.add(service);
  }

  function startView(node: string): View {
    const query = nodeInstancesQuery(node, () => totals.before(node));
    const view: View = {
      data: undefined,
      lastIndex: 0n,
      slot: options.start(query, {
        onData: (data) => {
          view.data = data;
          note(totals.set(node, data));
          schedulePublish();
        },
        onSuccess: (index, failures) => {
          options.onSuccess(query.key, failures);
          const at = consulIndex(index);
          view.lastIndex = at;
          if (at > newest) newest = at;
          schedulePublish();
        },
        onError: (error, attempt) => options.onError(query.key, error, attempt),
      }),
    };
    return view;
  }

  function follow(nodes: readonly string[]): boolean {
    const streams = options.streamsPerConnection();
    const fits = nodeViewsFit(nodes.length, options.maxConnections, options.longHeld, streams);
    const wanted = new Set(fits ? nodes : []);
    const ended: Array<Promise<void>> = [];
    for (const [node, view] of views) {
      if (wanted.has(node)) continue;
      view.slot.stop();
      ended.push(view.slot.done);
      views.delete(node);
      note(totals.set(node, undefined));
    }
    // Views starting from none: the signal before them was a scan's, so the first of theirs may differ anywhere.
    if (views.size === 0) {
      changed = undefined;
      present = undefined;
    }
    for (const node of wanted) if (!views.has(node)) views.set(node, startView(node));
    // The pool shrinks at once; it grows once the views stopped have closed their connections,
    // so that the agent never sees one more than consul.maxConnections.
    // Over HTTP/2 a view is a stream, not one of the pool's connections.
    const held = streams ? 0 : views.size;
    const resize = (): void => void (options.limit.concurrency = Math.max(1, pooled - held));
    if (pooled - held <= options.limit.concurrency || ended.length === 0) resize();
    else void Promise.all(ended).then(resize);
    // A node gone changes what the others add up to.
    if (views.size > 0) schedulePublish();
    return fits;
  }

  return {
    async refresh(first) {
      await options.synced;
      // A failed listing scans instead: the scan reports its own failures and retries.
      const nodes = await options.listNodes().catch(() => undefined);
      if (nodes && follow(nodes)) {
        notFollowed = undefined;
        return;
      }
      if (nodes && nodes.length !== notFollowed) options.onNotFollowed((notFollowed = nodes.length));
      if (!first) options.scan();
    },
    follow,
    slots: () => [...views.values()].map((view) => view.slot),
    following: () =>
      notFollowed !== undefined
        ? { by: 'scans', nodes: notFollowed, maxConnectionsForViews: connectionsForViews(notFollowed, options.longHeld) }
        : views.size > 0
          ? { by: 'node views', nodes: views.size, ...(options.streamsPerConnection() ? { http2: true as const } : {}) }
          : undefined,
  };
}

import pLimit from 'p-limit';
import { describe, expect, it } from 'vitest';
import type { InstanceSignal } from '../../src/consul/change-signals.ts';
import type { NodeGroup, NodeInstances } from '../../src/consul/node-instances.ts';
import { createNodeViews, nodeViewsFit, notFollowedMessage } from '../../src/consul/node-views.ts';
import type { Slot, SlotHooks } from '../../src/consul/signal-slot.ts';

/** Views whose answers the test gives by hand. */
function harness(nodes: string[], synced: Promise<void> = Promise.resolve(), streams?: number) {
  const hooks = new Map<string, SlotHooks<NodeInstances>>();
  const slots = new Map<string, Slot<NodeInstances> & { failures: number; stopped: boolean }>();
  const signals: InstanceSignal[] = [];
  const changes: Array<string[] | undefined> = [];
  const names: Array<readonly string[]> = [];
  const limit = pLimit(13);
  let scans = 0;
  const notFollowed: number[] = [];
  const views = createNodeViews({
    maxConnections: 16,
    longHeld: 3,
    limit,
    streamsPerConnection: () => streams,
    start: <T>(query: { key: string }, given: SlotHooks<T>) => {
      const slot = { key: query.key, done: Promise.resolve(), data: undefined, failures: 0, failingSince: undefined, stopped: false, stop: () => void (slot.stopped = true), retire: async () => void (slot.stopped = true) };
      hooks.set(query.key, given as unknown as SlotHooks<NodeInstances>);
      slots.set(query.key, slot);
      return slot as unknown as Slot<T>;
    },
    listNodes: async () => nodes,
    synced,
    scan: () => void scans++,
    onNotFollowed: (count) => void notFollowed.push(count),
    onSignal: (signal, changed) => {
      signals.push(signal);
      changes.push(changed && [...changed]);
    },
    onNames: (list) => void names.push(list),
    onSuccess: () => {},
    onError: () => {},
  });
  const key = (node: string) => `catalog.node-services(${JSON.stringify(node)})`;
  return {
    views,
    limit,
    signals,
    changes,
    names,
    slots,
    scans: () => scans,
    notFollowed,
    /** One answer of a node's view: a success at `index`, with new data when `ids` (`id`, or `service/id`; web's by default) are given. */
    async answer(node: string, index: number, ids?: string[]) {
      const view = hooks.get(key(node));
      if (!view) throw new Error(`no view of ${node}`);
      view.onSuccess(String(index), slots.get(key(node))!.failures);
      const entry = (id: string) => (id.includes('/') ? id.split('/') : ['web', id]) as [string, string];
      if (ids) {
        const groups = new Map<string, NodeGroup>();
        for (const [service, id] of ids.map(entry)) {
          const group = groups.get(service);
          const key = JSON.stringify([node, id]);
          groups.set(service, { keys: [...(group?.keys ?? []), key], maxIndex: BigInt(index), ids: group ? `${group.ids}\n${id}` : id });
        }
        view.onData({ groups, written: new Map() });
      }
      await Promise.resolve();
    },
    slotOf: (node: string) => slots.get(key(node))!,
  };
}

describe('node views', () => {
  it('fit while the nodes leave two pooled reads beside the other long-held queries', () => {
    expect(nodeViewsFit(11, 16, 3)).toBe(true);
    expect(nodeViewsFit(12, 16, 3)).toBe(false);
    expect(nodeViewsFit(10, 16, 4)).toBe(true);
    expect(nodeViewsFit(0, 16, 3)).toBe(false);
  });

  it('fit as streams over HTTP/2: 250 a connection, beside the long-held queries and the pool\'s reads', () => {
    expect(nodeViewsFit(100, 16, 3, 250)).toBe(true);
    expect(nodeViewsFit(250 * 16 - 16, 16, 3, 250)).toBe(true);
    expect(nodeViewsFit(250 * 16 - 15, 16, 3, 250)).toBe(false);
    expect(nodeViewsFit(3, 5, 4, 250)).toBe(true);
  });

  it('over HTTP/2, follow more nodes than connections and leave the pool its reads', async () => {
    const nodes = Array.from({ length: 40 }, (_, i) => `n${i}`);
    const t = harness(nodes, Promise.resolve(), 250);
    await t.views.refresh(false);
    expect(t.slots.size).toBe(40);
    expect(t.limit.concurrency).toBe(13);
    expect(t.scans()).toBe(0);
    expect(t.views.following()).toEqual({ by: 'node views', nodes: 40, http2: true });
  });

  it('start only once every service has been read, and then follow the nodes', async () => {
    let synced = (): void => {};
    const t = harness(['n1', 'n2'], new Promise<void>((resolve) => (synced = resolve)));
    const refreshed = t.views.refresh(true);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect([...t.slots.keys()]).toEqual([]);
    synced();
    await refreshed;
    expect([...t.slots.keys()]).toEqual(['catalog.node-services("n1")', 'catalog.node-services("n2")']);
  });

  it('follow each node with a view taken from the pool, and sign once every node has answered, dated by the newest answer', async () => {
    const t = harness(['n1', 'n2']);
    await t.views.refresh(false);
    expect([...t.slots.keys()]).toEqual(['catalog.node-services("n1")', 'catalog.node-services("n2")']);
    expect(t.limit.concurrency).toBe(11);
    expect(t.scans()).toBe(0);
    await t.answer('n1', 7, ['web-1']);
    expect(t.signals).toEqual([]);
    await t.answer('n2', 9, ['web-2']);
    expect(t.signals.at(-1)?.index).toBe(9n);
    expect(t.signals.at(-1)?.services.get('web')).toEqual({ keys: `${JSON.stringify(['n1', 'web-1'])}\n${JSON.stringify(['n2', 'web-2'])}`, maxIndex: 9n });
    // A blocked view has seen every write to its node: n1 unchanged, n2's new answer dates both.
    await t.answer('n2', 12, ['web-2', 'web-3']);
    expect(t.signals.at(-1)?.index).toBe(12n);
    // The first signal of the views may differ from what came before anywhere; the next names what changed.
    expect(t.changes).toEqual([undefined, ['web']]);
    await t.answer('n1', 13);
    expect(t.changes.at(-1)).toEqual([]);
  });

  it('list the services on the nodes once every node has answered, and again only when a service comes or goes', async () => {
    const t = harness(['n1', 'n2']);
    await t.views.refresh(false);
    await t.answer('n1', 3, ['web-1']);
    expect(t.names).toEqual([]);
    await t.answer('n2', 4, ['api/api-1', 'web-2']);
    expect(t.names).toEqual([['api', 'web']]);
    // Another instance of a service listed already: the same names, not listed again.
    await t.answer('n2', 5, ['api/api-1', 'web-2', 'web-3']);
    expect(t.names).toHaveLength(1);
    await t.answer('n1', 6, ['web-1', 'db/db-1']);
    expect(t.names.at(-1)).toEqual(['api', 'db', 'web']);
    // api's last instance leaves.
    await t.answer('n2', 7, ['web-2', 'web-3']);
    expect(t.names.at(-1)).toEqual(['db', 'web']);
    expect(t.names).toHaveLength(3);
  });

  it('date the signal no later than the last answer of a view that is failing', async () => {
    const t = harness(['n1', 'n2']);
    await t.views.refresh(false);
    await t.answer('n1', 5, []);
    await t.answer('n2', 6, []);
    t.slotOf('n1').failures = 2;
    await t.answer('n2', 20, ['web-9']);
    expect(t.signals.at(-1)?.index).toBe(5n);
  });

  it('stop the views and scan instead once the nodes do not fit; the first catalog answer does not scan', async () => {
    const nodes = ['n1', 'n2'];
    const t = harness(nodes);
    await t.views.refresh(true);
    nodes.push(...Array.from({ length: 10 }, (_, i) => `m${i}`));
    await t.views.refresh(true);
    expect(t.scans()).toBe(0);
    expect(t.slotOf('n1').stopped).toBe(true);
    expect(t.views.slots()).toEqual([]);
    // The pool grows back once the stopped views have ended (their connections closed).
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.limit.concurrency).toBe(13);
    await t.views.refresh(false);
    expect(t.scans()).toBe(1);
  });

  it('say once per node count that the nodes do not fit, and again when they fit no more after fitting', async () => {
    const nodes = Array.from({ length: 12 }, (_, i) => `m${i}`);
    const t = harness(nodes);
    await t.views.refresh(true);
    await t.views.refresh(false);
    expect(t.notFollowed).toEqual([12]);
    nodes.push('m12');
    await t.views.refresh(false);
    expect(t.notFollowed).toEqual([12, 13]);
    nodes.splice(2);
    await t.views.refresh(false);
    nodes.push('x', 'y', 'z', 'w', 'v', 'u', 'r', 's', 'q', 'p');
    await t.views.refresh(false);
    expect(t.notFollowed).toEqual([12, 13, 12]);
  });

  it('tell how registrations are followed: nothing before the nodes are listed, then views, or scans and what views would need', async () => {
    const nodes = ['n1', 'n2'];
    const t = harness(nodes);
    expect(t.views.following()).toBeUndefined();
    await t.views.refresh(false);
    expect(t.views.following()).toEqual({ by: 'node views', nodes: 2 });
    nodes.push(...Array.from({ length: 10 }, (_, i) => `m${i}`));
    await t.views.refresh(false);
    // 12 nodes, 3 other long-held queries, 2 pooled reads: 17 would give each node a view.
    expect(t.views.following()).toEqual({ by: 'scans', nodes: 12, maxConnectionsForViews: 17 });
    nodes.splice(1);
    await t.views.refresh(false);
    expect(t.views.following()).toEqual({ by: 'node views', nodes: 1 });
  });

  it('name the consul.maxConnections that would follow every node', () => {
    const message = notFollowedMessage(100, 18, 4);
    expect(message).toContain('100 nodes');
    expect(message).toContain('consul.maxConnections 18 (12 nodes)');
    expect(message).toContain('Set consul.maxConnections to 106');
    expect(message).toContain('limits.http_max_conns_per_client');
  });

  it('drop a node that left the catalog, and sign without its instances', async () => {
    const nodes = ['n1', 'n2'];
    const t = harness(nodes);
    await t.views.refresh(false);
    await t.answer('n1', 3, ['web-1']);
    await t.answer('n2', 4, ['web-2']);
    nodes.pop();
    await t.views.refresh(false);
    await Promise.resolve();
    expect(t.slotOf('n2').stopped).toBe(true);
    expect(t.signals.at(-1)?.services.get('web')?.keys).toBe(JSON.stringify(['n1', 'web-1']));
  });
});

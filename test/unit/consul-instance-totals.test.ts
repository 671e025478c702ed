import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { InstanceSignal } from '../../src/consul/change-signals.ts';
import { createInstanceTotals, instanceSignalOf, nodeInstancesOf } from '../../src/consul/node-instances.ts';

const NODES = ['n1', 'n2', 'n3'];
const SERVICES = ['api', 'db', 'web'];

/** One node's answer: some instances of some services, or the node gone. */
const answer = fc.option(
  fc.array(fc.tuple(fc.constantFrom(...SERVICES), fc.integer({ min: 1, max: 4 }), fc.bigInt({ min: 1n, max: 50n })), { maxLength: 6 }),
  { nil: undefined },
);

type Rows = ReadonlyArray<readonly [string, number, bigint]>;

/** GET /v1/catalog/node/<node> as Consul answers it. */
function nodeBody(node: string, rows: Rows) {
  return {
    Node: { Node: node },
    Services: Object.fromEntries(rows.map(([service, id, modified]) => [`${service}-${id}`, { ID: `${service}-${id}`, Service: service, ModifyIndex: Number(modified) }])),
  };
}

function instancesOf(node: string, rows: Rows) {
  return nodeInstancesOf(nodeBody(node, rows), '/v1/catalog/node/<node>');
}

function differing(a: InstanceSignal, b: InstanceSignal): Set<string> {
  const out = new Set<string>();
  for (const name of new Set([...a.services.keys(), ...b.services.keys()])) {
    if (JSON.stringify(a.services.get(name), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)) !== JSON.stringify(b.services.get(name), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))) out.add(name);
  }
  return out;
}

describe('instance totals', () => {
  it("equal a scan of every node's latest answer after any sequence of node answers, and name every service whose summary changed", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...NODES), answer), { minLength: 1, maxLength: 25 }), (updates) => {
        const totals = createInstanceTotals();
        const current = new Map<string, Rows>();
        let before = instanceSignalOf([]);
        updates.forEach(([node, rows], step) => {
          const changed = totals.set(node, rows === undefined ? undefined : instancesOf(node, rows));
          if (rows) current.set(node, rows);
          else current.delete(node);
          const index = String(step + 1);
          const full = instanceSignalOf([...current].map(([name, answer]) => ({ index, body: nodeBody(name, answer) })));
          expect(totals.signal(BigInt(index)).services).toEqual(full.services);
          for (const name of differing(before, full)) expect(changed.has(name)).toBe(true);
          before = full;
        });
      }),
    );
  });

  it('names only the service a registration touched', () => {
    const totals = createInstanceTotals();
    totals.set('n1', instancesOf('n1', [['api', 1, 3n], ['web', 1, 4n]]));
    expect([...totals.set('n1', instancesOf('n1', [['api', 1, 3n], ['web', 1, 4n], ['web', 2, 9n]]))]).toEqual(['web']);
  });
});

describe('instances written since a node answer', () => {
  /** A catalog as Consul keeps it: every write raises the index, and an instance carries the index of its last write. */
  const write = fc.tuple(fc.constantFrom(...NODES), fc.constantFrom(...SERVICES), fc.integer({ min: 1, max: 3 }), fc.boolean());
  const step = fc.oneof(write.map((w) => ({ write: w })), fc.constantFrom(...NODES).map((node) => ({ answer: node })));
  type Held = ReadonlyMap<string, readonly [string, bigint, number]>;
  const maxOf = (held: Held | undefined, service: string) => [...(held ?? new Map()).values()].filter(([s]) => s === service).reduce((max, [, m]) => (m > max ? m : max), 0n);

  it('are kept exactly when every node holding one answered before at or below the index asked about, and then are the instances its latest answer gave', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 99 }), (steps, percent) => {
        const catalog = new Map<string, Map<string, readonly [string, bigint, number]>>(NODES.map((node) => [node, new Map()]));
        // What each node's latest answer and the one before it held.
        const answered = new Map<string, { latest: Held; before: Held | undefined }>();
        const totals = createInstanceTotals();
        let index = 0n;
        for (const s of steps) {
          if ('write' in s) {
            const [node, service, n, present] = s.write;
            index += 1n;
            if (present) catalog.get(node)!.set(`${service}-${n}`, [service, index, Number(index) + 1000]);
            else catalog.get(node)!.delete(`${service}-${n}`);
            continue;
          }
          const node = s.answer;
          const held = new Map(catalog.get(node)!);
          answered.set(node, { latest: held, before: answered.get(node)?.latest });
          const body = { Node: { Node: node, Address: `10.0.0.${NODES.indexOf(node)}` }, Services: [...held].map(([id, [service, modify, port]]) => ({ ID: id, Service: service, Port: port, ModifyIndex: Number(modify) })) };
          totals.set(node, nodeInstancesOf(body, '/v1/catalog/node-services/<node>', totals.before(node)));
        }
        // An index somewhere in the run: what a service's last read may have been dated.
        const after = (index * BigInt(percent)) / 100n;
        const signal = totals.signal(index);
        for (const service of SERVICES) {
          const expected: string[] = [];
          let keptByEveryNode = true;
          for (const [node, { latest, before }] of answered) {
            if (maxOf(latest, service) <= after) continue;
            if (!before || maxOf(before, service) > after) keptByEveryNode = false;
            for (const [id, [s, modify, port]] of latest) if (s === service && modify > after) expected.push(`${node}/${id}/${port}/${modify}`);
          }
          const written = signal.written?.(service, after);
          expect(written !== undefined).toBe(keptByEveryNode);
          if (!written) continue;
          const got = written.map((w) => `${w.node}/${(w.item.Service as { ID: string }).ID}/${(w.item.Service as { Port: number }).Port}/${w.modifyIndex}`);
          expect(got.sort()).toEqual(expected.sort());
          for (const w of written) expect(w.item.Node).toEqual({ Node: w.node, Address: `10.0.0.${NODES.indexOf(w.node)}` });
        }
      }),
      { numRuns: 500 },
    );
  });

  it('are not kept from an answer read against another summary than the node has (its view stopped and started again meanwhile)', () => {
    const totals = createInstanceTotals();
    const body = (modify: number[]) => ({ Node: { Node: 'n1', Address: '10.0.0.1' }, Services: modify.map((m, i) => ({ ID: `web-${i}`, Service: 'web', ModifyIndex: m })) });
    totals.set('n1', nodeInstancesOf(body([3]), '/v1/catalog/node-services/n1', undefined));
    const stale = totals.before('n1');
    totals.set('n1', nodeInstancesOf(body([3, 5]), '/v1/catalog/node-services/n1', totals.before('n1')));
    totals.set('n1', nodeInstancesOf(body([3, 5, 7]), '/v1/catalog/node-services/n1', stale));
    expect(totals.signal(7n).written?.('web', 5n)).toBeUndefined();
    totals.set('n1', nodeInstancesOf(body([3, 5, 7, 9]), '/v1/catalog/node-services/n1', totals.before('n1')));
    expect(totals.signal(9n).written?.('web', 7n)?.map((w) => w.modifyIndex)).toEqual([9n]);
  });
});

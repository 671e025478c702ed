import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createInstanceTotals, instanceSignalOf, nodeInstancesOf, type InstanceSignal } from '../../src/consul/change-signals.ts';

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

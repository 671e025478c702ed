/**
 * Registrations and deregistrations applied without a read: the result must be
 * what GET /v1/health/service/<name> would answer, or nothing (a read then).
 */
import { describe, expect, it } from 'vitest';
import { checkSignalOf, fetchedServiceOf, isBehind, type CheckSignal, type InstanceSignal } from '../../src/consul/change-signals.ts';
import { createInstanceTotals, instanceSignalOf, nodeInstancesOf } from '../../src/consul/node-instances.ts';
import { normalizeInstances } from '../../src/consul/normalize.ts';
import { withRegistrations, type ServiceState } from '../../src/consul/registrations.ts';

type Row = { id: string; modify: number; port?: number; address?: string; meta?: Record<string, string>; tags?: string[]; weights?: object; service?: string };
const NODE_ADDRESS: Record<string, string> = { n1: '10.0.0.1', n2: '10.0.0.2', n3: '10.0.0.3' };
const service = (row: Row) => ({
  ID: row.id, Service: row.service ?? 'web', Port: row.port ?? 80, Address: row.address ?? '', Tags: row.tags ?? [], Meta: row.meta ?? {}, ModifyIndex: row.modify,
  ...(row.weights ? { Weights: row.weights } : {}),
});
/** GET /v1/catalog/node-services/<node> */
const nodeBody = (node: string, rows: Row[]) => ({ Node: { Node: node, Address: NODE_ADDRESS[node] }, Services: rows.map(service) });
/** One item of GET /v1/health/service/web. */
const item = (node: string, row: Row, checks: object[] = []) => ({ Node: { Node: node, Address: NODE_ADDRESS[node] }, Service: service(row), Checks: checks });
const critical = (node: string, id: string, serviceId = '', name = serviceId ? 'web' : '', modify = 12) => ({ Node: node, CheckID: id, ServiceID: serviceId, ServiceName: name, Status: 'critical', ModifyIndex: modify });

/** health/service/web at index 30: web-1 and web-2 on n1 (web-2's check critical), web-3 on n2. */
const W1 = { id: 'web-1', modify: 11, port: 8001 };
const W2 = { id: 'web-2', modify: 12, port: 8002 };
const W3 = { id: 'web-3', modify: 13, port: 8003 };
const W2_CHECK = critical('n1', 'service:web-2', 'web-2');
const readBody = [item('n1', W1), item('n1', W2, [W2_CHECK]), item('n2', W3)];
const read = { instances: normalizeInstances(readBody, 'web'), fetched: fetchedServiceOf(readBody, '30') };

/** The node views after `updates` (node answers in turn, each compared with the one before). */
function views(...updates: Array<[string, Row[]]>) {
  const totals = createInstanceTotals();
  totals.set('n1', nodeInstancesOf(nodeBody('n1', [W1, W2]), 'p', undefined));
  totals.set('n2', nodeInstancesOf(nodeBody('n2', [W3]), 'p', undefined));
  totals.set('n3', nodeInstancesOf(nodeBody('n3', [{ id: 'api-1', modify: 14, service: 'api' }]), 'p', undefined));
  let index = 30n;
  for (const [node, rows] of updates) {
    index = rows.reduce((max, row) => (BigInt(row.modify) > max ? BigInt(row.modify) : max), index + 1n);
    totals.set(node, nodeInstancesOf(nodeBody(node, rows), 'p', totals.before(node)));
  }
  return totals.signal(index);
}
/** The read, with a node check of n1 failing as well. */
function readWith(nodeCheck: object): ServiceState {
  const body = readBody.map((entry) => (entry.Node.Node === 'n1' ? { ...entry, Checks: [...entry.Checks, nodeCheck] } : entry));
  return { instances: normalizeInstances(body, 'web'), fetched: fetchedServiceOf(body, '30') };
}
const checksAt = (index: number, ...checks: object[]) => checkSignalOf([W2_CHECK, ...checks], String(index));

describe('withRegistrations: what a read would answer, without the read', () => {
  it.each([
    {
      name: 'a new instance on a node the service runs on, with its own address, meta, tags and weights',
      signal: () => views(['n1', [W1, W2, { id: 'web-4', modify: 35, port: 8004, address: '10.1.1.1', meta: { v: '2' }, tags: ['b', 'a', 'b'], weights: { Passing: 3, Warning: 1 } }]]),
      truth: [...readBody, item('n1', { id: 'web-4', modify: 35, port: 8004, address: '10.1.1.1', meta: { v: '2' }, tags: ['b', 'a', 'b'], weights: { Passing: 3, Warning: 1 } })],
    },
    {
      name: 'a new instance on a node it did not run on (the node\'s address)',
      signal: () => views(['n3', [{ id: 'api-1', modify: 14, service: 'api' }, { id: 'web-5', modify: 36 }]]),
      truth: [...readBody, item('n3', { id: 'web-5', modify: 36 })],
    },
    {
      name: 'an instance re-registered on another port',
      signal: () => views(['n2', [{ ...W3, modify: 37, port: 9003 }]]),
      truth: [item('n1', W1), item('n1', W2, [W2_CHECK]), item('n2', { ...W3, modify: 37, port: 9003 })],
    },
    {
      name: 'an instance deregistered',
      signal: () => views(['n1', [W2]]),
      truth: [item('n1', W2, [W2_CHECK]), item('n2', W3)],
    },
    {
      name: 'an instance deregistered and another added on the same node',
      signal: () => views(['n1', [W2]], ['n1', [W2, { id: 'web-6', modify: 38 }]]),
      truth: [item('n1', W2, [W2_CHECK]), item('n1', { id: 'web-6', modify: 38 }), item('n2', W3)],
    },
  ])('$name', ({ signal: make, truth }) => {
    const signal = make();
    const checks = checksAt(Number(signal.index));
    const after = withRegistrations('web', read, signal, checks);
    expect(after?.instances).toEqual(normalizeInstances(truth, 'web'));
    expect(after?.fetched.instanceKeys).toBe(fetchedServiceOf(truth, '40').instanceKeys);
    // Not behind the signals any more, so it is not read for them.
    expect(after && isBehind('web', after.fetched, checks, signal)).toBe(false);
  });

  const added = () => views(['n3', [{ id: 'api-1', modify: 14, service: 'api' }, { id: 'web-5', modify: 36 }]]);
  it.each([
    { name: 'nothing of its instances changed', signal: () => views(['n1', [W1, W2, { id: 'api-1', modify: 35, service: 'api' }]]), checks: checksAt(35) },
    { name: 'no check signal yet', signal: added, checks: undefined },
    { name: 'a check signal older than the registration (its checks may be unseen)', signal: added, checks: checksAt(35) },
    { name: 'the new instance registered with a failing check', signal: added, checks: checksAt(36, critical('n3', 'service:web-5', 'web-5', 'web', 36)) },
    { name: 'the new instance\'s node has a failing check', signal: added, checks: checksAt(36, critical('n3', 'serfHealth', '', '', 36)) },
    { name: 'a new instance on a node whose node check was failing at the read already', signal: () => views(['n1', [W1, W2, { id: 'web-4', modify: 36 }]]), checks: checksAt(36, critical('n1', 'serfHealth')), read: readWith(critical('n1', 'serfHealth')) },
    { name: 'a critical instance re-registered (its status is for a read to tell)', signal: () => views(['n1', [W1, { ...W2, modify: 36, port: 9002 }]]), checks: checksAt(36) },
    { name: 'another check of the service changed since the read', signal: added, checks: checkSignalOf([], '36') },
    { name: 'the node\'s first answer kept nothing', signal: () => { const t = createInstanceTotals(); t.set('n1', nodeInstancesOf(nodeBody('n1', [W1, W2, { id: 'web-4', modify: 35 }]), 'p', undefined)); t.set('n2', nodeInstancesOf(nodeBody('n2', [W3]), 'p', undefined)); return t.signal(35n); }, checks: checksAt(35) },
    { name: 'a scan (it keeps no instance)', signal: () => instanceSignalOf([{ index: '36', body: nodeBody('n1', [W1, W2, { id: 'web-4', modify: 36 }]) }, { index: '36', body: nodeBody('n2', [W3]) }]), checks: checksAt(36) },
    { name: 'a signal older than the read', signal: () => { const s = views(['n1', [W2]]); return { ...s, index: 29n }; }, checks: checksAt(31) },
  ])('needs a read: $name', (row: { signal: () => InstanceSignal; checks: CheckSignal | undefined; read?: ServiceState }) => {
    expect(withRegistrations('web', row.read ?? read, row.signal(), row.checks)).toBeUndefined();
  });
});

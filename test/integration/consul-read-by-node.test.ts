/**
 * The first sync by node (src/consul/read-by-node.ts) against a real agent:
 * every service reads exactly as GET /v1/health/service/<name> gives it, with
 * node checks, service checks, meta, tags and weights, across several nodes.
 */
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_VIEW_TIMING, REAL_EFFECTS } from '../../src/consul/blocking-view.ts';
import { fetchedServiceOf } from '../../src/consul/change-signals.ts';
import { normalizeInstances } from '../../src/consul/normalize.ts';
import { BY_NODE_MIN_SERVICES, readServicesByNode } from '../../src/consul/read-by-node.ts';
import { startTestConsul, type TestConsul } from '../helpers/consul.ts';

let consul: TestConsul;
const SERVICES = BY_NODE_MIN_SERVICES + 20;
const NODES = ['host-a', 'host-b', 'host-c'];
const name = (i: number) => `svc-${String(i).padStart(3, '0')}`;

async function put(path: string, body: unknown): Promise<void> {
  const res = await fetch(`${consul.agent.address}${path}`, { method: 'PUT', body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`PUT ${path}: HTTP ${res.status} ${await res.text()}`);
}

beforeAll(async () => {
  consul = await startTestConsul();
  for (const [n, node] of NODES.entries()) await put('/v1/catalog/register', { Node: node, Address: `10.0.0.${n + 1}` });
  // A node check that is not passing makes every instance on that node warning.
  await put('/v1/catalog/register', { Node: 'host-c', Address: '10.0.0.3', Check: { CheckID: 'disk', Name: 'disk', Status: 'warning' } });
  const ops: object[] = [];
  for (let i = 0; i < SERVICES; i++) {
    // Service i runs on i % 3 + 1 nodes; every fifth instance's own check is critical.
    for (let k = 0; k <= i % 3; k++) {
      const node = NODES[k] as string;
      const id = `${name(i)}-${k}`;
      ops.push({
        Service: {
          Verb: 'set',
          Node: node,
          Service: { ID: id, Service: name(i), Port: 8000 + k, Tags: ['b', 'a'], Meta: { 'ipx-version': `v${k}` }, Weights: { Passing: k + 1, Warning: 1 }, ...(k === 1 ? { Address: '10.1.0.9' } : {}) },
        },
      });
      ops.push({ Check: { Verb: 'set', Check: { Node: node, CheckID: `check-${id}`, Name: 'own', Status: (i + k) % 5 === 0 ? 'critical' : 'passing', ServiceID: id } } });
    }
  }
  for (let at = 0; at < ops.length; at += 64) await put('/v1/txn', ops.slice(at, at + 64));
});

afterAll(async () => {
  await consul?.stop();
});

describe('readServicesByNode (real agent)', () => {
  it('reads every service as its own health read does', async () => {
    const wanted = new Set(Array.from({ length: SERVICES }, (_, i) => name(i)));
    const controller = new AbortController();
    const pool = { client: consul.client, limit: pLimit(4), signal: controller.signal, timing: DEFAULT_VIEW_TIMING, effects: REAL_EFFECTS, timeoutMs: 10_000 };
    const found = await readServicesByNode(pool, wanted);
    expect(found?.size).toBe(SERVICES);
    let statuses = new Set<string>();
    for (const service of wanted) {
      const own = await consul.client.healthService(service, { index: '0' });
      const byNode = found?.get(service);
      expect(byNode?.instances, service).toEqual(normalizeInstances(own.body, service));
      const fetched = fetchedServiceOf(own.body, own.index);
      expect(byNode?.fetched.instanceKeys).toBe(fetched.instanceKeys);
      expect(byNode?.fetched.checkKeys).toBe(fetched.checkKeys);
      expect(byNode?.fetched.nodes).toEqual(fetched.nodes);
      // Nothing was written since: the service is as new as its own read says, so no signal
      // (which compares write indexes with it) takes it for behind and reads it again.
      expect(byNode!.fetched.index >= fetched.index, `${service}: ${byNode?.fetched.index} < ${fetched.index}`).toBe(true);
      statuses = new Set([...statuses, ...(byNode?.instances.map((i) => i.status) ?? [])]);
    }
    // The catalog above has all three.
    expect([...statuses].sort()).toEqual(['critical', 'passing', 'warning']);
  });

  it('declines when there are about as many nodes as services (reading each service is cheaper)', async () => {
    const controller = new AbortController();
    const pool = { client: consul.client, limit: pLimit(4), signal: controller.signal, timing: DEFAULT_VIEW_TIMING, effects: REAL_EFFECTS, timeoutMs: 10_000 };
    expect(await readServicesByNode(pool, new Set([name(0), name(1), name(2)]))).toBeUndefined();
  });
});

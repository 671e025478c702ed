/**
 * The watcher against a real `consul agent -dev` on free loopback ports. One
 * agent for the file, emptied after each case; each case has its own watcher
 * and registers what it needs, so the cases hold in any order. The outage case
 * stops an agent of its own.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createWatcher,
  deregisterService,
  readSnapshot,
  registerService,
  serviceCheckId,
  startDevAgent,
  updateCheck,
  type ConsulWatcher,
  type DevAgent,
  type ServiceRegistration,
} from '../../src/consul/index.ts';
import { ConsulError } from '../../src/errors.ts';
import type { ConsulClient, ReadOptions } from '../../src/consul/client.ts';
import { instancesOf, putKv, sleep, SnapshotRecorder, startTestConsul, waitUntil, type TestConsul } from '../helpers/consul.ts';

let consul: TestConsul;
let watcher: ConsulWatcher;
let recorder: SnapshotRecorder;
let errors: Array<{ key: string; attempt: number; message: string }>;
/** Instance IDs a case registered, deregistered after it. */
const registered: string[] = [];

const web = (id: string, port: number) => ({
  name: 'web',
  id,
  address: '127.0.0.1',
  port,
  tags: ['v1', 'http', 'v1'],
  meta: { version: '1.2.3', 'ipx-timeout': '5s' },
  check: { ttl: '1m', status: 'passing' as const },
});

async function register(registration: ServiceRegistration): Promise<void> {
  registered.push(registration.id);
  await registerService(consul.client, registration);
}

function watch(on: TestConsul): ConsulWatcher {
  recorder = new SnapshotRecorder();
  errors = [];
  const started = createWatcher({
    client: on.client,
    config: on.config,
    onSnapshot: recorder.push,
    onError: (error, info) => errors.push({ ...info, message: error.message }),
    // Short backoff so the outage case stays quick.
    timing: { backoffMaxMs: 400 },
  });
  started.start();
  return started;
}

/** The real client, with one of its reads answering `delayMs` late. */
function slowed(client: ConsulClient, method: 'catalogNodeServices', delayMs: number): ConsulClient {
  return new Proxy(client, {
    get: (target, key, receiver) =>
      key === method
        ? async (name: string, options: ReadOptions) => {
            const result = await target[method](name, options);
            await sleep(delayMs);
            return result;
          }
        : Reflect.get(target, key, receiver),
  });
}

/** The real client, with the calls of one of its reads counted (only those for `first`, when given). */
function counting(client: ConsulClient, method: 'healthService' | 'catalogNodeServices', first?: string): { client: ConsulClient; calls: () => number } {
  let calls = 0;
  const counted = new Proxy(client, {
    get: (target, key, receiver) =>
      key === method
        ? (name: string, options: ReadOptions) => {
            if (first === undefined || name === first) calls += 1;
            return target[method](name, options);
          }
        : Reflect.get(target, key, receiver),
  });
  return { client: counted, calls: () => calls };
}

async function indexOf(path: string): Promise<bigint> {
  const res = await fetch(`${consul.agent.address}${path}`);
  await res.arrayBuffer();
  return BigInt(res.headers.get('x-consul-index') ?? '0');
}

/** Re-registers web-2 with other weights: Consul's answer changes, ipx's snapshot does not. */
async function reweigh(weights: { Passing: number; Warning: number }): Promise<void> {
  registered.push('web-2');
  const res = await fetch(`${consul.agent.address}/v1/agent/service/register`, {
    method: 'PUT',
    body: JSON.stringify({
      Name: 'web', ID: 'web-2', Address: '127.0.0.1', Port: 9002,
      Tags: ['v1', 'http'], Meta: { version: '1.2.3', 'ipx-timeout': '5s' },
      Weights: weights,
      Check: { TTL: '1m', Status: 'passing' },
    }),
  });
  if (!res.ok) throw new Error(`re-register web-2: HTTP ${res.status}`);
}

beforeAll(async () => {
  consul = await startTestConsul({ wait: '5s' });
});

afterAll(async () => {
  await consul?.stop();
});

beforeEach(() => {
  watcher = watch(consul);
});

afterEach(async () => {
  await watcher.stop();
  await Promise.all([...new Set(registered.splice(0))].map((id) => deregisterService(consul.client, id)));
  for (const prefix of ['ipx/', 'other/']) {
    const res = await fetch(`${consul.agent.address}/v1/kv/${prefix}?recurse=true`, { method: 'DELETE' });
    if (!res.ok) throw new Error(`DELETE /v1/kv/${prefix}: HTTP ${res.status}`);
  }
});

/** Registers web-1 and web-2 and waits for the watcher to show both. */
async function twoWebs(): Promise<void> {
  await register(web('web-1', 9001));
  await register(web('web-2', 9002));
  await recorder.waitFor((s) => instancesOf(s, 'web')?.length === 2, 2_000);
}

describe('ConsulWatcher with a real Consul agent', () => {
  it('emits a first, empty snapshot without Consul\'s own service', async () => {
    const first = await recorder.waitFor(() => true);
    expect(first).toEqual({ services: [], kv: [] });
    expect(watcher.state()).toMatchObject({ ready: true, stale: false, services: 0 });
  });

  it('shows a registered service within 2 s, normalized', async () => {
    await register(web('web-1', 9001));
    const snapshot = await recorder.waitFor((s) => instancesOf(s, 'web')?.length === 1, 2_000);
    expect(instancesOf(snapshot, 'web')).toEqual([
      {
        id: 'web-1',
        node: 'ipx-dev',
        address: '127.0.0.1',
        port: 9001,
        tags: ['http', 'v1'],
        meta: { 'ipx-timeout': '5s', version: '1.2.3' },
        status: 'passing',
        weight: 1,
      },
    ]);
  });

  it('adds a second instance', async () => {
    await register(web('web-1', 9001));
    await recorder.waitFor((s) => instancesOf(s, 'web')?.length === 1, 2_000);
    await register(web('web-2', 9002));
    const snapshot = await recorder.waitFor((s) => instancesOf(s, 'web')?.length === 2, 2_000);
    expect(instancesOf(snapshot, 'web')?.map((i) => i.id)).toEqual(['web-1', 'web-2']);
  });

  it('applies a deregistration and a registration without reading the service, as a read would give them; an instance without checks is read', async () => {
    await watcher.stop();
    // The node view answers 300 ms late, so the check signal has seen each registration first.
    const { client, calls: webReads } = counting(slowed(consul.client, 'catalogNodeServices', 300), 'healthService', 'web');
    watcher = watch({ ...consul, client });
    await twoWebs();
    await sleep(300);
    const before = webReads();
    let from = recorder.snapshots.length;
    await deregisterService(consul.client, 'web-2');
    const snapshot = await recorder.waitFor((s) => instancesOf(s, 'web')?.length === 1, 3_000, from);
    expect(instancesOf(snapshot, 'web')?.map((i) => [i.id, i.port, i.status])).toEqual([['web-1', 9001, 'passing']]);
    expect(webReads()).toBe(before);
    // Registered with a passing check: the node's answer and the check signal tell all of it.
    from = recorder.snapshots.length;
    await register({ ...web('web-3', 9003), address: '127.0.0.3', tags: ['v2'], meta: { version: '2.0.0' } });
    const added = await recorder.waitFor((s) => instancesOf(s, 'web')?.length === 2, 3_000, from);
    expect(instancesOf(added, 'web')).toEqual(instancesOf(await readSnapshot(consul.client, consul.config), 'web'));
    expect(instancesOf(added, 'web')?.find((i) => i.id === 'web-3')).toMatchObject({ address: '127.0.0.3', port: 9003, tags: ['v2'], meta: { version: '2.0.0' }, status: 'passing' });
    expect(webReads()).toBe(before);
    // Without a check, the check signal does not move: nothing tells its checks but a read.
    from = recorder.snapshots.length;
    const { check: _check, ...unchecked } = web('web-4', 9004);
    await register(unchecked);
    const read = await recorder.waitFor((s) => instancesOf(s, 'web')?.length === 3, 3_000, from);
    expect(instancesOf(read, 'web')?.map((i) => i.id)).toEqual(['web-1', 'web-3', 'web-4']);
    expect(webReads()).toBeGreaterThan(before);
  });

  it('turns a failed TTL check into status critical', async () => {
    await twoWebs();
    await updateCheck(consul.client, serviceCheckId('web-1'), 'critical', 'failing on purpose');
    const snapshot = await recorder.waitFor((s) => instancesOf(s, 'web')?.[0]?.status === 'critical', 2_000);
    expect(instancesOf(snapshot, 'web')?.map((i) => i.status)).toEqual(['critical', 'passing']);
  });

  it('follows a check through warning, critical and back to passing', async () => {
    await twoWebs();
    // Each state is its own blocking query: a check entering or leaving either one wakes the watcher.
    for (const status of ['warning', 'critical', 'passing', 'critical', 'warning', 'passing'] as const) {
      // Only snapshots after this update: an earlier one may show web-1 passing before web-2 was registered.
      const from = recorder.snapshots.length;
      await updateCheck(consul.client, serviceCheckId('web-1'), status, `${status} on purpose`);
      const snapshot = await recorder.waitFor((s) => instancesOf(s, 'web')?.[0]?.status === status, 2_000, from);
      expect(instancesOf(snapshot, 'web')?.[1]?.status).toBe('passing');
    }
  });

  it('reads an HTTP check registered as passing as passing before its first poll', async () => {
    // Nothing listens on port 1, and a 10 h interval puts the first poll (staggered within it) far away.
    await register({ ...web('web-1', 9001), check: { http: 'http://127.0.0.1:1/health', interval: '10h', status: 'passing' } });
    const snapshot = await recorder.waitFor((s) => instancesOf(s, 'web')?.length === 1, 2_000);
    expect(instancesOf(snapshot, 'web')?.[0]?.status).toBe('passing');
  });

  it('carries keys written under ipx/ and nothing outside it', async () => {
    await putKv(consul.agent.address, 'ipx/services/web', '{"timeout":"2s"} ✓');
    await putKv(consul.agent.address, 'other/key', 'ignored');
    const snapshot = await recorder.waitFor((s) => s.kv.length > 0, 2_000);
    expect(snapshot.kv).toEqual([{ key: 'ipx/services/web', value: '{"timeout":"2s"} ✓' }]);
  });

  it('emits nothing when Consul\'s index moves but the state is the same', async () => {
    await twoWebs();
    await sleep(300); // let the previous writes settle into snapshots
    const count = recorder.snapshots.length;
    const health = await indexOf('/v1/health/service/web');
    const kv = await indexOf('/v1/kv/ipx/?recurse=true');
    // Changes that move Consul's indexes but not ipx's data: the weight for warning (ipx reads Passing), a KV folder placeholder.
    await reweigh({ Passing: 1, Warning: 7 });
    await putKv(consul.agent.address, 'ipx/folder/', '');
    await sleep(1_000);
    expect(await indexOf('/v1/health/service/web')).toBeGreaterThan(health);
    expect(await indexOf('/v1/kv/ipx/?recurse=true')).toBeGreaterThan(kv);
    expect(recorder.snapshots.length).toBe(count);
  });

  it('carries Weights.Passing as the instance weight', async () => {
    await twoWebs();
    await reweigh({ Passing: 7, Warning: 1 });
    const snapshot = await recorder.waitFor((s) => instancesOf(s, 'web')?.[1]?.weight === 7, 2_000);
    expect(instancesOf(snapshot, 'web')?.map((i) => [i.id, i.weight])).toEqual([
      ['web-1', 1],
      ['web-2', 7],
    ]);
  });

  it('drops a deregistered instance, then the service', async () => {
    await twoWebs();
    // Only snapshots after the deregistration: an earlier one may show web-1 before web-2 was registered.
    const from = recorder.snapshots.length;
    await deregisterService(consul.client, 'web-2');
    const one = await recorder.waitFor((s) => instancesOf(s, 'web')?.length === 1, 2_000, from);
    expect(instancesOf(one, 'web')?.map((i) => i.id)).toEqual(['web-1']);
    await deregisterService(consul.client, 'web-1');
    await recorder.waitFor((s) => instancesOf(s, 'web') === undefined, 2_000);
  });

  // No check moves for these: only the catalog wakes, and the node scan finds which service changed.
  it.each([
    ['the view of their node', 16],
    // 5 connections leave no room for a node view beside the three long-held queries and two reads.
    ['a scan of the nodes, when no node view fits', 5],
  ])('follows instances registered without any check through %s: added, re-registered on another port, removed', async (_how, maxConnections) => {
    await watcher.stop();
    watcher = watch({ ...consul, config: { ...consul.config, maxConnections } });
    await recorder.waitFor(() => true);
    const plain = (id: string, port: number) => ({ name: 'plain', id, address: '127.0.0.1', port });
    const step = async (change: () => Promise<void>, done: (instances: ReturnType<typeof instancesOf>) => boolean) => {
      const from = recorder.snapshots.length;
      await change();
      return instancesOf(await recorder.waitFor((s) => done(instancesOf(s, 'plain')), 2_000, from), 'plain');
    };
    await step(() => register(plain('plain-1', 7001)), (i) => i?.length === 1);
    await step(() => register(plain('plain-2', 7002)), (i) => i?.length === 2);
    await step(() => register(plain('plain-2', 7003)), (i) => i?.[1]?.port === 7003);
    const left = await step(() => deregisterService(consul.client, 'plain-1'), (i) => i?.length === 1);
    expect(left).toMatchObject([{ id: 'plain-2', port: 7003, status: 'passing' }]);
    await step(() => deregisterService(consul.client, 'plain-2'), (i) => i === undefined);
  });

  it('reads the same snapshot once, without blocking', async () => {
    await register({ ...web('api-1', 9101), name: 'api' });
    const watched = await recorder.waitFor((s) => instancesOf(s, 'api')?.length === 1, 2_000);
    expect(await readSnapshot(consul.client, consul.config)).toEqual(watched);
  });

  it('reports errors and emits nothing while Consul is down, and resumes by itself when it is back', async () => {
    // An agent of its own, since this case stops it.
    const own = await startTestConsul({ wait: '5s' });
    let revived: DevAgent | undefined;
    await watcher.stop();
    // The node view's calls counted: the view starts after the first sync.
    const { client, calls: nodeViewCalls } = counting(own.client, 'catalogNodeServices');
    watcher = watch({ ...own, client });
    try {
      await registerService(own.client, { ...web('api-1', 9101), name: 'api' });
      await recorder.waitFor((s) => instancesOf(s, 'api')?.length === 1, 2_000);
      await waitUntil(() => nodeViewCalls() > 0, 'the node view to start', 2_000);
      const count = recorder.snapshots.length;
      const last = recorder.last;
      errors.length = 0;
      await own.agent.stop();

      // The four long-held reads fail; the services' own reads wait for a signal that moves. The list
      // of services is the node list once the catalog's query has handed over to it (catalog-source.ts).
      const listKey = (): string => (errors.some((e) => e.key === 'catalog.nodes') ? 'catalog.nodes' : 'catalog.services');
      const keys = (): string[] => [listKey(), 'health.state(critical)', 'health.state(warning)', 'kv.recurse("ipx/")'];
      await waitUntil(() => keys().every((key) => errors.some((e) => e.key === key && e.attempt >= 2)), 'errors from every view', 5_000);
      await sleep(500);
      expect(recorder.snapshots.length).toBe(count);
      expect(instancesOf(recorder.last, 'api')).toHaveLength(1);
      expect(recorder.last).toBe(last);
      expect(errors[0]?.message).toMatch(/^consul: GET \/v1\/\S+ failed \(.+\); /);

      const state = watcher.state();
      expect(state).toMatchObject({ ready: true, stale: true });
      // The node scan the registration started may be caught by the stop too; it is a real read that failed.
      // The agent's one node is followed by a view of its own (node-views.ts), which fails as well.
      expect(state.failing.filter((key) => key !== 'catalog.node-scan')).toEqual([...keys(), 'catalog.node-services("ipx-dev")'].sort());
      expect(state.staleSince).toBeLessThanOrEqual(Date.now());
      await expect(readSnapshot(own.client, own.config)).rejects.toBeInstanceOf(ConsulError);

      // Back on the same address: a restarted dev agent has lost its data, so the real state is "only web-9".
      revived = await startDevAgent({ httpPort: own.agent.httpPort, cwd: new URL('../..', import.meta.url).pathname });
      await registerService(own.client, web('web-9', 9009));
      const snapshot = await recorder.waitFor((s) => instancesOf(s, 'web')?.length === 1, 5_000, recorder.snapshots.length);
      expect(snapshot.services.map((s) => s.name)).toEqual(['web']);
      await waitUntil(() => !watcher.state().stale, 'the watcher to be current again', 3_000);
    } finally {
      await watcher.stop();
      await own.stop();
      await revived?.stop();
    }
  });

  it('stops promptly while requests are blocked', async () => {
    await recorder.waitFor(() => true);
    await sleep(200);
    const started = Date.now();
    await watcher.stop();
    await watcher.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

/**
 * The watcher against a real `consul agent -dev` on free loopback ports. The
 * steps build on each other (one agent for the file, to stay well under 30 s).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
} from '../../src/consul/index.ts';
import { ConsulError } from '../../src/errors.ts';
import { instancesOf, putKv, sleep, SnapshotRecorder, startTestConsul, waitUntil, type TestConsul } from '../helpers/consul.ts';

let consul: TestConsul;
let revived: DevAgent | undefined;
let watcher: ConsulWatcher;
const recorder = new SnapshotRecorder();
const errors: Array<{ key: string; attempt: number; message: string }> = [];

const web = (id: string, port: number) => ({
  name: 'web',
  id,
  address: '127.0.0.1',
  port,
  tags: ['v1', 'http', 'v1'],
  meta: { version: '1.2.3', 'ipx-timeout': '5s' },
  check: { ttl: '1m', status: 'passing' as const },
});

async function indexOf(path: string): Promise<bigint> {
  const res = await fetch(`${consul.agent.address}${path}`);
  await res.arrayBuffer();
  return BigInt(res.headers.get('x-consul-index') ?? '0');
}

/** Re-registers web-2 with other weights: Consul's answer changes, ipx's snapshot does not. */
async function reweigh(weights: { Passing: number; Warning: number }): Promise<void> {
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
  watcher = createWatcher({
    client: consul.client,
    config: consul.config,
    onSnapshot: recorder.push,
    onError: (error, info) => errors.push({ ...info, message: error.message }),
    // Short backoff so the outage steps below stay quick.
    timing: { backoffMaxMs: 400 },
  });
  watcher.start();
});

afterAll(async () => {
  await watcher?.stop();
  await consul?.stop();
  await revived?.stop();
});

describe('ConsulWatcher with a real Consul agent', () => {
  it('emits a first, empty snapshot without Consul\'s own service', async () => {
    const first = await recorder.waitFor(() => true);
    expect(first).toEqual({ services: [], kv: [] });
    expect(watcher.state()).toMatchObject({ ready: true, stale: false, services: 0 });
  });

  it('shows a registered service within 2 s, normalized', async () => {
    await registerService(consul.client, web('web-1', 9001));
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
    await registerService(consul.client, web('web-2', 9002));
    const snapshot = await recorder.waitFor((s) => instancesOf(s, 'web')?.length === 2, 2_000);
    expect(instancesOf(snapshot, 'web')?.map((i) => i.id)).toEqual(['web-1', 'web-2']);
  });

  it('turns a failed TTL check into status critical', async () => {
    await updateCheck(consul.client, serviceCheckId('web-1'), 'critical', 'failing on purpose');
    const snapshot = await recorder.waitFor((s) => instancesOf(s, 'web')?.[0]?.status === 'critical', 2_000);
    expect(instancesOf(snapshot, 'web')?.map((i) => i.status)).toEqual(['critical', 'passing']);
  });

  it('carries keys written under ipx/ and nothing outside it', async () => {
    await putKv(consul.agent.address, 'ipx/services/web', '{"timeout":"2s"} ✓');
    await putKv(consul.agent.address, 'other/key', 'ignored');
    const snapshot = await recorder.waitFor((s) => s.kv.length > 0, 2_000);
    expect(snapshot.kv).toEqual([{ key: 'ipx/services/web', value: '{"timeout":"2s"} ✓' }]);
  });

  it('emits nothing when Consul\'s index moves but the state is the same', async () => {
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
    await reweigh({ Passing: 7, Warning: 1 });
    const snapshot = await recorder.waitFor((s) => instancesOf(s, 'web')?.[1]?.weight === 7, 2_000);
    expect(instancesOf(snapshot, 'web')?.map((i) => [i.id, i.weight])).toEqual([
      ['web-1', 1],
      ['web-2', 7],
    ]);
  });

  it('drops a deregistered instance, then the service', async () => {
    await deregisterService(consul.client, 'web-2');
    const one = await recorder.waitFor((s) => instancesOf(s, 'web')?.length === 1, 2_000);
    expect(instancesOf(one, 'web')?.map((i) => i.id)).toEqual(['web-1']);
    await deregisterService(consul.client, 'web-1');
    await recorder.waitFor((s) => instancesOf(s, 'web') === undefined, 2_000);
  });

  // No check moves for these: only the catalog wakes, and the node scan finds which service changed.
  it('follows instances registered without any check: added, re-registered on another port, removed', async () => {
    const plain = (id: string, port: number) => ({ name: 'plain', id, address: '127.0.0.1', port });
    const step = async (change: () => Promise<void>, done: (instances: ReturnType<typeof instancesOf>) => boolean) => {
      const from = recorder.snapshots.length;
      await change();
      return instancesOf(await recorder.waitFor((s) => done(instancesOf(s, 'plain')), 2_000, from), 'plain');
    };
    await step(() => registerService(consul.client, plain('plain-1', 7001)), (i) => i?.length === 1);
    await step(() => registerService(consul.client, plain('plain-2', 7002)), (i) => i?.length === 2);
    await step(() => registerService(consul.client, plain('plain-2', 7003)), (i) => i?.[1]?.port === 7003);
    const left = await step(() => deregisterService(consul.client, 'plain-1'), (i) => i?.length === 1);
    expect(left).toMatchObject([{ id: 'plain-2', port: 7003, status: 'passing' }]);
    await step(() => deregisterService(consul.client, 'plain-2'), (i) => i === undefined);
  });

  it('reads the same snapshot once, without blocking', async () => {
    await registerService(consul.client, { ...web('api-1', 9101), name: 'api' });
    const watched = await recorder.waitFor((s) => instancesOf(s, 'api')?.length === 1, 2_000);
    expect(await readSnapshot(consul.client, consul.config)).toEqual(watched);
  });

  it('reports errors and emits nothing while Consul is down', async () => {
    const count = recorder.snapshots.length;
    const last = recorder.last;
    errors.length = 0;
    await consul.agent.stop();

    // The three long-held reads fail; the services' own reads wait for a signal that moves.
    const keys = ['catalog.services', 'health.checks(not passing)', 'kv.recurse("ipx/")'];
    await waitUntil(() => keys.every((key) => errors.some((e) => e.key === key && e.attempt >= 2)), 'errors from every view', 5_000);
    await sleep(500);
    expect(recorder.snapshots.length).toBe(count);
    expect(instancesOf(recorder.last, 'api')).toHaveLength(1);
    expect(recorder.last).toBe(last);
    expect(errors[0]?.message).toMatch(/^consul: GET \/v1\/\S+ failed \(.+\); /);

    const state = watcher.state();
    expect(state).toMatchObject({ ready: true, stale: true });
    expect(state.failing).toEqual([...keys].sort());
    expect(state.staleSince).toBeLessThanOrEqual(Date.now());
    await expect(readSnapshot(consul.client, consul.config)).rejects.toBeInstanceOf(ConsulError);
  });

  it('resumes by itself when Consul is back on the same address', async () => {
    revived = await startDevAgent({ httpPort: consul.agent.httpPort, cwd: new URL('../..', import.meta.url).pathname });
    await registerService(consul.client, web('web-9', 9009));
    // A restarted dev agent has lost its data: the real state is "only web-9".
    const snapshot = await recorder.waitFor((s) => instancesOf(s, 'web')?.length === 1, 5_000, recorder.snapshots.length);
    expect(snapshot.services.map((s) => s.name)).toEqual(['web']);
    await waitUntil(() => !watcher.state().stale, 'the watcher to be current again', 3_000);
  });

  it('stops promptly while requests are blocked', async () => {
    const started = Date.now();
    await watcher.stop();
    await watcher.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

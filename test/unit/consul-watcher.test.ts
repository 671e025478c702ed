/**
 * The watcher's fan-in rules against an in-memory fake of the Consul client
 * (blocking reads, failures per endpoint, held answers). The real agent is
 * exercised in test/integration/consul-watcher.test.ts.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.ts';
import type { ConsulClient, ReadOptions, ReadResult } from '../../src/consul/client.ts';
import type { WatchLimits } from '../../src/consul/assemble.ts';
import { createWatcher, type ConsulWatcher } from '../../src/consul/watcher.ts';
import { ConsulError } from '../../src/errors.ts';
import { normalizeInstances } from '../../src/consul/normalize.ts';
import { instancesOf, sleep, SnapshotRecorder, waitUntil } from '../helpers/consul.ts';

type Endpoint = 'catalog' | 'kv' | 'checks-critical' | 'checks-warning' | 'nodes' | 'node-services' | 'node-checks' | 'intentions' | `health:${string}`;

class FakeConsul implements ConsulClient {
  readonly address = 'http://fake:8500';
  index = 1;
  services = new Map<string, string[]>(); // service -> instance ids
  kv: Array<{ Key: string; Value: string }> = [];
  readonly failing = new Set<Endpoint>();
  readonly held = new Set<Endpoint>();
  readonly inFlight = new Map<Endpoint, number>();
  private wakers = new Set<() => void>();

  /** Applies a change and wakes blocked reads, as a Consul write does. */
  change(apply: () => void = () => {}): void {
    apply();
    this.index += 1;
    this.wake();
  }

  wake(): void {
    for (const wake of [...this.wakers]) wake();
  }

  catalogServices(options: ReadOptions): Promise<ReadResult> {
    return this.read('catalog', options, () => Object.fromEntries([...this.services.keys()].map((name) => [name, []])));
  }

  readonly reads = new Map<Endpoint, number>();

  healthService(service: string, options: ReadOptions): Promise<ReadResult> {
    return this.read(`health:${service}`, options, () =>
      (this.services.get(service) ?? []).map((id) => ({ Node: FakeConsul.node, Service: this.instance(service, id), Checks: this.nodeChecks() })),
    );
  }

  static readonly node = { Node: 'n1', Address: '10.0.0.1' };

  private instance(service: string, id: string) {
    return { ID: id, Service: service, Port: 80, Tags: [], Meta: {}, ModifyIndex: this.index };
  }

  private nodeChecks() {
    return [
      { Node: 'n1', CheckID: 'serfHealth', Status: 'passing', Output: `at ${this.index}`, ServiceID: '' },
      { Node: 'n1', CheckID: 'disk', Status: 'warning', ServiceID: '' },
    ];
  }

  healthNode(_node: string, options: ReadOptions): Promise<ReadResult> {
    return this.read('node-checks', options, () => this.nodeChecks());
  }

  // A failing node check written on every change (as output updates are): every service is read again.
  healthState(state: 'critical' | 'warning', options: ReadOptions): Promise<ReadResult> {
    return this.read(`checks-${state}`, options, () => (state === 'warning' ? [{ Node: 'n1', CheckID: 'disk', Status: 'warning', ServiceID: '', ServiceName: '', ModifyIndex: this.index }] : []));
  }

  catalogNodes(options: ReadOptions): Promise<ReadResult> {
    return this.read('nodes', options, () => [{ Node: 'n1' }]);
  }

  catalogNode(_node: string, options: ReadOptions): Promise<ReadResult> {
    return this.read('nodes', options, () => ({
      Node: FakeConsul.node,
      Services: Object.fromEntries([...this.services].flatMap(([service, ids]) => ids.map((id) => [id, this.instance(service, id)]))),
    }));
  }

  catalogNodeServices(_node: string, options: ReadOptions): Promise<ReadResult> {
    return this.read('node-services', options, () => ({
      Node: FakeConsul.node,
      Services: [...this.services].flatMap(([service, ids]) => ids.map((id) => this.instance(service, id))),
    }));
  }

  kvRecurse(_prefix: string, options: ReadOptions): Promise<ReadResult> {
    return this.read('kv', options, () => (this.kv.length ? this.kv : undefined));
  }

  intentionList: Array<{ SourceName: string; DestinationName: string; Action: string }> = [];

  intentions(options: ReadOptions): Promise<ReadResult> {
    return this.read('intentions', options, () => this.intentionList);
  }

  async kvCreate(): Promise<boolean> {
    return true;
  }
  async kvDelete(): Promise<void> {}
  async registerService(): Promise<void> {}
  async deregisterService(): Promise<void> {}
  async updateCheck(): Promise<void> {}
  close(): void {}

  /** The longest wait each endpoint was asked to block for. */
  readonly waits = new Map<Endpoint, number>();

  private async read(endpoint: Endpoint, options: ReadOptions, body: () => unknown): Promise<ReadResult> {
    if (options.wait !== undefined) this.waits.set(endpoint, Math.max(this.waits.get(endpoint) ?? 0, options.wait));
    this.inFlight.set(endpoint, (this.inFlight.get(endpoint) ?? 0) + 1);
    this.reads.set(endpoint, (this.reads.get(endpoint) ?? 0) + 1);
    try {
      const since = Number(options.index ?? '0');
      // Block while held, or (blocking query) until the index passes the one asked for.
      while (this.held.has(endpoint) || (!this.failing.has(endpoint) && since > 0 && since >= this.index)) {
        await this.nextWake(options.signal);
      }
      if (this.failing.has(endpoint)) throw new ConsulError(`consul: GET ${endpoint} failed (fake outage)`);
      return { body: body(), index: String(this.index) };
    } finally {
      this.inFlight.set(endpoint, (this.inFlight.get(endpoint) ?? 1) - 1);
    }
  }

  private nextWake(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        this.wakers.delete(done);
        signal?.removeEventListener('abort', abort);
        resolve();
      };
      const abort = (): void => {
        this.wakers.delete(done);
        reject(new ConsulError('consul: request aborted'));
      };
      if (signal?.aborted) return abort();
      this.wakers.add(done);
      signal?.addEventListener('abort', abort, { once: true });
    });
  }
}

const config = parseConfig({ consul: { wait: '1s' } }).consul;
const timing = { minIntervalMs: 1, jitterMs: 0, backoffBaseMs: 5, backoffMaxMs: 20 };
let watcher: ConsulWatcher | undefined;

function setup(fake: FakeConsul, onSnapshot?: () => void, limits?: WatchLimits, intentions = false) {
  const recorder = new SnapshotRecorder();
  const errors: Array<{ key: string; attempt: number }> = [];
  watcher = createWatcher({
    client: fake,
    config,
    timing,
    intentions,
    ...(limits ? { limits } : {}),
    // A real pino logger: checks that it fits WatcherLogger and runs the logging paths.
    logger: pino({ level: 'silent' }),
    onSnapshot: (snapshot) => {
      onSnapshot?.();
      recorder.push(snapshot);
    },
    onError: (_error, info) => errors.push(info),
  });
  watcher.start();
  return { recorder, errors, watcher };
}

afterEach(async () => {
  await watcher?.stop();
  watcher = undefined;
});

describe('createWatcher (fan-in rules)', () => {
  it('emits nothing until the catalog, the KV prefix and every service have been read', async () => {
    const fake = new FakeConsul();
    fake.services.set('web', ['web-1']).set('api', ['api-1']);
    fake.held.add('health:api');
    const { recorder, watcher } = setup(fake);

    await waitUntil(() => (fake.inFlight.get('health:api') ?? 0) > 0, 'the api health read');
    await sleep(30);
    expect(recorder.snapshots).toEqual([]);
    expect(watcher.state().ready).toBe(false);

    fake.held.delete('health:api');
    fake.wake();
    const first = await recorder.waitFor(() => true);
    expect(first.services.map((s) => [s.name, s.instances.length])).toEqual([['api', 1], ['web', 1]]);
    expect(recorder.snapshots).toHaveLength(1);
    expect(watcher.state()).toMatchObject({ ready: true, stale: false, services: 2, failing: [] });
  });

  it('with intentions watched: waits for their first answer, carries them, and follows their changes', async () => {
    const fake = new FakeConsul();
    fake.services.set('web', ['web-1']);
    fake.intentionList = [{ SourceName: 'checkout', DestinationName: 'web', Action: 'deny' }];
    fake.held.add('intentions');
    const { recorder } = setup(fake, undefined, undefined, true);

    await waitUntil(() => (fake.inFlight.get('intentions') ?? 0) > 0, 'the intentions read');
    await sleep(30);
    expect(recorder.snapshots).toEqual([]);

    fake.held.delete('intentions');
    fake.wake();
    const first = await recorder.waitFor(() => true);
    expect(first.intentions).toEqual([{ source: 'checkout', destination: 'web', action: 'deny' }]);

    fake.change(() => (fake.intentionList = []));
    const next = await recorder.waitFor((s) => s.intentions?.length === 0, 2_000);
    expect(next.services.map((s) => s.name)).toEqual(['web']);
  });

  it('ignores Consul\'s own service, also when only it changes in the catalog', async () => {
    const fake = new FakeConsul();
    fake.services.set('consul', ['consul']).set('web', ['web-1']);
    const { recorder } = setup(fake);
    const first = await recorder.waitFor(() => true);
    expect(first.services.map((s) => s.name)).toEqual(['web']);

    // The list of services (here the node's view) sees new data, but the snapshot would be the same: nothing is emitted.
    fake.change(() => fake.services.delete('consul'));
    await waitUntil(() => fake.inFlight.get('node-services') === 1, 'the node view to block again');
    await sleep(20);
    expect(recorder.snapshots).toHaveLength(1);
  });

  it('while its node views follow every node, lists the services from them: a registration reads no catalog list', async () => {
    const fake = new FakeConsul();
    fake.services.set('web', ['web-1']);
    const { recorder, watcher } = setup(fake);
    await recorder.waitFor(() => true);
    // Node views start once every service has been read. The catalog's service list gives way to
    // the node list once the node's view has answered, and once its own call in flight has
    // answered (the next write anywhere, or consul.wait, which this fake does not keep).
    await waitUntil(() => (fake.reads.get('node-services') ?? 0) >= 2, 'the node view to have answered');
    fake.change(() => {});
    await waitUntil(() => fake.inFlight.get('nodes') === 1 && !fake.inFlight.get('catalog'), 'the node list to be watched instead');
    const catalogReads = fake.reads.get('catalog');
    fake.change(() => fake.services.set('api', ['api-1']));
    const next = await recorder.waitFor((s) => instancesOf(s, 'api')?.length === 1, 2_000);
    expect(next.services.map((s) => s.name)).toEqual(['api', 'web']);
    fake.change(() => fake.services.delete('web'));
    await recorder.waitFor((s) => instancesOf(s, 'web') === undefined, 2_000);
    expect(fake.reads.get('catalog')).toBe(catalogReads);
    expect(watcher.state().failing).toEqual([]);
  });

  it('holds node views for 5 minutes, and every other blocking query for consul.wait', async () => {
    const fake = new FakeConsul();
    fake.services.set('web', ['web-1']);
    const { recorder } = setup(fake);
    await recorder.waitFor(() => true);
    fake.change(() => {});
    await waitUntil(() => fake.waits.has('node-services') && fake.waits.has('checks-critical') && fake.waits.has('kv'), 'blocking reads');
    expect(fake.waits.get('node-services')).toBe(300_000);
    expect(fake.waits.get('checks-critical')).toBe(config.wait);
    expect(fake.waits.get('kv')).toBe(config.wait);
  });

  it('leaves out a service whose first read failed, only until it is read', async () => {
    const fake = new FakeConsul();
    fake.services.set('web', ['web-1']).set('api', ['api-1']);
    fake.failing.add('health:api');
    const { recorder, errors } = setup(fake);

    const first = await recorder.waitFor(() => true);
    expect(first.services.map((s) => s.name)).toEqual(['web']);
    expect(errors.some((e) => e.key === 'health.service("api")')).toBe(true);

    fake.failing.delete('health:api');
    const later = await recorder.waitFor((s) => instancesOf(s, 'api') !== undefined);
    expect(instancesOf(later, 'api')?.map((i) => i.id)).toEqual(['api-1']);
  });

  it('keeps the last good instances of a failing service while other data changes', async () => {
    const fake = new FakeConsul();
    fake.services.set('web', ['web-1', 'web-2']);
    const { recorder, errors, watcher } = setup(fake);
    await recorder.waitFor(() => true);

    fake.change(() => fake.failing.add('health:web'));
    await waitUntil(() => errors.filter((e) => e.key === 'health.service("web")').length >= 2, 'repeated errors');
    expect(errors.filter((e) => e.key === 'health.service("web")').map((e) => e.attempt).slice(0, 2)).toEqual([1, 2]);
    expect(watcher.state()).toMatchObject({ ready: true, stale: true, failing: ['health.service("web")'] });
    expect(watcher.state().lastError?.key).toBe('health.service("web")');

    fake.change(() => (fake.kv = [{ Key: 'ipx/services/web', Value: '{}' }]));
    const withKv = await recorder.waitFor((s) => s.kv.length === 1);
    expect(instancesOf(withKv, 'web')?.map((i) => i.id)).toEqual(['web-1', 'web-2']);
    for (const snapshot of recorder.snapshots) expect(instancesOf(snapshot, 'web')).toHaveLength(2);

    fake.change(() => fake.failing.delete('health:web'));
    await waitUntil(() => !watcher.state().stale, 'recovery');
  });

  it('drops a service that left the catalog and stops reading its health', async () => {
    const fake = new FakeConsul();
    fake.services.set('web', ['web-1']).set('api', ['api-1']);
    const { recorder, watcher } = setup(fake);
    await recorder.waitFor((s) => s.services.length === 2);

    fake.change(() => fake.services.delete('api'));
    const after = await recorder.waitFor((s) => s.services.length === 1);
    expect(after.services.map((s) => s.name)).toEqual(['web']);
    await waitUntil(() => (fake.inFlight.get('health:api') ?? 0) === 0, 'the api view to end');
    expect(watcher.state().services).toBe(1);
  });

  it('reads no service beyond limits.services and limits.fieldLength, and names the services left out', async () => {
    const fake = new FakeConsul();
    const long = 'x'.repeat(65);
    fake.services.set('web', ['web-1']).set('db', ['db-1']).set('api', ['api-1']).set(long, ['x-1']);
    const { recorder, watcher } = setup(fake, undefined, { services: 2, fieldLength: 64 });

    const first = await recorder.waitFor(() => true);
    expect(first.services.map((s) => s.name)).toEqual(['api', 'db']);
    expect(first.unwatched).toEqual(['web', long]);
    expect([...fake.inFlight.keys()].filter((key) => key.startsWith('health:')).sort()).toEqual(['health:api', 'health:db']);
    expect(watcher.state().services).toBe(2);

    // A place frees up: the next name in order is read.
    fake.change(() => fake.services.delete('api'));
    const after = await recorder.waitFor((s) => s.services.some((entry) => entry.name === 'web'));
    expect(after.services.map((s) => s.name)).toEqual(['db', 'web']);
    expect(after.unwatched).toEqual([long]);
    await waitUntil(() => (fake.inFlight.get('health:api') ?? 0) === 0, 'the api view to end');
    expect(fake.inFlight.has(`health:${long}`)).toBe(false);
  });

  it('emits nothing when Consul\'s index moves but the data does not', async () => {
    const fake = new FakeConsul();
    fake.services.set('web', ['web-1']);
    const { recorder } = setup(fake);
    await recorder.waitFor(() => true);
    for (let i = 0; i < 5; i++) {
      fake.change(); // e.g. a check's output changed
      await sleep(10);
    }
    expect(recorder.snapshots).toHaveLength(1);
  });

  it('emits nothing while Consul is down from the start', async () => {
    const fake = new FakeConsul();
    fake.failing.add('catalog').add('kv');
    const { recorder, errors, watcher } = setup(fake);
    await waitUntil(() => errors.length >= 4, 'errors');
    expect(recorder.snapshots).toEqual([]);
    expect(watcher.state()).toMatchObject({ ready: false, stale: true });
  });

  it('survives a consumer that throws', async () => {
    const fake = new FakeConsul();
    fake.services.set('web', ['web-1']);
    let calls = 0;
    setup(fake, () => {
      calls += 1;
      throw new Error('consumer bug');
    });
    await waitUntil(() => calls === 1, 'the first snapshot');
    fake.change(() => fake.services.set('web', ['web-1', 'web-2']));
    await waitUntil(() => calls === 2, 'the next snapshot after a throwing consumer');
  });

  it('stop() aborts blocked reads, is idempotent and ends all emission', async () => {
    const fake = new FakeConsul();
    fake.services.set('web', ['web-1']);
    const { recorder, watcher } = setup(fake);
    await recorder.waitFor(() => true);
    await waitUntil(() => (fake.inFlight.get('nodes') === 1 || fake.inFlight.get('catalog') === 1) && fake.inFlight.get('checks-critical') === 1 && fake.inFlight.get('checks-warning') === 1, 'blocked reads');

    const first = watcher.stop();
    expect(watcher.stop()).toBe(first);
    await first;
    expect([...fake.inFlight.values()].every((n) => n === 0)).toBe(true);

    fake.change(() => fake.services.set('web', ['web-1', 'web-2']));
    await sleep(30);
    expect(recorder.snapshots).toHaveLength(1);
    watcher.start(); // after stop: does nothing
    await sleep(10);
    expect([...fake.inFlight.values()].every((n) => n === 0)).toBe(true);
  });

  it('reads the first sync of many services on few nodes by node, the same as reading each service', async () => {
    const fake = new FakeConsul();
    for (let i = 0; i < 150; i++) fake.services.set(`svc-${i}`, [`svc-${i}-a`, `svc-${i}-b`]);
    const { recorder } = setup(fake);
    const first = await recorder.waitFor(() => true, 5_000);
    expect(first.services).toHaveLength(150);
    // Two requests for the one node instead of 150 service reads.
    expect([...fake.reads.keys()].filter((key) => key.startsWith('health:'))).toEqual([]);
    expect(fake.reads.get('node-checks')).toBe(1);
    const web = first.services.find((s) => s.name === 'svc-7');
    expect(web?.instances).toEqual(normalizeInstances((await fake.healthService('svc-7', { index: '0' })).body, 'svc-7'));
    expect(web?.instances.map((i) => [i.id, i.status, i.address, i.port])).toEqual([
      ['svc-7-a', 'warning', '10.0.0.1', 80],
      ['svc-7-b', 'warning', '10.0.0.1', 80],
    ]);
    // Later changes are read per service, as before.
    fake.change(() => fake.services.set('svc-7', ['svc-7-a']));
    const next = await recorder.waitFor((s) => s.services.find((x) => x.name === 'svc-7')?.instances.length === 1, 5_000);
    expect(next.services).toHaveLength(150);
  });

  it('reads each service when the read by node fails', async () => {
    const fake = new FakeConsul();
    for (let i = 0; i < 120; i++) fake.services.set(`svc-${i}`, [`svc-${i}-a`]);
    fake.failing.add('node-checks');
    const { recorder } = setup(fake);
    const first = await recorder.waitFor(() => true, 5_000);
    expect(first.services).toHaveLength(120);
    expect(first.services.every((s) => s.instances.length === 1)).toBe(true);
    expect([...fake.reads.keys()].filter((key) => key.startsWith('health:'))).toHaveLength(120);
  });
});

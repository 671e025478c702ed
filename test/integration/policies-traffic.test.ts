/**
 * Policies as a caller sees them, through the whole pipeline: Consul (meta
 * and KV) → ipx → real HAProxy → programmable upstreams.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deregisterService } from '../../src/consul/index.ts';
import { putKv } from '../helpers/consul.ts';
import { eventually } from '../helpers/http.ts';
import { request } from '../helpers/policy-http.ts';
import { startPolicyStack, type PolicyStack } from '../helpers/policy-stack.ts';
import type { Echo, PolicyBackend } from '../helpers/policy-backend.ts';

let stack: PolicyStack;
const backends: PolicyBackend[] = [];

async function register(service: string, id: string, behaviour: Parameters<PolicyStack['instance']>[3] = {}, meta: Record<string, string> = {}): Promise<PolicyBackend> {
  const b = await stack.instance(service, id, meta, behaviour);
  backends.push(b);
  return b;
}

const call = (service: string, init: Parameters<typeof request>[1] = {}) =>
  request(stack.ipx.http, { ...init, headers: { host: `${service}.service.internal`, ...init.headers } });

const answeredBy = (body: string): string => (JSON.parse(body) as Echo).name;

const reloads = () => stack.reloads();

/** Until `count` instances of `service` take traffic. */
async function routable(service: string, count: number): Promise<void> {
  await eventually(
    async () => {
      const seen = new Set<string>();
      for (let i = 0; i < count * 6; i++) {
        const res = await call(service);
        if (res.status === 200) seen.add(answeredBy(res.body));
      }
      return seen.size >= count ? true : undefined;
    },
    15_000,
    `${count} instances of ${service} routable`,
  );
}

beforeAll(async () => {
  stack = await startPolicyStack('policies', {
    policies: {
      defaults: { timeouts: { connect: '1s' } },
      services: {
        slow: { timeouts: { server: '400ms' }, retries: { attempts: 0 } },
        flaky: { retries: { attempts: 2, on: ['conn-failure', 'empty-response', '503'] } },
        eject: { circuitBreaker: { consecutiveErrors: 3, slowStart: '0s' }, healthCheck: { path: '/health', interval: '1s', rise: 1, fall: 3 }, retries: { attempts: 0 } },
        full: { circuitBreaker: { maxConnsPerInstance: 1, maxQueuePerInstance: 1 }, timeouts: { queue: '300ms' } },
        // Services of their own for the cases that change a policy or the instances, so no case sees another's change.
        widen: { circuitBreaker: { maxConnsPerInstance: 1, maxQueuePerInstance: 1 }, timeouts: { queue: '300ms' } },
        grow: { circuitBreaker: { consecutiveErrors: 3, slowStart: '0s' }, healthCheck: { path: '/health', interval: '1s', rise: 1, fall: 3 }, retries: { attempts: 0 } },
      },
    },
  });
  await register('slow', 'slow-1', { delayMs: 1500 });
  await register('flaky', 'flaky-good');
  await register('flaky', 'flaky-bad', { status: 503 });
  await register('broken', 'broken-1', { hangUp: true });
  await register('eject', 'eject-good');
  await register('eject', 'eject-bad');
  await register('full', 'full-1', { delayMs: 1500 });
  await register('widen', 'widen-1', { delayMs: 1500 });
  await register('grow', 'grow-1');
  for (const name of ['u1', 'u2', 'u3']) await register('sticky', `sticky-${name}`, {}, { 'ipx-balance': 'hash-header:X-User' });
  for (const name of ['h1', 'h2']) await register('hashed', `hashed-${name}`, {}, { 'ipx-balance': 'hash-header:X-User' });
  for (const name of ['f1', 'f2']) await register('firsts', `firsts-${name}`, {}, { 'ipx-balance': 'first' });
  await stack.applied('slow', 'flaky', 'broken', 'eject', 'full', 'widen', 'grow', 'sticky', 'hashed', 'firsts');
  await routable('flaky', 1);
  await routable('sticky', 3);
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

describe('timeouts and error bodies', () => {
  it('answers 504 upstream_timeout within timeouts.server', async () => {
    const started = performance.now();
    const res = await call('slow');
    const elapsed = performance.now() - started;
    expect(res.status).toBe(504);
    expect(res.headers['content-type']).toBe('application/json');
    expect(JSON.parse(res.body)).toEqual({ error: 'upstream_timeout', message: expect.any(String) });
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(1400);
  });

  it('answers 502 upstream_error when the upstream fails after retries', async () => {
    const before = backends.find((b) => b.name === 'broken-1')?.hits() ?? 0;
    const res = await call('broken');
    expect(res.status).toBe(502);
    expect(JSON.parse(res.body)).toEqual({ error: 'upstream_error', message: expect.any(String) });
    // The built-in retry-on is conn-failure only: an empty response is not retried unless listed.
    expect((backends.find((b) => b.name === 'broken-1')?.hits() ?? 0) - before).toBe(1);
  });

  it('a KV change of timeouts.server reaches HAProxy without restarting ipx, and without a reload', async () => {
    const before = await reloads();
    await putKv(stack.consul.agent.address, 'ipx/services/slow', 'timeouts: { server: 3s }');
    await eventually(async () => ((await call('slow')).status === 200 ? true : undefined), 15_000, 'the slow service to answer within the new timeout');
    await putKv(stack.consul.agent.address, 'ipx/services/slow', '{}');
    await eventually(async () => ((await call('slow')).status === 504 ? true : undefined), 15_000, 'the timeout to be back');
    expect(await reloads()).toBe(before);
  });
});

describe('retries', () => {
  it('no failed GET while one instance of two answers 503, and a POST is not retried', async () => {
    const statuses = new Map<number, number>();
    for (let i = 0; i < 200; i++) {
      const res = await call('flaky');
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
    expect(Object.fromEntries(statuses)).toEqual({ 200: 200 });
    expect(backends.find((b) => b.name === 'flaky-bad')?.hits()).toBeGreaterThan(0);
    const posts = [];
    for (let i = 0; i < 20; i++) posts.push((await call('flaky', { method: 'POST', body: 'x' })).status);
    expect(posts).toContain(503);
    expect(posts).toContain(200);
  });
});

describe('load balancing', () => {
  it('hash-header:X-User sends a user to the same instance every time and spreads users', async () => {
    const byUser = new Map<string, Set<string>>();
    for (let i = 0; i < 300; i++) {
      const user = `user-${i % 30}`;
      const res = await call('sticky', { headers: { 'x-user': user } });
      expect(res.status).toBe(200);
      const set = byUser.get(user) ?? new Set<string>();
      set.add(answeredBy(res.body));
      byUser.set(user, set);
    }
    for (const set of byUser.values()) expect(set.size).toBe(1);
    expect(new Set([...byUser.values()].flatMap((s) => [...s])).size).toBe(3);
  });

  it('hash-header keeps working with a server added at runtime, without a reload', async () => {
    await routable('hashed', 2);
    const before = await reloads();
    await register('hashed', 'hashed-h3', {}, { 'ipx-balance': 'hash-header:X-User' });
    await routable('hashed', 3);
    expect(await reloads()).toBe(before);
  });

  it('first sends every request to the same instance while it has room', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) seen.add(answeredBy((await call('firsts')).body));
    expect(seen.size).toBe(1);
  });
});

describe('circuit breaking', () => {
  it('ejects an instance after consecutive errors, sends it nothing, and takes it back after recovery', async () => {
    await routable('eject', 2);
    const bad = backends.find((b) => b.name === 'eject-bad') as PolicyBackend;
    bad.behaviour.status = 500;
    bad.behaviour.health = 500;
    // Ejected by its errors, not by the active check (3 failed checks at 1 s would take seconds and many more failures).
    let failed = 0;
    const started = performance.now();
    for (let i = 0; i < 40; i++) if ((await call('eject')).status !== 200) failed++;
    expect(failed).toBe(3);
    expect(performance.now() - started).toBeLessThan(2000);
    const hits = bad.hits();
    for (let i = 0; i < 100; i++) {
      const res = await call('eject');
      expect(res.status).toBe(200);
      expect(answeredBy(res.body)).toBe('eject-good');
    }
    expect(bad.hits()).toBe(hits);
    bad.behaviour.status = 200;
    bad.behaviour.health = 200;
    await routable('eject', 2);
  });

  it('answers 503 fast once an instance and its queue are full', async () => {
    const started = performance.now();
    const answers = await Promise.all(
      [0, 1, 2, 3].map(async () => {
        const res = await call('full');
        return { status: res.status, body: res.body, ms: performance.now() - started };
      }),
    );
    const ok = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 503);
    expect(ok).toHaveLength(1);
    expect(refused).toHaveLength(3);
    for (const r of refused) {
      expect(JSON.parse(r.body)).toMatchObject({ error: 'service_unavailable' });
      expect(r.ms).toBeLessThan(1200);
    }
  });
});

describe('policy values at runtime', () => {
  it('a KV change of maxConnsPerInstance lets more requests through at once, without a reload', async () => {
    const before = await reloads();
    await putKv(stack.consul.agent.address, 'ipx/services/widen', 'circuitBreaker: { maxConnsPerInstance: 4 }');
    await eventually(
      async () => {
        const statuses = await Promise.all([0, 1, 2, 3].map(async () => (await call('widen')).status));
        return statuses.every((status) => status === 200) ? true : undefined;
      },
      15_000,
      'four requests at once to be served',
    );
    expect(await reloads()).toBe(before);
  });
});

describe('runtime-added servers carry the policy', () => {
  it('a new instance of a service with checks and ejection is added at runtime and serves', async () => {
    await routable('grow', 1);
    const before = await reloads();
    const b = await register('grow', 'grow-2');
    await eventually(
      async () => {
        for (let i = 0; i < 12; i++) if (answeredBy((await call('grow')).body) === 'grow-2') return true;
        return undefined;
      },
      15_000,
      'the runtime-added server to serve',
    );
    expect(await reloads()).toBe(before);
    // Its active check runs too (a runtime-added server starts with checks off unless enabled).
    await eventually(async () => (b.healthHits() > 0 ? true : undefined), 5_000, 'the active check of the runtime-added server');
    await deregisterService(stack.consul.client, 'grow-2');
  });
});

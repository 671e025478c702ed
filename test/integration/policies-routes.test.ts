/**
 * Path routes and failover as a caller sees them: any Host that is not a
 * service host, longest prefix first, prefix stripping, a contested prefix
 * kept by one service; failover while no instance is up, with no reload.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceCheckId, updateCheck } from '../../src/consul/index.ts';
import { eventually } from '../helpers/http.ts';
import { request } from '../helpers/policy-http.ts';
import { startPolicyStack, type PolicyStack } from '../helpers/policy-stack.ts';
import { startPolicyBackend, type Echo, type PolicyBackend } from '../helpers/policy-backend.ts';

let stack: PolicyStack;
let legacy: PolicyBackend;

async function get(path: string, host = 'gateway.example'): Promise<{ status: number; echo?: Echo; body: string }> {
  const res = await request(stack.ipx.http, { path, headers: { host } });
  return { status: res.status, body: res.body, ...(res.status === 200 ? { echo: JSON.parse(res.body) as Echo } : {}) };
}

beforeAll(async () => {
  legacy = await startPolicyBackend('legacy-1', { delayMs: 600 });
  stack = await startPolicyStack('routes', {
    static: { legacy: { instances: [`127.0.0.1:${legacy.port}`], policy: { timeouts: { server: '300ms' }, routes: [{ pathPrefix: '/legacy', stripPrefix: true }] } } },
    policies: {
      services: {
        archive: { routes: [{ pathPrefix: '/orders/archive', stripPrefix: true }] },
        zeta: { routes: [{ pathPrefix: '/orders' }] },
        orders: { failover: { service: 'orders-dr' } },
      },
    },
  });
  await stack.instance('orders', 'orders-1', { 'ipx-path-prefix': '/orders' });
  await stack.instance('orders-dr', 'orders-dr-1');
  await stack.instance('archive', 'archive-1');
  await stack.instance('zeta', 'zeta-1');
  await stack.applied('orders', 'orders-dr', 'archive', 'zeta');
  await eventually(async () => ((await get('/orders/archive/7')).echo?.name === 'archive-1' ? true : undefined), 15_000, 'routes to apply');
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await legacy?.close();
});

describe('path routes', () => {
  it('routes a prefix on any Host that is not a service host, keeping the path', async () => {
    for (const host of ['gateway.example', 'localhost:8080', '10.0.0.1']) {
      const res = await get('/orders/42?x=1', host);
      expect(res.echo).toMatchObject({ name: 'orders-1', url: '/orders/42?x=1' });
    }
    expect((await get('/orders')).echo?.name).toBe('orders-1');
  });

  it('takes the longest prefix, and strips it when asked', async () => {
    expect((await get('/orders/archive/7?y=2')).echo).toMatchObject({ name: 'archive-1', url: '/7?y=2' });
    expect((await get('/orders/archive')).echo).toMatchObject({ name: 'archive-1', url: '/' });
  });

  it('matches whole segments only, and answers 404 unknown_service elsewhere', async () => {
    for (const path of ['/ordersx', '/other', '/']) {
      const res = await get(path);
      expect(res.status).toBe(404);
      expect(JSON.parse(res.body)).toMatchObject({ error: 'unknown_service' });
    }
  });

  it('keeps a contested prefix with the lower service name, and the service host still routes by Host', async () => {
    for (let i = 0; i < 10; i++) expect((await get('/orders/1')).echo?.name).toBe('orders-1');
    expect((await get('/orders/1', 'zeta.service.internal')).echo?.name).toBe('zeta-1');
  });
});

describe('failover', () => {
  it('sends requests to the failover service while no instance is up, and back after, with no reload', async () => {
    const before = await stack.reloads();
    await updateCheck(stack.consul.client, serviceCheckId('orders-1'), 'critical');
    await eventually(async () => ((await get('/', 'orders.service.internal')).echo?.name === 'orders-dr-1' ? true : undefined), 15_000, 'failover');
    expect((await get('/orders/5')).echo?.name).toBe('orders-dr-1');
    await updateCheck(stack.consul.client, serviceCheckId('orders-1'), 'passing');
    await eventually(async () => ((await get('/', 'orders.service.internal')).echo?.name === 'orders-1' ? true : undefined), 15_000, 'failback');
    expect(await stack.reloads()).toBe(before);
  });
});

describe('static upstreams', () => {
  it('routes a static upstream by Host and by route, with its policy', async () => {
    legacy.behaviour.delayMs = 0;
    expect((await get('/x', 'legacy.service.internal')).echo).toMatchObject({ name: 'legacy-1', url: '/x' });
    expect((await get('/legacy/y')).echo).toMatchObject({ name: 'legacy-1', url: '/y' });
    legacy.behaviour.delayMs = 600;
    const slow = await get('/legacy/y');
    expect(slow.status).toBe(504);
    expect(JSON.parse(slow.body)).toMatchObject({ error: 'upstream_timeout' });
  });
});

/**
 * Composite routes end to end: Consul dev agent → ipx → real HAProxy →
 * aggregator process → each part back through HAProxy → scripted backends.
 * One agent for the file; each case starts its own ipx, HAProxy, aggregator
 * and backends under service names of its own, so cases hold in any order.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registerService, deregisterService } from '../../src/consul/index.ts';
import { putKv, startTestConsul, type TestConsul } from '../helpers/consul.ts';
import { eventually, get, type SimpleResponse } from '../helpers/http.ts';
import { isAlive, killPids } from '../helpers/haproxy.ts';
import { makeRunDir, removeRunDir, startTestDaemon, type TestDaemon } from '../helpers/ipx-daemon.ts';
import { startScriptedBackend, type Reply, type ScriptedBackend } from '../helpers/json-backend.ts';
import { freePort } from '../helpers/ports.ts';
import { sha256Hex } from '../helpers/jwt.ts';
import type { ConfigInput } from '../../src/config/index.ts';

const DOMAIN = 'service.internal';
/** Any gateway host that is not a service host. */
const GATEWAY_HOST = 'api.gateway.internal';

let consul: TestConsul;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  consul = await startTestConsul();
});

afterAll(async () => {
  await consul?.stop();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

/** A service of this case: a unique name, one instance on a scripted backend. */
async function service(base: string, reply: (url: string) => Reply): Promise<{ name: string; backend: ScriptedBackend }> {
  const name = `${base}-${randomUUID().slice(0, 8)}`;
  const backend = await startScriptedBackend(reply);
  await registerService(consul.client, { name, id: name, address: '127.0.0.1', port: backend.port, check: { ttl: '1h', status: 'passing' } });
  cleanups.push(async () => {
    await deregisterService(consul.client, name);
    await backend.close();
  });
  return { name, backend };
}

/** ipx with its HAProxy and aggregator on free ports; stopped (and killed by PID) after the case. */
async function gateway(extra: ConfigInput): Promise<TestDaemon & { aggregator: string }> {
  const runDir = await makeRunDir('composites');
  const aggregator = `127.0.0.1:${await freePort()}`;
  const ipx = await startTestDaemon(consul.agent.address, runDir, { ...extra, aggregator: { listen: aggregator, ...extra.aggregator } });
  cleanups.push(async () => {
    const pid = await aggregatorPid(aggregator).catch(() => undefined);
    await ipx.stop();
    if (pid !== undefined) killPids([pid]);
    await removeRunDir(runDir);
  });
  return { ...ipx, aggregator };
}

async function aggregatorPid(address: string): Promise<number> {
  const res = await get(`http://${address}/healthz`);
  return (JSON.parse(res.body) as { pid: number }).pid;
}

function call(ipx: TestDaemon, path: string, headers: Record<string, string> = {}): Promise<SimpleResponse> {
  return get(`${ipx.http}${path}`, { host: GATEWAY_HOST, ...headers });
}

async function json(ipx: TestDaemon, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown>; ms: number }> {
  const started = performance.now();
  const res = await call(ipx, path, headers);
  return { status: res.status, body: JSON.parse(res.body) as Record<string, unknown>, ms: performance.now() - started };
}

/** Until `path` answers `status` through HAProxy. */
async function served(ipx: TestDaemon, path: string, status = 200): Promise<void> {
  await eventually(async () => ((await call(ipx, path)).status === status ? true : undefined), 10_000, `${path} to answer ${status}`);
}

describe('composite routes through real HAProxy and Consul', () => {
  it('merges the parts into one JSON answer with a parts report, passes the caller headers to each part and keeps service hosts their own', async () => {
    const orders = await service('orders', (url) => ({ body: { id: url.split('/')[2], total: 42 } }));
    const stock = await service('stock', (url) => ({ body: { url, available: 3 } }));
    const notes = await service('notes', () => ({ body: 'plain text, not JSON' }));
    const big = await service('big', () => ({ body: { blob: 'x'.repeat(2000) } }));
    const ipx = await gateway({
      aggregator: { maxPartBodyBytes: 1024 },
      composites: {
        'order-view': {
          path: '/views/order/{id}',
          deadline: '2s',
          parts: {
            order: { service: orders.name, path: '/orders/{id}', timeout: '1s', required: true },
            stock: { service: stock.name, path: '/stock/{id}?warehouse={warehouse}', timeout: '1s' },
            note: { service: notes.name, path: '/notes/{id}', timeout: '1s' },
            big: { service: big.name, path: '/big/{id}', timeout: '1s' },
          },
        },
      },
    });
    await served(ipx, '/views/order/o-1');

    const credentials = { authorization: 'Bearer caller-token', 'x-api-key': 'key-123', 'x-request-id': 'req-abc-1' };
    const res = await json(ipx, '/views/order/o-1?warehouse=north&ignored=1', credentials);
    expect(res.status).toBe(200);
    expect(res.body.order).toEqual({ id: 'o-1', total: 42 });
    expect(res.body.stock).toEqual({ url: '/stock/o-1?warehouse=north', available: 3 });
    expect(res.body.note).toBe('plain text, not JSON');
    // Beyond aggregator.maxPartBodyBytes: left out, with the reason.
    expect(res.body).not.toHaveProperty('big');
    expect(res.body.parts).toEqual({
      big: { status: 502, durationMs: expect.any(Number), stale: false, error: 'part_too_large' },
      note: { status: 200, durationMs: expect.any(Number), stale: false },
      order: { status: 200, durationMs: expect.any(Number), stale: false },
      stock: { status: 200, durationMs: expect.any(Number), stale: false },
    });

    for (const { backend } of [orders, stock, notes]) {
      const last = backend.seen.at(-1);
      expect(last?.headers).toMatchObject(credentials);
    }
    // A query parameter the part path does not use is dropped; one it uses but the request lacks is left out.
    const noId = await call(ipx, '/views/order/o-2');
    expect(JSON.parse(noId.body).stock).toEqual({ url: '/stock/o-2', available: 3 });
    // Without a request ID from the caller, the composite and its parts share one.
    const shared = noId.headers['x-request-id'];
    expect(shared).toMatch(/^[0-9a-f-]{36}$/);
    for (const { backend } of [orders, stock, notes]) expect(backend.seen.at(-1)?.headers['x-request-id']).toBe(shared);

    // The composite path on a service host is that service's own path.
    const direct = await get(`${ipx.http}/views/order/o-1`, { host: `${orders.name}.${DOMAIN}` });
    expect(JSON.parse(direct.body)).toEqual({ id: 'order', total: 42 });
    // Not a composite path, not a service host: the JSON 404 as before.
    expect((await call(ipx, '/views/other/o-1')).status).toBe(404);
  });

  it('calls the parts in parallel: two 200 ms parts answer in well under 400 ms', async () => {
    const a = await service('slow-a', () => ({ body: { a: true }, delayMs: 200 }));
    const b = await service('slow-b', () => ({ body: { b: true }, delayMs: 200 }));
    const ipx = await gateway({
      composites: {
        both: {
          path: '/views/both/{id}',
          deadline: '1s',
          parts: { a: { service: a.name, path: '/a/{id}', timeout: '800ms', required: true }, b: { service: b.name, path: '/b/{id}', timeout: '800ms', required: true } },
        },
      },
    });
    await served(ipx, '/views/both/1');
    const timings: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await json(ipx, `/views/both/${i}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ a: { a: true }, b: { b: true } });
      timings.push(res.ms);
    }
    expect(Math.min(...timings)).toBeLessThan(330);
  });

  it('serves a late optional part from its last good answer within the deadline, marked stale', async () => {
    const orders = await service('orders', () => ({ body: { id: 7 } }));
    let stockDelay = 0;
    let stockLevel = 5;
    const stock = await service('stock', () => ({ body: { level: stockLevel }, delayMs: stockDelay }));
    const ipx = await gateway({
      composites: {
        view: {
          path: '/views/order/{id}',
          deadline: '600ms',
          parts: {
            order: { service: orders.name, path: '/orders/{id}', timeout: '500ms', required: true },
            stock: { service: stock.name, path: '/stock/{id}', timeout: '150ms', cacheFor: '60s' },
          },
        },
      },
    });
    await served(ipx, '/views/order/7');
    const fresh = await json(ipx, '/views/order/7', { authorization: 'Bearer same' });
    expect(fresh.body.stock).toEqual({ level: 5 });

    stockDelay = 2000;
    stockLevel = 0;
    const stale = await json(ipx, '/views/order/7', { authorization: 'Bearer same' });
    expect(stale.status).toBe(200);
    expect(stale.ms).toBeLessThan(600);
    expect(stale.body.stock).toEqual({ level: 5 });
    expect(stale.body.parts).toMatchObject({ order: { status: 200, stale: false }, stock: { status: 504, stale: true, error: 'timeout' } });

    // Another caller's credentials never get that cached answer: the part is left out with its status.
    const other = await json(ipx, '/views/order/7', { authorization: 'Bearer someone-else' });
    expect(other.status).toBe(200);
    expect(other.body).not.toHaveProperty('stock');
    expect(other.body.parts).toMatchObject({ stock: { status: 504, stale: false, error: 'timeout' } });
  });

  it('answers 502 with the parts report when a required part fails or misses the deadline', async () => {
    let ordersReply: Reply = { status: 500, body: { error: 'boom' } };
    const orders = await service('orders', () => ordersReply);
    const stock = await service('stock', () => ({ body: { level: 1 } }));
    const ipx = await gateway({
      composites: {
        view: {
          path: '/views/order/{id}',
          deadline: '400ms',
          parts: {
            order: { service: orders.name, path: '/orders/{id}', timeout: '300ms', required: true },
            stock: { service: stock.name, path: '/stock/{id}', timeout: '300ms' },
          },
        },
      },
    });
    await served(ipx, '/views/order/1', 502);
    const failed = await json(ipx, '/views/order/1');
    expect(failed.status).toBe(502);
    expect(failed.body).toMatchObject({
      error: 'upstream_error',
      message: expect.stringContaining('"order"'),
      parts: { order: { status: 500, stale: false }, stock: { status: 200, stale: false } },
    });

    ordersReply = { body: { id: 1 }, delayMs: 3000 };
    const late = await json(ipx, '/views/order/1');
    expect(late.status).toBe(502);
    expect(late.ms).toBeLessThan(1000);
    expect(late.body).toMatchObject({ error: 'upstream_error', parts: { order: { status: 504, error: 'timeout' } } });

    // A client error of a required part is the caller's: its status and error code pass through.
    ordersReply = { status: 401, body: { error: 'unauthenticated', message: 'no' } };
    const denied = await json(ipx, '/views/order/1');
    expect(denied.status).toBe(401);
    expect(denied.body).toMatchObject({ error: 'unauthenticated', parts: { order: { status: 401 } } });
  });

  it('respects the caller: each part is authenticated and rate limited as a direct call of the caller would be', async () => {
    const orders = await service('orders', (url) => ({ body: { url } }));
    const stock = await service('stock', (url) => ({ body: { url } }));
    const kvPrefix = `ipx-${randomUUID().slice(0, 8)}/`;
    await putKv(consul.agent.address, `${kvPrefix}apikeys/checkout`, sha256Hex('key-checkout'));
    await putKv(consul.agent.address, `${kvPrefix}apikeys/billing`, sha256Hex('key-billing'));
    const ipx = await gateway({
      consul: { kvPrefix },
      identity: { apiKeys: {} },
      rateLimit: { syncBind: `127.0.0.1:${await freePort()}` },
      policies: { services: { [orders.name]: { auth: { required: true }, rateLimit: { perCaller: '3/m' } } } },
      composites: {
        view: {
          path: '/views/{id}',
          deadline: '2s',
          parts: {
            order: { service: orders.name, path: '/orders/{id}', timeout: '1s', required: true },
            stock: { service: stock.name, path: '/stock/{id}', timeout: '1s' },
          },
        },
      },
    });
    await served(ipx, '/views/1', 401);

    // No credentials: the required part's 401 is the answer, with its challenge.
    const anonymous = await call(ipx, '/views/1');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toBe('Bearer');
    expect(JSON.parse(anonymous.body)).toMatchObject({ error: 'unauthenticated', parts: { order: { status: 401 } } });

    // An API key: each part reaches its service as that caller, the key itself stops at the gateway.
    const checkout = { 'x-api-key': 'key-checkout' };
    const ok = await json(ipx, '/views/1', checkout);
    expect(ok.status).toBe(200);
    expect(ok.body.order).toEqual({ url: '/orders/1' });
    expect(orders.backend.seen.at(-1)?.headers['x-ipx-caller']).toBe('checkout');
    expect(orders.backend.seen.at(-1)?.headers).not.toHaveProperty('x-api-key');
    expect(stock.backend.seen.at(-1)?.headers['x-ipx-caller']).toBe('checkout');

    // orders allows each caller 3 requests a minute: the 4th composite call of checkout is refused, billing's is not.
    expect((await json(ipx, '/views/2', checkout)).status).toBe(200);
    expect((await json(ipx, '/views/3', checkout)).status).toBe(200);
    const limited = await call(ipx, '/views/4', checkout);
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('60');
    expect(JSON.parse(limited.body)).toMatchObject({ error: 'rate_limited', parts: { order: { status: 429 } } });
    expect((await json(ipx, '/views/4', { 'x-api-key': 'key-billing' })).status).toBe(200);
  });

  it('applies a KV change of a composite without restarting ipx, and keeps other traffic when the aggregator dies', async () => {
    const orders = await service('orders', (url) => ({ body: { from: 'orders', url } }));
    const stock = await service('stock', (url) => ({ body: { from: 'stock', url } }));
    const kvPrefix = `ipx-${randomUUID().slice(0, 8)}/`;
    const ipx = await gateway({ consul: { kvPrefix } });

    await putKv(consul.agent.address, `${kvPrefix}composites/kv-view`, JSON.stringify({
      path: '/kv/{id}', deadline: '1s', parts: { order: { service: orders.name, path: '/orders/{id}', timeout: '500ms', required: true } },
    }));
    await served(ipx, '/kv/9');
    // HAProxy answers before the start that launched it has returned: wait for the run to end.
    await ipx.daemon.idle();
    const masterPid = ipx.haproxy.status().pid;
    expect(masterPid).toBeGreaterThan(0);
    expect((await json(ipx, '/kv/9')).body).toMatchObject({ order: { from: 'orders', url: '/orders/9' } });

    // YAML too; a new part shows up on the same daemon and HAProxy master.
    await putKv(consul.agent.address, `${kvPrefix}composites/kv-view`, [
      'path: /kv/{id}',
      'deadline: 1s',
      'parts:',
      `  order: { service: ${orders.name}, path: "/orders/{id}", timeout: 500ms, required: true }`,
      `  stock: { service: ${stock.name}, path: "/stock/{id}", timeout: 500ms }`,
    ].join('\n'));
    await eventually(async () => ((await json(ipx, '/kv/9')).body.stock ? true : undefined), 10_000, 'the stock part to appear');
    expect((await json(ipx, '/kv/9')).body).toMatchObject({ stock: { from: 'stock', url: '/stock/9' } });
    expect(ipx.haproxy.status().pid).toBe(masterPid);

    // The aggregator dies: composite paths answer HAProxy's 503 for a moment, service hosts never notice, and it comes back by itself.
    const pid = await aggregatorPid(ipx.aggregator);
    killPids([pid]);
    await eventually(async () => (!isAlive(pid) ? true : undefined), 2000, 'the aggregator to exit');
    const direct = await get(`${ipx.http}/orders/1`, { host: `${orders.name}.${DOMAIN}` });
    expect(direct.status).toBe(200);
    await served(ipx, '/kv/9');
    expect(await aggregatorPid(ipx.aggregator)).not.toBe(pid);
  });
});

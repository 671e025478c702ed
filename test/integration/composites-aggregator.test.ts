/**
 * The aggregator on its own, in-process: a plain node server stands in for
 * HAProxy's frontend (it answers by Host), so what is checked here is the
 * aggregator's own behaviour, without timing: routing, methods, bodies,
 * client errors of a required part, and route updates that keep the cache.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAggregatorServer, type AggregatorServer, type AggregatorState } from '../../src/composites/index.ts';
import { parseConfig } from '../../src/config/parse.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { parseComposites } from '../../src/model/composites/parse.ts';
import type { CompositeModel } from '../../src/model/composites/types.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const hosts = new Map<string, Handler>();
let gateway: Server;
let aggregator: AggregatorServer;
let gatewayAddress = '';

function routes(composites: ConfigInput['composites']): CompositeModel[] {
  const config = parseConfig({ composites });
  const { routes: built, rejections } = parseComposites({ file: config.composites, kv: [], kvPrefix: 'ipx/', domain: 'test', maxParts: 8 });
  expect(rejections).toEqual([]);
  return [...built];
}

function state(routeList: CompositeModel[]): AggregatorState {
  return { settings: { gateway: gatewayAddress, maxPartBodyBytes: 4096, cacheEntries: 100, forwardHeaders: ['authorization'] }, routes: routeList };
}

async function call(path: string, method = 'GET'): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const res = await fetch(`http://${aggregator.address}${path}`, { method });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const VIEW = {
  path: '/v/{id}',
  parts: {
    main: { service: 'main', path: '/m/{id}', required: true },
    extra: { service: 'extra', path: '/e/{id}', cacheFor: '1h' },
  },
};

beforeAll(async () => {
  gateway = createServer((req, res) => {
    const handler = hosts.get(req.headers.host ?? '');
    if (handler) return handler(req, res);
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
  gatewayAddress = `127.0.0.1:${(gateway.address() as AddressInfo).port}`;
  aggregator = await startAggregatorServer('127.0.0.1:0', state(routes({ view: VIEW })));
});

afterAll(async () => {
  await aggregator?.close();
  gateway?.closeAllConnections();
  await new Promise<void>((resolve) => gateway?.close(() => resolve()));
});

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Handler => (_req, res) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
};

describe('aggregator', () => {
  it('answers its health check, 404 for a path no composite has, 405 for a method other than GET or HEAD', async () => {
    expect((await call('/healthz')).body).toMatchObject({ status: 'ok' });
    expect(await call('/nothing/here')).toMatchObject({ status: 404, body: { error: 'not_found' } });
    const post = await call('/v/1', 'POST');
    expect(post).toMatchObject({ status: 405, body: { error: 'method_not_allowed' } });
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('carries an empty body as null and a body that claims JSON but is not as a string', async () => {
    hosts.set('main.test', (_req, res) => res.writeHead(204).end());
    hosts.set('extra.test', (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{not json'));
    const res = await call('/v/1');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ main: null, extra: '{not json' });
  });

  it('passes a required part\'s client error through with its code and headers; a server error is a 502', async () => {
    hosts.set('extra.test', json(200, { ok: true }));
    hosts.set('main.test', json(429, { error: 'rate_limited', message: 'slow down' }, { 'retry-after': '3' }));
    const limited = await call('/v/1');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    expect(limited.body).toMatchObject({ error: 'rate_limited', parts: { main: { status: 429, error: 'upstream_status' }, extra: { status: 200 } } });

    hosts.set('main.test', json(503, { error: 'service_unavailable' }));
    const failed = await call('/v/1');
    expect(failed.status).toBe(502);
    expect(failed.body).toMatchObject({ error: 'upstream_error', message: 'required part "main" (service main) answered 503' });
  });

  it('keeps cached answers across a route update, and serves the new routes', async () => {
    hosts.set('main.test', json(200, { n: 1 }));
    hosts.set('extra.test', json(200, { cached: 'yes' }));
    expect((await call('/v/2')).body).toMatchObject({ extra: { cached: 'yes' } });

    aggregator.update(state(routes({ view: VIEW, other: { path: '/o/{id}', parts: { main: { service: 'main', path: '/m/{id}' } } } })));
    hosts.set('extra.test', json(500, { error: 'boom' }));
    const stale = await call('/v/2');
    expect(stale.body).toMatchObject({ extra: { cached: 'yes' }, parts: { extra: { status: 500, stale: true } } });
    expect((await call('/o/2')).body).toMatchObject({ main: { n: 1 } });
  });
});

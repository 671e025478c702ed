/**
 * The client against a tiny fake HTTP server: what goes on the wire (token
 * header, stale, dc, index, wait), what comes back (X-Consul-Index), and how
 * failures read. The real agent is covered by the integration tests.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.ts';
import { createConsulClient, type ConsulClient } from '../../src/consul/client.ts';
import { findFreePorts } from '../../src/consul/free-ports.ts';
import { healthServiceQuery, kvPrefixQuery } from '../../src/consul/query.ts';
import { ConsulError } from '../../src/errors.ts';

const TOKEN = 'secret-token-7f3a';
let server: Server;
let address: string;
const seen: Array<{ url: string; token: string | undefined }> = [];
/** Paths whose connection closed before an answer: cancelled or timed out by the client. */
const closedEarly = new Set<string>();
/** Answers kept open on purpose, to count the sockets a client opens. */
const held: ServerResponse[] = [];

function handle(req: IncomingMessage, res: ServerResponse): void {
  seen.push({ url: req.url ?? '', token: req.headers['x-consul-token'] as string | undefined });
  // node-consul percent-encodes the KV key ("ipx%2F"); Consul decodes it, and so does this fake.
  const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  res.on('close', () => {
    if (!res.writableEnded) closedEarly.add(pathname);
  });
  if (pathname === '/v1/health/service/web') {
    res.writeHead(200, { 'content-type': 'application/json', 'x-consul-index': '42' });
    res.end(JSON.stringify([{ Node: { Node: 'n1', Address: '10.0.0.1' }, Service: { ID: 'web-1', Port: 80 }, Checks: [] }]));
  } else if (pathname.startsWith('/v1/kv/demo/')) {
    // A check-and-set PUT answers false when the key already exists.
    seen.push({ url: `${req.method} ${req.url}`, token: undefined });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(req.method === 'PUT' && pathname === '/v1/kv/demo/taken' ? 'false' : 'true');
  } else if (pathname === '/v1/kv/ipx/') {
    res.writeHead(404, { 'x-consul-index': '7' });
    res.end();
  } else if (pathname === '/v1/health/service/secret') {
    res.writeHead(403, { 'content-type': 'text/plain' });
    res.end('Permission denied');
  } else if (pathname === '/v1/health/service/limited') {
    // Consul 1.9+ over limits.http_max_conns_per_client.
    res.writeHead(429, { 'content-type': 'text/plain' });
    res.end('Your IP is issuing too many concurrent connections, please rate limit your calls');
  } else if (pathname === '/v1/health/service/dropped') {
    // Consul up to 1.8 over the limit: the connection closes without an answer.
    req.socket.destroy();
  } else if (pathname.startsWith('/v1/health/service/held')) {
    held.push(res);
  } else if (pathname === '/v1/health/service/forwarded') {
    // A client agent whose server went away mid-request (a server killed).
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('rpc error making call: EOF');
  } else if (pathname.startsWith('/v1/health/service/slow')) {
    // Never answers: for timeouts and cancellation.
  } else {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('No cluster leader');
  }
}

function client(overrides: Record<string, unknown> = {}): ConsulClient {
  return createConsulClient(parseConfig({ consul: { address, token: TOKEN, datacenter: 'dc9', ...overrides } }).consul);
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('createConsulClient', () => {
  it('creates a KV entry only where the key is absent (cas=0), and deletes one', async () => {
    const c = client();
    expect(await c.kvCreate('demo/new', 'a: 1')).toBe(true);
    expect(await c.kvCreate('demo/taken', 'a: 1')).toBe(false);
    await c.kvDelete('demo/new');
    c.close();
    const calls = seen.filter((s) => /^(PUT|DELETE) /.test(s.url)).map((s) => s.url.replace(/%2F/g, '/'));
    expect(calls[0]).toMatch(/^PUT \/v1\/kv\/demo\/new\?.*cas=0/);
    expect(calls[1]).toMatch(/^PUT \/v1\/kv\/demo\/taken\?.*cas=0/);
    expect(calls[2]).toMatch(/^DELETE \/v1\/kv\/demo\/new/);
  });

  it('sends the token as a header, asks for stale reads in the datacenter, and reads X-Consul-Index', async () => {
    const c = client();
    const result = await healthServiceQuery('web').fetch(c, { index: '41', wait: 5_000 });
    c.close();
    expect(result.index).toBe('42');
    expect(result.data.map((i) => i.id)).toEqual(['web-1']);
    const request = seen.at(-1);
    expect(request?.token).toBe(TOKEN);
    const query = new URL(request?.url ?? '', 'http://x').searchParams;
    expect(Object.fromEntries(query)).toEqual({ dc: 'dc9', stale: '1', index: '41', wait: '5000ms' });
  });

  it('leaves out index and wait for a first read, and stale when not allowed', async () => {
    const c = client({ stale: false, datacenter: '' });
    await healthServiceQuery('web').fetch(c, { index: '0', wait: 5_000 });
    c.close();
    expect(new URL(seen.at(-1)?.url ?? '', 'http://x').search).toBe('');
  });

  it('treats an empty KV prefix (404) as no keys, with its index', async () => {
    const c = client();
    expect(await kvPrefixQuery('ipx/').fetch(c, { index: '0', wait: 1_000 })).toEqual({ data: [], index: '7' });
    c.close();
  });

  it('names the request and the ACL token setting on 403, without the token itself', async () => {
    const c = client();
    const error = await c.healthService('secret', {}).catch((err: unknown) => err);
    c.close();
    expect(error).toBeInstanceOf(ConsulError);
    expect((error as Error).message).toBe(
      'consul: GET /v1/health/service/secret failed (HTTP 403 Permission denied); ' +
        'does the ACL token (consul.token / CONSUL_HTTP_TOKEN) allow reading services, nodes and the KV prefix?',
    );
    expect((error as Error).message).not.toContain(TOKEN);
  });

  it('explains a 500 from a Consul without a leader', async () => {
    const c = client();
    const error = await c.catalogServices({}).catch((err: unknown) => err);
    c.close();
    expect((error as Error).message).toBe(
      'consul: GET /v1/catalog/services failed (HTTP 500 No cluster leader); the Consul servers have no leader ' +
        '(an election is under way, or most servers are down); ipx keeps the last good data and retries',
    );
  });

  it('explains a 500 from a client agent whose server went away mid-request', async () => {
    const c = client();
    const error = await c.healthService('forwarded', {}).catch((err: unknown) => err);
    c.close();
    expect((error as Error).message).toBe(
      'consul: GET /v1/health/service/forwarded failed (HTTP 500 rpc error making call: EOF); the agent lost its connection ' +
        'to a Consul server (one stopped or restarted; if it led, an election follows); ipx keeps the last good data and retries',
    );
  });

  it('says which address it tried when nothing listens there', async () => {
    const [port] = await findFreePorts(1);
    const c = createConsulClient(parseConfig({ consul: { address: `http://127.0.0.1:${port}`, token: TOKEN } }).consul);
    const error = await c.healthService('web', {}).catch((err: unknown) => err);
    c.close();
    expect((error as Error).message).toBe(
      `consul: GET /v1/health/service/web failed (connect ECONNREFUSED 127.0.0.1:${port}); ` +
        `is CONSUL_HTTP_ADDR right? ipx uses http://127.0.0.1:${port}`,
    );
  });

  it.each([
    ['limited', /failed \(HTTP 429 .*\); the Consul agent at .* answered 429, as it does when this host holds more connections than its limits\.http_max_conns_per_client/],
    ['dropped', /failed \(socket hang up\); the Consul agent at .* closed the connection without an answer, as it does when this host holds more connections/],
  ])('names the agent\'s connection limit and the fix when %s', async (service, message) => {
    const c = client();
    const error = await c.healthService(service, {}).catch((err: unknown) => err);
    c.close();
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch(/lower consul\.maxConnections/);
  });

  it('never opens more than consul.maxConnections sockets, however many reads are asked for', async () => {
    const c = client({ maxConnections: 5 });
    const sockets = new Set<unknown>();
    const count = (socket: unknown): void => void sockets.add(socket);
    server.on('connection', count);
    const reads = Array.from({ length: 12 }, (_, i) => c.healthService(`held-${i}`, { timeout: 5_000 }));
    let peak = 0;
    // Each answer frees a socket for the next queued read, on the same connections.
    for (let answered = 0; answered < 12; ) {
      await new Promise((resolve) => setTimeout(resolve, 30));
      peak = Math.max(peak, held.length);
      for (const res of held.splice(0)) {
        res.end('[]');
        answered += 1;
      }
    }
    await Promise.all(reads);
    server.off('connection', count);
    c.close();
    expect(peak).toBe(5);
    expect(sockets.size).toBe(5);
  });

  it('gives up after the timeout', async () => {
    const c = client();
    const error = await c.healthService('slow', { timeout: 100 }).catch((err: unknown) => err);
    c.close();
    expect((error as Error).message).toMatch(/^consul: GET \/v1\/health\/service\/slow failed \(no answer within 100 ms\)/);
  });

  it('cancels the HTTP request in flight when the signal aborts', async () => {
    const c = client();
    const controller = new AbortController();
    const pending = c.healthService('slow-cancel', { signal: controller.signal }).catch((err: unknown) => err);
    await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort();
    const error = await pending;
    c.close();
    expect(error).toBeInstanceOf(ConsulError);
    expect((error as Error).message).toMatch(/cancelled because ipx is stopping/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closedEarly.has('/v1/health/service/slow-cancel')).toBe(true);
  });
});

/**
 * An HTTPS endpoint that speaks HTTP/1.1 only (TLS without ALPN "h2"): the
 * client reads over HTTP/1.1 instead, and says it is not multiplexing. A
 * plain Node HTTPS server stands in for such a listener; Consul's own HTTPS
 * port speaks HTTP/2 (test/integration/consul-http2.test.ts).
 */
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.ts';
import { createConsulClient } from '../../src/consul/index.ts';
import { makeCertificates } from '../helpers/consul-tls.ts';

let dir: string;
/** One refuses ALPN "h2" with an alert (as Go's TLS does since 1.17), the other negotiates no protocol at all (as Go's did before). */
const servers: https.Server[] = [];
const seen: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ipx-h1-only-'));
  await makeCertificates(dir);
  const [cert, key] = await Promise.all(['dc1-server-consul-0.pem', 'dc1-server-consul-0-key.pem'].map((file) => readFile(path.join(dir, file))));
  for (const alpn of [{}, { ALPNProtocols: [] }]) {
    const server = https.createServer({ cert, key, ...alpn }, (req, res) => {
      seen.push(`HTTP/${req.httpVersion} ${req.url}`);
      res.setHeader('x-consul-index', '42');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ web: ['v1'] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
  }
});

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

it.each([0, 1])('reads over HTTP/1.1 from an HTTPS port without HTTP/2, and does not count on streams (server %i)', async (which) => {
  seen.length = 0;
  const { port } = servers[which]!.address() as AddressInfo;
  const config = parseConfig({ consul: { address: `https://127.0.0.1:${port}`, tls: { caFile: path.join(dir, 'consul-agent-ca.pem'), serverName: 'server.dc1.consul' } } }).consul;
  const client = createConsulClient(config);
  try {
    expect(await client.catalogServices({})).toEqual({ body: { web: ['v1'] }, index: '42' });
    expect(await client.catalogServices({})).toEqual({ body: { web: ['v1'] }, index: '42' });
    expect(client.streamsPerConnection?.()).toBeUndefined();
    expect(seen).toEqual(['HTTP/1.1 /v1/catalog/services?stale=1', 'HTTP/1.1 /v1/catalog/services?stale=1']);
  } finally {
    client.close();
  }
});

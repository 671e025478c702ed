/**
 * protocol: h2c and grpc as a caller sees them: HTTP/1.1 or HTTP/2 in front,
 * HTTP/2 without TLS to the instances.
 */
import { createServer, connect, type Http2Server } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerService } from '../../src/consul/index.ts';
import { eventually } from '../helpers/http.ts';
import { request } from '../helpers/policy-http.ts';
import { startPolicyStack, type PolicyStack } from '../helpers/policy-stack.ts';

let stack: PolicyStack;
let upstream: Http2Server;

beforeAll(async () => {
  stack = await startPolicyStack('protocols');
  upstream = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ httpVersion: req.httpVersion, path: req.url }));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', () => resolve()));
  const address = upstream.address();
  const port = address && typeof address === 'object' ? address.port : 0;
  await registerService(stack.consul.client, { name: 'h2svc', id: 'h2svc-1', address: '127.0.0.1', port, meta: { 'ipx-protocol': 'h2c' }, check: { ttl: '1h', status: 'passing' } });
  await eventually(async () => ((await request(stack.ipx.http, { headers: { host: 'h2svc.service.internal' } })).status === 200 ? true : undefined), 15_000, 'the h2c service to serve');
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await new Promise<void>((resolve) => (upstream ? upstream.close(() => resolve()) : resolve()));
});

describe('protocol: h2c', () => {
  it('speaks HTTP/2 without TLS to the instance for an HTTP/1.1 caller', async () => {
    const res = await request(stack.ipx.http, { path: '/hello', headers: { host: 'h2svc.service.internal' } });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ httpVersion: '2.0', path: '/hello' });
  });

  it('serves an HTTP/2 (prior knowledge) caller end to end', async () => {
    const client = connect(stack.ipx.http);
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const req = client.request({ ':path': '/h2', ':authority': 'h2svc.service.internal' });
        let data = '';
        req.setEncoding('utf8');
        req.on('data', (chunk: string) => (data += chunk));
        req.on('end', () => resolve(data));
        req.on('error', reject);
        req.end();
      });
      expect(JSON.parse(body)).toEqual({ httpVersion: '2.0', path: '/h2' });
    } finally {
      client.close();
    }
  });
});

/**
 * Protocols as a caller sees them: h2c (HTTP/2 without TLS to the instances,
 * HTTP/1.1 or HTTP/2 in front), and TCP services on their own port, whose
 * bind is tried before a reload so that a busy port never stalls the others.
 */
import { createServer, connect, type Http2Server } from 'node:http2';
import { connect as tcpConnect, createServer as createTcpServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deregisterService, registerService } from '../../src/consul/index.ts';
import { eventually } from '../helpers/http.ts';
import { request } from '../helpers/policy-http.ts';
import { startPolicyStack, type PolicyStack } from '../helpers/policy-stack.ts';
import { holdPort, type HeldPort } from '../helpers/ports.ts';

let stack: PolicyStack;
let upstream: Http2Server;
let echo: Server;
let echoPort: number;
let held: HeldPort;
/** The gateway ports of the TCP services, each case's own; `held` is one another process holds. */
let tcpPort: number;
let steadyPort: number;

/** Sends `text` to 127.0.0.1:port and resolves with what comes back before the server closes or 1 s passes. */
function roundTrip(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1', () => socket.write(text));
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
      if (answer.length >= text.length) socket.end();
    });
    socket.setTimeout(1000, () => socket.destroy(new Error('no answer within 1 s')));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

/** Registers a TCP service with one instance, the echo server, at gateway port `port`. */
function registerTcp(name: string, port: number): Promise<void> {
  return registerService(stack.consul.client, {
    name,
    id: `${name}-1`,
    address: '127.0.0.1',
    port: echoPort,
    meta: { 'ipx-protocol': 'tcp', 'ipx-tcp-port': String(port) },
    check: { ttl: '1h', status: 'passing' },
  });
}

/** Waits until nothing answers on `port` any more: the removal of its TCP service is applied. */
function closed(port: number): Promise<true> {
  return eventually(() => roundTrip(port, 'gone').then(() => undefined, () => true as const), 10_000, `port ${port} to be closed`);
}

beforeAll(async () => {
  echo = createTcpServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', () => resolve()));
  echoPort = (echo.address() as { port: number }).port;
  held = await holdPort();
  const spares = [await holdPort(), await holdPort()];
  [tcpPort, steadyPort] = spares.map((spare) => spare.port) as [number, number];
  for (const spare of spares) await spare.release();
  const ports = [tcpPort, steadyPort, held.port];
  const [from, to] = [Math.min(...ports), Math.max(...ports)];
  stack = await startPolicyStack('protocols', { routing: { tcpPorts: { from, to } } });
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
  await new Promise<void>((resolve) => (echo ? echo.close(() => resolve()) : resolve()));
  await held?.release();
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

describe('protocol: tcp', () => {
  it('serves a TCP service on its tcpPort', async () => {
    try {
      await registerTcp('echo', tcpPort);
      await eventually(async () => ((await roundTrip(tcpPort, 'ping')) === 'ping' ? true : undefined), 15_000, 'the TCP service to answer');
      // A TCP service takes no part in Host routing.
      expect((await request(stack.ipx.http, { headers: { host: 'echo.service.internal' } })).status).toBe(404);
    } finally {
      await deregisterService(stack.consul.client, 'echo-1');
      await closed(tcpPort);
    }
  });

  it('refuses to reload onto a port another process holds, keeps serving, and applies once the port is free', async () => {
    try {
      // A TCP service of its own that must keep serving while the apply fails.
      await registerTcp('steady', steadyPort);
      await eventually(async () => ((await roundTrip(steadyPort, 'ready')) === 'ready' ? true : undefined), 15_000, 'the steady TCP service to answer');
      const before = await stack.reloads();
      await registerTcp('busy', held.port);
      const failure = await eventually(
        async () => {
          const status = (await (await fetch(`${stack.ipx.admin}/status`)).json()) as { lastFailure?: { message: string } };
          return status.lastFailure?.message.includes('cannot listen') ? status.lastFailure.message : undefined;
        },
        15_000,
        'the apply to fail on the busy port',
      );
      expect(failure).toMatch(new RegExp(`127\\.0\\.0\\.1:${held.port} is in use by another process`));
      expect(await stack.reloads()).toBe(before);
      expect(await roundTrip(steadyPort, 'still')).toBe('still');
      expect((await request(stack.ipx.http, { headers: { host: 'h2svc.service.internal' } })).status).toBe(200);
      await held.release();
      await eventually(async () => ((await roundTrip(held.port, 'free')) === 'free' ? true : undefined), 30_000, 'the busy service to be served once its port is free');
    } finally {
      // Deregistered before the port is let go, so a case that failed midway leaves no apply failing behind it.
      await deregisterService(stack.consul.client, 'busy-1');
      await deregisterService(stack.consul.client, 'steady-1');
      await held.release();
      await closed(held.port);
      await closed(steadyPort);
    }
  });
});

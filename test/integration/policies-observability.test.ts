/**
 * Request IDs, trace context and access logs as a caller and an operator see
 * them: X-Request-ID kept or made, traceparent passed through, and one valid
 * JSON line per request on ipx's stdout whatever the request contained.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putKv } from '../helpers/consul.ts';
import { eventually } from '../helpers/http.ts';
import { request } from '../helpers/policy-http.ts';
import { startPolicyStack, type PolicyStack } from '../helpers/policy-stack.ts';
import type { Echo } from '../helpers/policy-backend.ts';

let stack: PolicyStack;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const call = (headers: Record<string, string> = {}, path = '/') => request(stack.ipx.http, { path, headers: { host: 'api.service.internal', ...headers } });

/** Raw bytes on a fresh connection: what no well-behaved client library would send. */
function raw(text: Buffer): Promise<string> {
  const [host, port] = stack.ipx.config.listen.http.split(':') as [string, string];
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), host, () => socket.end(text));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

interface AccessLine {
  type: string;
  request_id: string;
  method: string;
  host: string;
  path: string;
  status: number;
  service: string;
  version: string;
  instance: string;
  ms: Record<string, number>;
  bytes: { in: number; out: number };
}

/** Every line so far, parsed: a line that is not JSON fails the test. */
function lines(): AccessLine[] {
  return stack.ipx.accessLines.map((line) => JSON.parse(line) as AccessLine);
}

/**
 * Waits until the lines of the requests other cases sent are in. HAProxy logs a
 * request when its stream ends, which can be after the caller has its answer:
 * one more request, whose line is waited for, comes after all of them.
 */
async function settled(): Promise<void> {
  const id = `settled-${Date.now()}-${Math.random().toString(16).slice(2)}`;
  await call({ 'x-request-id': id });
  await eventually(async () => (lines().some((l) => l.request_id === id) ? true : undefined), 5_000, 'the access lines of earlier requests');
}

beforeAll(async () => {
  stack = await startPolicyStack('observability', {}, (consul) => putKv(consul.agent.address, 'ipx/services/api', 'versions: { split: { v7: 100 } }'));
  await stack.instance('api', 'api-1', { 'ipx-version': 'v7' });
  await eventually(async () => ((await call()).status === 200 ? true : undefined), 15_000, 'api to serve');
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

describe('X-Request-ID', () => {
  it('keeps a valid one, to the instance and back', async () => {
    const res = await call({ 'x-request-id': 'abc-123.XYZ:9' });
    expect(res.headers['x-request-id']).toBe('abc-123.XYZ:9');
    expect((JSON.parse(res.body) as Echo).headers['x-request-id']).toBe('abc-123.XYZ:9');
  });

  it.each<[string, Record<string, string>]>([
    ['missing', {}],
    ['invalid', { 'x-request-id': 'not valid; x' }],
    ['too long', { 'x-request-id': 'a'.repeat(129) }],
  ])('makes a UUID when it is %s, the same for the instance and the caller', async (_, headers) => {
    const res = await call(headers);
    const sent = (JSON.parse(res.body) as Echo).headers['x-request-id'];
    expect(res.headers['x-request-id']).toMatch(UUID);
    expect(sent).toBe(res.headers['x-request-id']);
  });

  it('is on HAProxy\'s own answers too (404)', async () => {
    const res = await request(stack.ipx.http, { headers: { host: 'nosuch.service.internal', 'x-request-id': 'r-404' } });
    expect(res.status).toBe(404);
    expect(res.headers['x-request-id']).toBe('r-404');
  });
});

describe('traceparent', () => {
  it('goes to the instance unchanged and comes back', async () => {
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const res = await call({ traceparent: tp });
    expect((JSON.parse(res.body) as Echo).headers.traceparent).toBe(tp);
    expect(res.headers.traceparent).toBe(tp);
  });
});

describe('access log', () => {
  it('writes one JSON line per request with service, instance, version, status, timings, bytes and request id', async () => {
    await call({ 'x-request-id': 'log-me-1' }, '/items/42?q=1');
    const line = await eventually(async () => lines().find((l) => l.request_id === 'log-me-1'), 5_000, 'the access line');
    expect(line).toMatchObject({ type: 'access', method: 'GET', host: 'api.service.internal', path: '/items/42', status: 200, service: 'api', version: 'v7', instance: 'api-1' });
    expect(line.ms.total).toBeGreaterThanOrEqual(0);
    expect(line.bytes.out).toBeGreaterThan(0);
    const before = lines().length;
    for (let i = 0; i < 20; i++) await call();
    await eventually(async () => (lines().length >= before + 20 ? true : undefined), 5_000, '20 more lines');
    expect(lines().length).toBe(before + 20);
  });

  it('stays valid JSON whatever the request line and headers hold', async () => {
    const hostile = [
      // A Host no service has: 404, and the line carries the Host as sent (invalid UTF-8 dropped).
      Buffer.concat([Buffer.from('GET /x HTTP/1.1\r\nHost: a"b\\c', 'latin1'), Buffer.from([0xff, 0xfe, 0x0b]), Buffer.from('\r\nX-Request-ID: hostile-1\r\nConnection: close\r\n\r\n', 'latin1')]),
      Buffer.from("GET /it's%00%22%C3%A9 HTTP/1.1\r\nHost: api.service.internal\r\nX-Request-ID: hostile-2\r\nConnection: close\r\n\r\n", 'utf8'),
      Buffer.from('GET /a"b\\ HTTP/1.1\r\nHost: api.service.internal\r\nX-Request-ID: hostile-3\r\nConnection: close\r\n\r\n', 'latin1'),
      // Not HTTP HAProxy accepts (a raw byte above 0x7f in the path): 400, logged with "-" for what it could not read.
      Buffer.from('GET /\xe9 HTTP/1.1\r\nHost: api.service.internal\r\nConnection: close\r\n\r\n', 'latin1'),
    ];
    await settled();
    const before = lines().length;
    for (const bytes of hostile) await raw(bytes);
    await eventually(async () => (stack.ipx.accessLines.length >= before + hostile.length ? true : undefined), 5_000, 'the hostile requests logged');
    const logged = lines().slice(before);
    expect(logged.length).toBe(hostile.length);
    for (const line of logged) expect(line.type).toBe('access');
    expect(logged.find((l) => l.request_id === 'hostile-1')).toMatchObject({ status: 404, host: 'a"b\\c\u000b', service: '-' });
    expect(logged.find((l) => l.request_id === 'hostile-2')).toMatchObject({ status: 200, path: "/it's%00%22%C3%A9" });
    expect(logged.find((l) => l.request_id === 'hostile-3')).toMatchObject({ status: 200, path: '/a"b\\' });
    expect(logged.filter((l) => l.status === 400)).toEqual([expect.objectContaining({ path: '-', request_id: '-' })]);
  });
});

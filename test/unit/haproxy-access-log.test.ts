import { createSocket } from 'node:dgram';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { startAccessLog, type AccessLogForwarder } from '../../src/haproxy/logs/access-log.ts';
import { findFreePorts } from '../helpers/ports.ts';

interface Logged {
  readonly fields: Record<string, unknown>;
  readonly msg: string;
}

let forwarder: AccessLogForwarder | undefined;
afterEach(async () => forwarder?.close());

async function start(): Promise<{ send(lines: string[]): Promise<void>; logged: Logged[]; out: () => string }> {
  const [port] = (await findFreePorts(1)) as [number];
  const logged: Logged[] = [];
  const record = (fields: Record<string, unknown>, msg: string) => void logged.push({ fields, msg });
  let out = '';
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => (out += chunk.toString()));
  forwarder = await startAccessLog({ address: `127.0.0.1:${port}`, out: stream, logger: { info: record, warn: record } as never, noticeWindowMs: 100 });
  const sender = createSocket('udp4');
  return {
    logged,
    out: () => out,
    async send(lines) {
      for (const line of lines) await new Promise<void>((resolve, reject) => sender.send(line, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
      await new Promise((resolve) => setTimeout(resolve, 250));
    },
  };
}

describe('the access-log socket', () => {
  it('writes access lines to the output, one per line, and logs other notices of HAProxy', async () => {
    const { send, logged, out } = await start();
    await send(['{"type":"access","status":200}\n', 'Server svc_web/web-1 is DOWN, reason: Layer4 connection problem']);
    expect(out()).toBe('{"type":"access","status":200}\n');
    expect(forwarder?.lines()).toBe(1);
    expect(logged).toEqual([{ fields: { message: 'Server svc_web/web-1 is DOWN, reason: Layer4 connection problem' }, msg: 'haproxy log message' }]);
  });

  it('gathers the per-proxy start and stop notices of a reload into one line each', async () => {
    const { send, logged } = await start();
    const stopped = Array.from({ length: 50 }, (_, i) => `Proxy svc_s${i} stopped (cumulated conns: FE: 0, BE: 0).`);
    await send([...stopped, 'Proxy http started.', 'Proxy stats started.']);
    expect(logged).toEqual([
      { fields: { proxies: 2, example: 'http' }, msg: 'haproxy: 2 proxies started' },
      { fields: { proxies: 50, example: 'svc_s0' }, msg: 'haproxy: 50 proxies stopped' },
    ]);
    // The next worker's notices make lines of their own.
    await send(['Proxy svc_a stopped (cumulated conns: FE: 0, BE: 0).']);
    expect(logged.at(-1)).toEqual({ fields: { proxies: 1, example: 'svc_a' }, msg: 'haproxy: 1 proxy stopped' });
  });
});

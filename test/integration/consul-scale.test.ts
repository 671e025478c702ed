/**
 * Past the agent's connection limit (limits.http_max_conns_per_client, 200 per
 * client IP by default): 600 services on a dev agent with default limits, every
 * one routable through a real HAProxy, a change in the middle of the range
 * routed within 2 s, and the real TCP connections to the agent, counted from
 * /proc/net/tcp for this process (ipx runs in it), never above consul.maxConnections. One blocking query per
 * service (ipx before consul.maxConnections) fails all three.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.ts';
import { createConsulClient, registerService } from '../../src/consul/index.ts';
import { startTestConsul, type TestConsul } from '../helpers/consul.ts';
import { eventually, get } from '../helpers/http.ts';
import { startBackend, type TestBackend } from '../helpers/http-backend.ts';
import { makeRunDir, removeRunDir, startTestDaemon, type TestDaemon } from '../helpers/ipx-daemon.ts';
import { connectionsFrom, sampleConnections, type Connection } from '../helpers/tcp-connections.ts';

const SERVICES = 600;
const MIDDLE = SERVICES / 2;
const name = (i: number): string => `svc-${String(i).padStart(4, '0')}`;

let consul: TestConsul;
let runDir: string;
let daemon: TestDaemon | undefined;
let first: TestBackend;
let second: TestBackend;
let before: Connection[] = [];
/** Connections sampled during the first sync only: the cases' own writes to the agent come later. */
let syncPeak: Connection[] = [];
const maxConnections = parseConfig({}).consul.maxConnections;

/** One registration on its own connection, closed after the answer, so it never counts as ipx's. */
function registerOnce(address: string, body: object): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${address}/v1/agent/service/register`, { method: 'PUT', agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`register: HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

const routed = async (service: string): Promise<string> =>
  (await get(`${daemon?.http}/`, { host: `${service}.service.internal` })).body;

beforeAll(async () => {
  consul = await startTestConsul();
  [first, second] = await Promise.all([startBackend('first'), startBackend('second')]);
  const client = createConsulClient(consul.config);
  const names = Array.from({ length: SERVICES }, (_, i) => name(i));
  for (let at = 0; at < names.length; at += 16) {
    await Promise.all(names.slice(at, at + 16).map((service) =>
      registerService(client, { name: service, id: `${service}-1`, address: '127.0.0.1', port: first.port, check: { ttl: '1h', status: 'passing' } })));
  }
  client.close();
  consul.client.close();
  runDir = await makeRunDir('scale');
  // ipx's first sync happens here, sampled from before it starts, so each case below stands alone.
  // The registrations' keep-alive sockets were just closed; the kernel may list them a moment longer.
  before = await eventually(async () => {
    const open = await connectionsFrom(process.pid, consul.agent.httpPort);
    return open.length === 0 ? open : undefined;
  }, 5_000, 'the registrations\' connections to close').catch(() => connectionsFrom(process.pid, consul.agent.httpPort));
  const syncSampler = sampleConnections(process.pid, consul.agent.httpPort, 20);
  daemon = await startTestDaemon(consul.agent.address, runDir, { consul: { wait: '55s' } });
  await eventually(async () => ((await routed(name(SERVICES - 1))) === 'first' ? true : undefined), 30_000, 'the last service to be routed');
  syncPeak = await syncSampler.stop();
}, 90_000);

afterAll(async () => {
  await daemon?.stop();
  await Promise.all([first?.close(), second?.close()]);
  await consul?.stop();
  if (runDir) await removeRunDir(runDir);
});

describe(`${SERVICES} services on a dev agent with default limits`, () => {
  it('routes every service, with connections to the agent within consul.maxConnections', async () => {
    expect(before).toEqual([]);
    const unrouted: string[] = [];
    for (let i = 0; i < SERVICES; i++) if ((await routed(name(i))) !== 'first') unrouted.push(name(i));
    expect(unrouted).toEqual([]);
    expect(daemon?.daemon.readiness()).toMatchObject({ ready: true, warnings: [] });
    const peak = syncPeak;
    expect(peak.length).toBeGreaterThan(0);
    expect(peak.length, JSON.stringify(peak)).toBeLessThanOrEqual(maxConnections);
  });

  it('routes a new instance of a service in the middle of the range within 2 s', async () => {
    const service = name(MIDDLE);
    await registerOnce(consul.agent.address, {
      Name: service, ID: `${service}-2`, Address: '127.0.0.1', Port: second.port, Check: { TTL: '1h', Status: 'passing' },
    });
    const sampler = sampleConnections(process.pid, consul.agent.httpPort, 20);
    const started = Date.now();
    await eventually(async () => ((await routed(service)) === 'second' ? true : undefined), 2_000, `${service} to reach its new instance`);
    expect(Date.now() - started).toBeLessThan(2_000);
    const during = await sampler.stop();
    expect(during.length, JSON.stringify(during)).toBeLessThanOrEqual(maxConnections);
    // Back to one instance, as the other case expects.
    const res = await fetch(`${consul.agent.address}/v1/agent/service/deregister/${service}-2`, { method: 'PUT' });
    expect(res.ok).toBe(true);
    await eventually(async () => {
      for (let i = 0; i < 4; i++) if ((await routed(service)) !== 'first') return undefined;
      return true;
    }, 10_000, `${service} back on its first instance only`);
  });
});

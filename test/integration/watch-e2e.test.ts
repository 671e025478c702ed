/**
 * The whole pipeline with real processes: Consul dev agent → watcher →
 * runner → render → haproxy -c → seamless reload of a real HAProxy.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../src/config/index.ts';
import { deregisterService, registerService, serviceCheckId, updateCheck } from '../../src/consul/index.ts';
import { startDaemon, type Daemon } from '../../src/daemon/daemon.ts';
import { createAdminCli, createHaproxyManager, type HaproxyManager } from '../../src/haproxy/index.ts';
import { loadRenderKit, type RenderKit } from '../../src/runner/assets.ts';
import { startTestConsul, type TestConsul } from '../helpers/consul.ts';
import { eventually, get } from '../helpers/http.ts';
import { startBackend, type TestBackend } from '../helpers/http-backend.ts';
import { haproxyPids, isAlive, killPids } from '../helpers/haproxy.ts';
import { findFreePorts } from '../helpers/ports.ts';

const DOMAIN = 'service.internal';
/** A service with this name makes the wrapped template emit a line haproxy -c rejects. */
const BREAKER = 'breaker';
/** `openssl passwd -6 -salt ipxtestsalt s3cret` */
const STATS_HASH = '$6$ipxtestsalt$2Tir.U0QWpHz3OxAg0T21vA9b6wJy5oD1P0Tkvih622DLk6wSIUBKbw5jBR2OmSDKHFIIBoYVtP1CwYYoPu0R0';

let consul: TestConsul;
let runDir: string;
let config: Config;
let haproxy: HaproxyManager;
let daemon: Daemon;
const backends: TestBackend[] = [];

async function routed(service: string): Promise<{ status: number; body: string }> {
  return get(`http://${config.listen.http}/`, { host: `${service}.${DOMAIN}` });
}

async function register(service: string, id: string, backend: TestBackend): Promise<void> {
  await registerService(consul.client, {
    name: service,
    id,
    address: '127.0.0.1',
    port: backend.port,
    check: { ttl: '1h', status: 'passing' },
  });
}

/** The bodies (backend names) seen in `count` requests. */
async function spread(service: string, count: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < count; i++) seen.add((await routed(service)).body);
  return seen;
}

function withBreaker(kit: RenderKit): RenderKit {
  return {
    assets: kit.assets,
    templates: {
      main: (context: object) => {
        const text = kit.templates.main(context);
        const services = (context as { services: Array<{ name: string }> }).services;
        return services.some((s) => s.name === BREAKER) ? `${text}\nthis-is-not-a-directive\n` : text;
      },
    },
  };
}

beforeAll(async () => {
  consul = await startTestConsul();
  runDir = await mkdtemp(path.join(tmpdir(), 'ipx-e2e-'));
  const [http, stats, admin] = (await findFreePorts(3)) as [number, number, number];
  config = parseConfig({
    consul: { address: consul.agent.address, wait: '5s' },
    haproxy: { runDir, hardStopAfter: '5s' },
    listen: { http: `127.0.0.1:${http}`, stats: `127.0.0.1:${stats}`, admin: `127.0.0.1:${admin}` },
    watch: { waitMin: '50ms', waitMax: '300ms' },
    stats: { user: 'ops', passwordHash: STATS_HASH },
    // Access lines would go to the test runner's stdout; policies-observability.test.ts covers them.
    log: { access: 'off' },
  });
  const logger = pino({ level: process.env.E2E_LOG ? 'info' : 'silent' }, pino.destination(process.env.E2E_LOG ?? '/dev/null'));
  haproxy = createHaproxyManager({ config: config.haproxy, listen: config.listen, logger });
  daemon = await startDaemon({ config, logger, applier: haproxy, kit: withBreaker(await loadRenderKit()) });
  await eventually(async () => (daemon.readiness().ready ? true : undefined), 10_000, 'the daemon to be ready');
});

afterAll(async () => {
  const pids = haproxyPids(haproxy?.status());
  await daemon?.stop();
  killPids(pids);
  await Promise.all(backends.map((b) => b.close()));
  await consul?.stop();
  if (runDir) await rm(runDir, { recursive: true, force: true });
});

describe('ipx watch end to end', () => {
  it('answers 404 with a JSON body for a Host no service matches', async () => {
    const res = await routed('nosuch');
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'unknown_service' });
  });

  it('routes a newly registered service within 2 s', async () => {
    const web1 = await startBackend('web-1');
    backends.push(web1);
    // HAProxy started moments ago; a new service reloads, and reloads keep haproxy.reloadFloor apart.
    await new Promise((resolve) => setTimeout(resolve, config.haproxy.reloadFloor));
    const started = Date.now();
    await register('web', 'web-1', web1);
    await eventually(async () => ((await routed('web')).body === 'web-1' ? true : undefined), 2000, 'web to route to web-1');
    const elapsed = Date.now() - started;
    console.log(`register → routable: ${elapsed} ms`);
    expect(elapsed).toBeLessThan(2000);
    // Any case, any port suffix.
    expect((await get(`http://${config.listen.http}/`, { host: `WEB.Service.Internal:8080` })).body).toBe('web-1');
  });

  it('sends traffic to both instances once a second one registers, with its Consul weight, without a reload', async () => {
    await daemon.idle();
    const reloads = (await haproxy.refresh()).reloads;
    const web2 = await startBackend('web-2');
    backends.push(web2);
    // Through Consul's own API: the register helper has no weights.
    const res = await fetch(`${consul.agent.address}/v1/agent/service/register`, {
      method: 'PUT',
      body: JSON.stringify({ Name: 'web', ID: 'web-2', Address: '127.0.0.1', Port: web2.port, Weights: { Passing: 3, Warning: 1 }, Check: { TTL: '1h', Status: 'passing' } }),
    });
    expect(res.ok).toBe(true);
    await eventually(async () => ((await spread('web', 6)).size === 2 ? true : undefined), 2000, 'both instances to answer');
    expect(await spread('web', 10)).toEqual(new Set(['web-1', 'web-2']));
    await daemon.idle();
    expect(haproxy.status().lastApply?.action).toBe('runtime');
    expect((await haproxy.refresh()).reloads).toBe(reloads);
    const state = await createAdminCli({ socketPath: path.join(runDir, 'admin.sock') }).serversState();
    expect(state.state.servers.find((s) => s.server === 'web-2')?.weight).toBe(3);
  });

  it('takes an instance whose health check turns critical out of service, without a reload', async () => {
    const reloads = (await haproxy.refresh()).reloads;
    await updateCheck(consul.client, serviceCheckId('web-2'), 'critical', 'test');
    await eventually(async () => ((await spread('web', 6)).has('web-2') ? undefined : true), 2000, 'web-2 to leave');
    expect(await spread('web', 10)).toEqual(new Set(['web-1']));
    await daemon.idle();
    expect((await haproxy.refresh()).reloads).toBe(reloads);
    expect(await readFile(path.join(runDir, 'haproxy.cfg'), 'utf8')).toMatch(/server web-2 127\.0\.0\.1:\d+ weight 3 disabled\n/);
  });

  it('answers 503 with a JSON body when the service has no passing instance', async () => {
    await deregisterService(consul.client, 'web-1');
    const res = await eventually(async () => {
      const r = await routed('web');
      return r.status === 503 ? r : undefined;
    }, 2000, 'web to answer 503');
    expect(JSON.parse(res.body)).toMatchObject({ error: 'service_unavailable' });
  });

  it('does not reload HAProxy when Consul changes but the rendered output does not', async () => {
    await daemon.idle();
    const before = (await haproxy.refresh()).reloads;
    // A KV write and a check note change Consul's indexes, not the configuration.
    await fetch(`${consul.agent.address}/v1/kv/ipx/note`, { method: 'PUT', body: 'hello' });
    await updateCheck(consul.client, serviceCheckId('web-2'), 'critical', 'still down');
    await new Promise((resolve) => setTimeout(resolve, 700));
    await daemon.idle();
    expect((await haproxy.refresh()).reloads).toBe(before);
  });

  it('keeps the previous configuration serving when haproxy -c rejects the new one, and recovers', async () => {
    const web3 = await startBackend('web-3');
    backends.push(web3);
    await register('web', 'web-3', web3);
    await eventually(async () => ((await routed('web')).body === 'web-3' ? true : undefined), 2000, 'web-3 to serve');
    // The new worker answers before the apply has confirmed the reload; wait for the run to end.
    await daemon.idle();
    const live = haproxy.status().liveHash;

    const breaker = await startBackend(BREAKER);
    backends.push(breaker);
    await register(BREAKER, 'breaker-1', breaker);
    const reasons = await eventually(async () => {
      const r = daemon.readiness();
      return r.ready ? undefined : r.reasons;
    }, 3000, 'the failed apply to show in /readyz');
    expect(reasons.join(' ')).toMatch(/this-is-not-a-directive/);
    expect(haproxy.status().liveHash).toBe(live);
    expect((await routed('web')).body).toBe('web-3');
    expect((await routed(BREAKER)).status).toBe(404);

    await deregisterService(consul.client, 'breaker-1');
    await eventually(async () => (daemon.readiness().ready ? true : undefined), 3000, 'ready again');
    expect((await routed('web')).body).toBe('web-3');
  });

  it('serves its own health, readiness and metrics', async () => {
    const admin = `http://${daemon.adminAddress}`;
    expect((await get(`${admin}/healthz`)).status).toBe(200);
    expect((await get(`${admin}/readyz`)).status).toBe(200);
    const metrics = (await get(`${admin}/metrics`)).body;
    expect(metrics).toMatch(/ipx_pipeline_runs_total\{result="failed"\} [1-9]/);
    expect(metrics).toMatch(/ipx_haproxy_applies_total\{action="reload"\} [1-9]/);
    expect(metrics).toMatch(/ipx_haproxy_applies_total\{action="runtime"\} [1-9]/);
    expect(metrics).toMatch(/ipx_haproxy_runtime_ops_total\{op="state"\} [1-9]/);
    const stats = `http://${config.listen.stats}`;
    expect((await get(`${stats}/metrics`)).status).toBe(401);
    expect((await get(`${stats}/metrics`, { authorization: `Basic ${Buffer.from('ops:wrong').toString('base64')}` })).status).toBe(401);
    const authorized = await get(`${stats}/metrics`, { authorization: `Basic ${Buffer.from('ops:s3cret').toString('base64')}` });
    expect(authorized.body).toMatch(/haproxy_process_/);
    expect((await get(`${stats}/`, { authorization: `Basic ${Buffer.from('ops:s3cret').toString('base64')}` })).status).toBe(200);
  });

  it('creates the master and admin sockets readable by their owner only', async () => {
    for (const socket of ['master.sock', 'admin.sock']) {
      const info = await stat(path.join(runDir, socket));
      expect(info.isSocket(), socket).toBe(true);
      expect(info.mode & 0o777, socket).toBe(0o600);
    }
  });

  it('stops HAProxy when it stops', async () => {
    const pid = haproxy.status().pid as number;
    expect(isAlive(pid)).toBe(true);
    await daemon.stop();
    await eventually(async () => (isAlive(pid) ? undefined : true), 5000, 'haproxy to exit');
  });
});

/**
 * The whole pipeline with real processes: Consul dev agent → watcher →
 * runner → render → haproxy -c → seamless reload of a real HAProxy.
 * One agent for the file; each case starts its own ipx and HAProxy and
 * registers services of its own, so the cases hold in any order.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../src/config/index.ts';
import { deregisterService, registerService, serviceCheckId, updateCheck, type CheckStatus } from '../../src/consul/index.ts';
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
let kit: RenderKit;
let runDir: string;
let config: Config;
let haproxy: HaproxyManager;
let daemon: Daemon;
const backends: TestBackend[] = [];
/** Instance IDs a case registered, deregistered after it. */
const registered: string[] = [];

async function routed(service: string): Promise<{ status: number; body: string }> {
  return get(`http://${config.listen.http}/`, { host: `${service}.${DOMAIN}` });
}

async function backend(name: string): Promise<TestBackend> {
  const started = await startBackend(name);
  backends.push(started);
  return started;
}

/** Registers instance `id` of `service` on a new backend that answers with `id`. */
async function register(service: string, id: string, options: { status?: CheckStatus; passingWeight?: number } = {}): Promise<TestBackend> {
  const target = await backend(id);
  registered.push(id);
  if (options.passingWeight === undefined) {
    await registerService(consul.client, { name: service, id, address: '127.0.0.1', port: target.port, check: { ttl: '1h', status: options.status ?? 'passing' } });
    return target;
  }
  // Through Consul's own API: the register helper has no weights.
  const res = await fetch(`${consul.agent.address}/v1/agent/service/register`, {
    method: 'PUT',
    body: JSON.stringify({
      Name: service, ID: id, Address: '127.0.0.1', Port: target.port,
      Weights: { Passing: options.passingWeight, Warning: 1 },
      Check: { TTL: '1h', Status: options.status ?? 'passing' },
    }),
  });
  if (!res.ok) throw new Error(`register ${id}: HTTP ${res.status}`);
  return target;
}

/** The bodies (instance IDs) seen in `count` requests. */
async function spread(service: string, count: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < count; i++) seen.add((await routed(service)).body);
  return seen;
}

async function routesTo(service: string, id: string): Promise<void> {
  await eventually(async () => ((await routed(service)).body === id ? true : undefined), 2000, `${service} to route to ${id}`);
}

async function metrics(): Promise<string> {
  return (await get(`http://${daemon.adminAddress}/metrics`)).body;
}

function withBreaker(base: RenderKit): RenderKit {
  return {
    assets: base.assets,
    templates: {
      main: (context: object) => {
        const text = base.templates.main(context);
        const services = (context as { services: Array<{ name: string }> }).services;
        return services.some((s) => s.name === BREAKER) ? `${text}\nthis-is-not-a-directive\n` : text;
      },
    },
  };
}

beforeAll(async () => {
  consul = await startTestConsul();
  kit = withBreaker(await loadRenderKit());
});

afterAll(async () => {
  await consul?.stop();
});

beforeEach(async () => {
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
  daemon = await startDaemon({ config, logger, applier: haproxy, kit });
  await eventually(async () => (daemon.readiness().ready ? true : undefined), 10_000, 'the daemon to be ready');
});

afterEach(async () => {
  const pids = haproxyPids(haproxy?.status());
  await daemon?.stop();
  killPids(pids);
  await Promise.all(registered.splice(0).map((id) => deregisterService(consul.client, id)));
  await Promise.all(backends.splice(0).map((b) => b.close()));
  if (runDir) await rm(runDir, { recursive: true, force: true });
});

describe('ipx watch end to end', () => {
  it('answers 404 with a JSON body for a Host no service matches', async () => {
    const res = await routed('nosuch');
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'unknown_service' });
  });

  it('routes a newly registered service within 2 s', async () => {
    // HAProxy started moments ago; a new service reloads, and reloads keep haproxy.reloadFloor apart.
    await new Promise((resolve) => setTimeout(resolve, config.haproxy.reloadFloor));
    const started = Date.now();
    await register('fresh', 'fresh-1');
    await routesTo('fresh', 'fresh-1');
    const elapsed = Date.now() - started;
    console.log(`register → routable: ${elapsed} ms`);
    expect(elapsed).toBeLessThan(2000);
    // Any case, any port suffix.
    expect((await get(`http://${config.listen.http}/`, { host: `FRESH.Service.Internal:8080` })).body).toBe('fresh-1');
    await daemon.idle();
    expect(await metrics()).toMatch(/ipx_haproxy_applies_total\{action="reload"\} [1-9]/);
  });

  it('sends traffic to both instances once a second one registers, with its Consul weight, without a reload', async () => {
    await register('pair', 'pair-1');
    await routesTo('pair', 'pair-1');
    await daemon.idle();
    const reloads = (await haproxy.refresh()).reloads;
    await register('pair', 'pair-2', { passingWeight: 3 });
    await eventually(async () => ((await spread('pair', 6)).size === 2 ? true : undefined), 2000, 'both instances to answer');
    expect(await spread('pair', 10)).toEqual(new Set(['pair-1', 'pair-2']));
    await daemon.idle();
    expect(haproxy.status().lastApply?.action).toBe('runtime');
    expect((await haproxy.refresh()).reloads).toBe(reloads);
    const state = await createAdminCli({ socketPath: path.join(runDir, 'admin.sock') }).serversState();
    expect(state.state.servers.find((s) => s.server === 'pair-2')?.weight).toBe(3);
    expect(await metrics()).toMatch(/ipx_haproxy_applies_total\{action="runtime"\} [1-9]/);
  });

  it('takes an instance whose health check turns critical out of service, without a reload', async () => {
    await register('checked', 'checked-1');
    await register('checked', 'checked-2', { passingWeight: 3 });
    await eventually(async () => ((await spread('checked', 8)).size === 2 ? true : undefined), 2000, 'both instances to answer');
    await daemon.idle();
    const reloads = (await haproxy.refresh()).reloads;
    await updateCheck(consul.client, serviceCheckId('checked-2'), 'critical', 'test');
    await eventually(async () => ((await spread('checked', 6)).has('checked-2') ? undefined : true), 2000, 'checked-2 to leave');
    expect(await spread('checked', 10)).toEqual(new Set(['checked-1']));
    await daemon.idle();
    expect((await haproxy.refresh()).reloads).toBe(reloads);
    expect(await readFile(path.join(runDir, 'haproxy.cfg'), 'utf8')).toMatch(/server checked-2 127\.0\.0\.1:\d+ weight 3 disabled\n/);
    expect(await metrics()).toMatch(/ipx_haproxy_runtime_ops_total\{op="state"\} [1-9]/);
  });

  it('answers 503 with a JSON body when the service has no passing instance', async () => {
    await register('lonely', 'lonely-1');
    await register('lonely', 'lonely-2', { status: 'critical' });
    await routesTo('lonely', 'lonely-1');
    await deregisterService(consul.client, 'lonely-1');
    const res = await eventually(async () => {
      const r = await routed('lonely');
      return r.status === 503 ? r : undefined;
    }, 2000, 'lonely to answer 503');
    expect(JSON.parse(res.body)).toMatchObject({ error: 'service_unavailable' });
  });

  it('does not reload HAProxy when Consul changes but the rendered output does not', async () => {
    await register('quiet', 'quiet-1');
    await register('quiet', 'quiet-2', { status: 'critical' });
    await routesTo('quiet', 'quiet-1');
    await daemon.idle();
    const before = (await haproxy.refresh()).reloads;
    const applies = haproxy.status().lastApply;
    // A KV write and a check note change Consul's indexes, not the configuration.
    await fetch(`${consul.agent.address}/v1/kv/ipx/note`, { method: 'PUT', body: 'hello' });
    await updateCheck(consul.client, serviceCheckId('quiet-2'), 'critical', 'still down');
    await new Promise((resolve) => setTimeout(resolve, 700));
    await daemon.idle();
    expect((await haproxy.refresh()).reloads).toBe(before);
    expect(haproxy.status().lastApply).toBe(applies);
  });

  it('keeps the previous configuration serving when haproxy -c rejects the new one, and recovers', async () => {
    await register('steady', 'steady-1');
    await routesTo('steady', 'steady-1');
    // The new worker answers before the apply has confirmed the reload; wait for the run to end.
    await daemon.idle();
    const live = haproxy.status().liveHash;

    await register(BREAKER, 'breaker-1');
    const reasons = await eventually(async () => {
      const r = daemon.readiness();
      return r.ready ? undefined : r.reasons;
    }, 3000, 'the failed apply to show in /readyz');
    expect(reasons.join(' ')).toMatch(/this-is-not-a-directive/);
    expect(haproxy.status().liveHash).toBe(live);
    expect((await routed('steady')).body).toBe('steady-1');
    expect((await routed(BREAKER)).status).toBe(404);
    expect(await metrics()).toMatch(/ipx_pipeline_runs_total\{result="failed"\} [1-9]/);

    await deregisterService(consul.client, 'breaker-1');
    await eventually(async () => (daemon.readiness().ready ? true : undefined), 3000, 'ready again');
    expect((await routed('steady')).body).toBe('steady-1');
  });

  it('serves its own health and readiness, and HAProxy metrics behind basic auth', async () => {
    const admin = `http://${daemon.adminAddress}`;
    expect((await get(`${admin}/healthz`)).status).toBe(200);
    expect((await get(`${admin}/readyz`)).status).toBe(200);
    expect(await metrics()).toMatch(/ipx_pipeline_runs_total\{result="ok"\} [1-9]/);
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

/**
 * Instance changes through the runtime API against a real HAProxy, driven by
 * the real model and templates: no reload for servers added, removed,
 * re-weighted or taken out of service; one reload for a structural change,
 * with runtime state carried across it; drain before delete; verify with a
 * fallback reload. Each case starts its own HAProxy from the state it needs,
 * so the cases hold in any order.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../src/config/index.ts';
import { createAdminCli, createHaproxyManager, createMasterCli, type AdminCli, type HaproxyManager, type MasterCli } from '../../src/haproxy/index.ts';
import { isDraining, isMaint } from '../../src/haproxy/runtime/servers-state.ts';
import { loadRenderKit, type RenderKit } from '../../src/runner/assets.ts';
import { renderSnapshot } from '../../src/runner/pipeline.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { haproxyPids, killPids } from '../helpers/haproxy.ts';
import { startLoad } from '../helpers/load.ts';
import { eventually, get } from '../helpers/http.ts';
import { SLOW_MS, startBackend, type TestBackend } from '../helpers/http-backend.ts';
import { instance, service, snapshot } from '../helpers/model-fakes.ts';
import { findFreePorts } from '../helpers/ports.ts';
import type { InstanceEntry, ServiceEntry } from '../../src/consul/snapshot.ts';

let runDir: string;
let config: Config;
let kit: RenderKit;
let manager: HaproxyManager;
let admin: AdminCli;
let master: MasterCli;
const backends: Record<string, TestBackend> = {};

/** An instance on one of the test backends (its id and body are the backend's name unless told). */
function on(backend: string, fields: Partial<InstanceEntry> = {}): InstanceEntry {
  const target = backends[backend] as TestBackend;
  return instance({ id: backend, address: '127.0.0.1', port: target.port, ...fields });
}

async function apply(...services: ServiceEntry[]) {
  const { model, rendered } = renderSnapshot(snapshot(...services), config, kit);
  return { result: await manager.apply({ model, rendered }), rendered };
}

const reloads = async () => (await master.showProc()).master.reloads;
const routed = (name: string, path = '/') => get(`http://${config.listen.http}${path}`, { host: `${name}.service.internal` });

async function liveServer(backend: string, server: string) {
  const { state } = await admin.serversState();
  return state.servers.find((s) => s.backend === backend && s.server === server);
}

/** How many of `count` requests each backend answered. */
async function spread(name: string, count: number): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const { body } = await routed(name);
    seen[body] = (seen[body] ?? 0) + 1;
  }
  return seen;
}

beforeAll(async () => {
  kit = await loadRenderKit();
  for (const name of ['a', 'b', 'c', 'd', 'e', 'slow']) backends[name] = await startBackend(name);
});

afterAll(async () => {
  await Promise.all(Object.values(backends).map((backend) => backend.close()));
});

beforeEach(async () => {
  runDir = await mkdtemp(join(tmpdir(), 'ipx-rt-'));
  const [http, stats] = (await findFreePorts(2)) as [number, number];
  config = parseConfig({
    haproxy: { runDir, hardStopAfter: '5s', reloadTimeout: '10s', drainTimeout: '10s', reloadFloor: '1s' },
    listen: { http: `127.0.0.1:${http}`, stats: `127.0.0.1:${stats}` },
  });
  manager = createHaproxyManager({ config: config.haproxy, listen: config.listen, logger: pino({ level: 'silent' }) });
  admin = createAdminCli({ socketPath: join(runDir, 'admin.sock') });
  master = createMasterCli({ socketPath: join(runDir, 'master.sock') });
});

afterEach(async () => {
  const pids = haproxyPids(manager?.status());
  await manager?.stop().catch(() => undefined);
  killPids(pids);
  if (runDir) await rm(runDir, { recursive: true, force: true });
});

describe('runtime API applies (real HAProxy)', () => {
  it('starts with one instance', async () => {
    expect((await apply(service('web', [on('a')]))).result.action).toBe('start');
    expect((await routed('web')).body).toBe('a');
  });

  it('adds an instance without a reload, and writes the same config to disk as the new last-known-good', async () => {
    await apply(service('web', [on('a')]));
    const before = await reloads();
    const { result, rendered } = await apply(service('web', [on('a'), on('b')]));
    console.log(`runtime add: ${result.durationMs} ms in all, by phase ${JSON.stringify(result.phasesMs)}`);
    expect(result).toMatchObject({ action: 'runtime', runtimeOps: { add: 1 } });
    expect(await reloads()).toBe(before);
    await eventually(async () => ((await spread('web', 4)).b ? true : undefined), 2000, 'b to take traffic');
    // The file follows the ops: checked and swapped in after the apply returned.
    await manager.settled();
    const onDisk = await readFile(join(runDir, 'haproxy.cfg'), 'utf8');
    expect(onDisk).toBe(rendered.files['haproxy.cfg']);
    expect(onDisk).toContain(`server b 127.0.0.1:${backends.b?.port} weight 1\n`);
    const lastGood = JSON.parse(await readFile(join(runDir, 'last-good', 'current.json'), 'utf8')) as { hash: string };
    expect(lastGood.hash).toBe(rendered.hash);
    expect(manager.status().liveHash).toBe(rendered.hash);
  });

  it('changes a weight without a reload: traffic follows it', async () => {
    await apply(service('web', [on('a'), on('b')]));
    const before = await reloads();
    const { result } = await apply(service('web', [on('a'), on('b', { weight: 3 })]));
    expect(result).toMatchObject({ action: 'runtime', runtimeOps: { weight: 1 } });
    expect(await reloads()).toBe(before);
    const seen = await spread('web', 40);
    expect(Math.abs((seen.a ?? 0) - 10)).toBeLessThanOrEqual(1);
    expect(Math.abs((seen.b ?? 0) - 30)).toBeLessThanOrEqual(1);
  });

  it('takes a critical instance out of service without a reload, and answers the JSON 503 when none is left', async () => {
    await apply(service('web', [on('a'), on('b', { weight: 3 })]));
    const before = await reloads();
    expect((await apply(service('web', [on('a', { status: 'critical' }), on('b', { weight: 3 })]))).result).toMatchObject({
      action: 'runtime',
      runtimeOps: { state: 1 },
    });
    expect(await spread('web', 8)).toEqual({ b: 8 });
    const a = await liveServer('svc_web', 'a');
    expect(a && isMaint(a)).toBe(true);

    await apply(service('web', [on('a', { status: 'critical' }), on('b', { weight: 3, status: 'critical' })]));
    const res = await routed('web');
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'service_unavailable' });

    await apply(service('web', [on('a', { status: 'critical' }), on('b', { weight: 3 })]));
    expect(await spread('web', 4)).toEqual({ b: 4 });
    expect(await reloads()).toBe(before);
  });

  it('reloads exactly once for a new service, keeping runtime state; the state file drops the server whose address changed', async () => {
    await apply(service('web', [on('a'), on('b')]));
    // Runtime state the reload must keep: a in maintenance, b's weight.
    expect((await apply(service('web', [on('a', { status: 'critical' }), on('b', { weight: 3 })]))).result.action).toBe('runtime');
    const before = await reloads();
    // a (in maintenance) moves to backend d in the same change that adds a service.
    const { result } = await apply(service('web', [on('a', { status: 'critical', port: backends.d?.port }), on('b', { weight: 3 })]), service('api', [on('c')]));
    expect(result).toMatchObject({ action: 'reload', reasons: ['service "api" added'] });
    expect(await reloads()).toBe(before + 1);
    const [a, b] = [await liveServer('svc_web', 'a'), await liveServer('svc_web', 'b')];
    expect(a && { maint: isMaint(a), port: a.port }).toEqual({ maint: true, port: backends.d?.port });
    expect(b?.weight).toBe(3);
    const stateFile = await readFile(join(runDir, 'server-state'), 'utf8');
    expect(stateFile).toMatch(/ svc_web \d+ b 127\.0\.0\.1 /);
    expect(stateFile).not.toMatch(/ svc_web \d+ a /);
    expect((await routed('api')).body).toBe('c');

    await apply(service('web', [on('a', { port: backends.d?.port }), on('b', { weight: 3 })]), service('api', [on('c')]));
    await eventually(async () => ((await spread('web', 8)).d ? true : undefined), 2000, 'a, now on backend d, to take traffic');
    expect(await reloads()).toBe(before + 1);
  });

  it('drains a removed instance: its request in flight completes, no new request reaches it, then it is deleted', async () => {
    const web = service('web', [on('a', { port: backends.d?.port }), on('b', { weight: 3 })]);
    // Only `slow` is ready, so the request in flight is certainly on it.
    await apply(web, service('api', [on('c', { status: 'critical' }), on('slow')]));
    const before = await reloads();
    const slow = backends.slow as TestBackend;
    const slowBefore = slow.requests();
    const inFlight = routed('api', '/slow');
    await eventually(async () => (slow.requests() === slowBefore + 1 ? true : undefined), 2000, 'the slow request to reach its backend');

    const started = Date.now();
    const { result } = await apply(web, service('api', [on('c')]));
    expect(result).toMatchObject({ action: 'runtime', runtimeOps: { state: 1, remove: 1 } });
    expect(manager.status().draining).toEqual(['svc_api/slow']);
    expect(await spread('api', 6)).toEqual({ c: 6 });
    expect(await inFlight).toMatchObject({ status: 200, body: 'slow' });
    await eventually(async () => ((await liveServer('svc_api', 'slow')) ? undefined : true), 5000, 'the drained server to be deleted');
    const drainMs = Date.now() - started;
    console.log(`drain of a server with a request in flight (${SLOW_MS} ms): deleted after ${drainMs} ms`);
    expect(drainMs).toBeLessThan(SLOW_MS + 2000);
    expect(slow.requests()).toBe(slowBefore + 1);
    expect(manager.status().draining).toEqual([]);
    expect(await reloads()).toBe(before);
  });

  it('reuses a draining server when its instance comes back', async () => {
    const web = service('web', [on('a', { port: backends.d?.port }), on('b', { weight: 3 })]);
    await apply(web, service('api', [on('c', { status: 'critical' }), on('slow')]));
    const before = await reloads();
    const slowBefore = backends.slow?.requests() ?? 0;
    const inFlight = routed('api', '/slow');
    await eventually(async () => ((await liveServer('svc_api', 'slow'))?.opState === 2 && (backends.slow?.requests() ?? 0) > slowBefore ? true : undefined), 2000, 'a request in flight on slow');
    await apply(web, service('api', [on('c')]));
    expect(manager.status().draining).toEqual(['svc_api/slow']);
    const { result } = await apply(web, service('api', [on('c'), on('slow')]));
    expect(result).toMatchObject({ action: 'runtime', runtimeOps: { add: 1 } });
    expect(manager.status().draining).toEqual([]);
    expect(await inFlight).toMatchObject({ status: 200, body: 'slow' });
    const live = await liveServer('svc_api', 'slow');
    expect(live && { maint: isMaint(live), admin: live.adminState & 0x08 }).toEqual({ maint: false, admin: 0 });
    await eventually(async () => ((await spread('api', 4)).slow ? true : undefined), 2000, 'slow to take traffic again');
    expect(await reloads()).toBe(before);
  });

  it('falls back to a reload when the live state disagrees with the model after runtime ops', async () => {
    await apply(service('web', [on('a', { port: backends.d?.port }), on('b', { weight: 3 })]), service('api', [on('c'), on('slow')]));
    // An operator changed a weight by hand: the next runtime apply sees it and reloads.
    await admin.command('set server svc_web/b weight 9');
    const before = await reloads();
    const api = service('api', [on('c'), on('slow')]);
    const { result } = await apply(service('web', [on('a', { port: backends.d?.port }), on('b', { weight: 3 }), on('e')]), api);
    expect(result.action).toBe('reload');
    expect(result.reasons?.[0]).toMatch(/^runtime apply failed: .*svc_web\/b: weight 9, model 3/);
    expect(await reloads()).toBe(before + 1);
    expect((await liveServer('svc_web', 'b'))?.weight).toBe(3);
    await eventually(async () => ((await spread('web', 10)).e ? true : undefined), 2000, 'e to take traffic');
  });

  it('an adopted HAProxy whose servers disagree with the model is reloaded, though its files are live', async () => {
    const api = service('api', [on('c'), on('slow')]);
    const web = service('web', [on('a', { port: backends.d?.port }), on('b', { weight: 3 }), on('e')]);
    const { model, rendered } = renderSnapshot(snapshot(web, api), config, kit);
    expect((await manager.apply({ model, rendered })).action).toBe('start');
    expect((await manager.apply({ model, rendered })).action).toBe('noop');
    await admin.command('set server svc_web/b weight 7');
    // A second manager on the same runDir, as after an ipx restart: it adopts the master.
    const adopter = createHaproxyManager({ config: config.haproxy, listen: config.listen, logger: pino({ level: 'silent' }) });
    const before = await reloads();
    const result = await adopter.apply({ model, rendered });
    expect(result.action).toBe('reload');
    expect(result.reasons).toEqual(['the live servers disagree with the model of the live configuration']);
    expect(await reloads()).toBe(before + 1);
    expect((await liveServer('svc_web', 'b'))?.weight).toBe(3);
  });

  it('undoes runtime changes when their rewritten file then fails haproxy -c, and says so to the caller', async () => {
    const api = service('api', [on('c'), on('slow')]);
    const steady = service('web', [on('a', { port: backends.d?.port }), on('b', { weight: 3 }), on('e')]);
    await apply(steady, api);
    const next = renderSnapshot(snapshot(service('web', [on('a', { port: backends.d?.port }), on('b', { weight: 3 })]), api), config, kit);
    const broken = { ...next.rendered, files: { ...next.rendered.files, 'haproxy.cfg': `${next.rendered.files['haproxy.cfg']}\nnot-a-directive\n` }, hash: 'broken' };
    const before = await reloads();
    const failures: unknown[] = [];
    manager.onBackgroundFailure((error) => failures.push(error));
    // The ops apply first and the apply returns; the file is checked after it.
    expect((await manager.apply({ model: next.model, rendered: broken })).action).toBe('runtime');
    await manager.settled();
    expect(failures.map(String).join('\n')).toMatch(/not-a-directive/);
    // The ops had drained e; the reload of the last good files brings it back.
    expect(await reloads()).toBe(before + 1);
    expect(await readFile(join(runDir, 'haproxy.cfg'), 'utf8')).not.toContain('not-a-directive');
    const e = await liveServer('svc_web', 'e');
    expect(e && !isMaint(e) && !isDraining(e)).toBe(true);
    await eventually(async () => ((await spread('web', 10)).e ? true : undefined), 2000, 'e to take traffic again');
  });

  it('serves every request while instances come and go at runtime under load', async () => {
    const api = service('api', [on('c'), on('slow')]);
    const steady = [on('a', { port: backends.d?.port }), on('b', { weight: 3 })];
    await apply(service('web', steady), api);
    const before = await reloads();
    const [host, port] = config.listen.http.split(':') as [string, string];
    const load = startLoad({ host, port: Number(port), hostHeader: 'web.service.internal', keepAliveClients: 6, freshClients: 2, maxDurationMs: 20_000 });
    for (let i = 0; i < 6; i++) {
      expect((await apply(service('web', [...steady, on('e')]), api)).result.action).toBe('runtime');
      await sleep(150);
      expect((await apply(service('web', steady), api)).result.action).toBe('runtime');
      await eventually(async () => (manager.status().draining.length === 0 ? true : undefined), 5000, 'e to be drained and deleted');
    }
    const result = await load.stop();
    console.log(`runtime churn under load: ${result.requests} requests, statuses ${JSON.stringify(result.statuses)}, errors ${JSON.stringify(result.errors)}, bodies ${JSON.stringify(result.bodies)}`);
    expect(result.errorCount).toBe(0);
    expect(result.non2xx).toBe(0);
    expect(result.bodies.e).toBeGreaterThan(0);
    expect(await reloads()).toBe(before);
  });

  it('waits for the reload floor between reloads, but never for a runtime change', async () => {
    const api = service('api', [on('c'), on('slow')]);
    const web = [on('a', { port: backends.d?.port }), on('b', { weight: 3 }), on('e')];
    expect((await apply(service('web', web), api)).result.action).toBe('start');
    const first = await apply(service('web', web), api, service('extra'));
    expect(first.result.action).toBe('reload');
    const second = await apply(service('web', web), api);
    expect(second.result.action).toBe('reload');
    console.log(`reload right after a reload (floor ${config.haproxy.reloadFloor} ms): ${second.result.durationMs} ms`);
    expect(second.result.durationMs).toBeGreaterThanOrEqual(config.haproxy.reloadFloor - 100);
    const third = await apply(service('web', web.slice(0, 2)), api);
    expect(third.result.action).toBe('runtime');
    expect(third.result.durationMs).toBeLessThan(500);
  });
});

/**
 * Failure behaviour with real processes: Consul down at start or restarting
 * empty, a managed HAProxy killed, a listen port taken, ipx killed and restarted, a run folder
 * that cannot be written. In every case what serves keeps serving.
 */
import { execFile, spawn } from 'node:child_process';
import { readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { createConsulClient, registerService, startDevAgent, type DevAgent } from '../../src/consul/index.ts';
import { createMasterCli } from '../../src/haproxy/index.ts';
import { isAlive } from '../helpers/haproxy.ts';
import { eventually, get } from '../helpers/http.ts';
import { startBackend, type TestBackend } from '../helpers/http-backend.ts';
import { makeRunDir, removeRunDir, startTestDaemon, type TestDaemon } from '../helpers/ipx-daemon.ts';
import { findFreePorts, holdPort } from '../helpers/ports.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function consulOn(httpPort?: number): Promise<DevAgent> {
  const agent = await startDevAgent({ cwd: ROOT, ...(httpPort ? { httpPort } : {}) });
  cleanups.push(() => agent.stop());
  return agent;
}

async function backends(...names: string[]): Promise<TestBackend[]> {
  const started = await Promise.all(names.map((name) => startBackend(name)));
  cleanups.push(() => Promise.all(started.map((b) => b.close())));
  return started;
}

async function register(agent: DevAgent, service: string, list: TestBackend[]): Promise<void> {
  const client = createConsulClient({ ...baseConsul, address: agent.address });
  for (const b of list) await registerService(client, { name: service, id: b.name, address: '127.0.0.1', port: b.port });
  client.close();
}

const baseConsul = { address: '', token: '', tokenFile: '', datacenter: '', kvPrefix: 'ipx/', wait: 5000, stale: false, maxConnections: 16, tls: { caFile: '', certFile: '', keyFile: '', serverName: '', insecureSkipVerify: false } };

async function daemon(agentAddress: string, runDir: string, extra = {}, ports?: number[]): Promise<TestDaemon> {
  const d = await startTestDaemon(agentAddress, runDir, extra, ports);
  cleanups.push(() => d.stop());
  return d;
}

const body = async (d: TestDaemon, service: string) => (await get(`${d.http}/`, { host: `${service}.service.internal` })).body;
const serves = (d: TestDaemon, service: string, name: string) =>
  eventually(async () => ((await body(d, service)) === name ? true : undefined), 5000, `${service} to answer from ${name}`);
const ready = (d: TestDaemon) => eventually(async () => (d.daemon.readiness().ready ? true : undefined), 10_000, 'ready');

describe('Consul unreachable', () => {
  it('at start: serves the last-known-good configuration, reports not ready, converges when Consul comes back', async () => {
    const runDir = await makeRunDir('cold');
    cleanups.push(() => removeRunDir(runDir));
    const [a1, b1] = await backends('alpha-1', 'beta-1');
    const first = await consulOn();
    await register(first, 'alpha', [a1 as TestBackend]);
    const ports = await findFreePorts(3);
    const before = await daemon(first.address, runDir, {}, ports);
    await serves(before, 'alpha', 'alpha-1');
    await before.daemon.idle();
    await before.stop();
    await first.stop();

    const after = await daemon(first.address, runDir, {}, ports);
    await serves(after, 'alpha', 'alpha-1');
    const readiness = after.daemon.readiness();
    expect(readiness.ready).toBe(false);
    expect(readiness.reasons.join(' ')).toMatch(/consul not read yet: consul: GET .*ECONNREFUSED/);

    const second = await consulOn(first.httpPort);
    await register(second, 'alpha', [a1 as TestBackend]);
    await register(second, 'beta', [b1 as TestBackend]);
    await serves(after, 'beta', 'beta-1');
    await ready(after);
    expect(await body(after, 'alpha')).toBe('alpha-1');
  });

  it('restarting empty: the guard holds the mass drop, nothing stops serving, re-registration converges', async () => {
    const runDir = await makeRunDir('restart');
    cleanups.push(() => removeRunDir(runDir));
    const web = await backends('web-1', 'web-2', 'web-3', 'web-4');
    const agent = await consulOn();
    await register(agent, 'web', web);
    const d = await daemon(agent.address, runDir, { guard: { holdFor: '1m' } });
    await serves(d, 'web', 'web-1');
    await d.daemon.idle();

    await agent.stop();
    await eventually(async () => (d.daemon.readiness().warnings.some((w) => /consul data stale/.test(w)) ? true : undefined), 5000, 'a stale warning');
    expect(d.daemon.readiness().ready).toBe(true);
    expect((await body(d, 'web')).startsWith('web-')).toBe(true);

    const back = await consulOn(agent.httpPort);
    await eventually(async () => (d.daemon.readiness().warnings.some((w) => /guard: holding back a change that removes 4 of 4/.test(w)) ? true : undefined), 5000, 'the guard to hold');
    expect((await body(d, 'web')).startsWith('web-')).toBe(true);
    const status = (await (await fetch(`${d.admin}/status`)).json()) as { guard: { held: boolean } };
    expect(status.guard.held).toBe(true);

    await register(back, 'web', web);
    await eventually(async () => (d.daemon.readiness().warnings.length === 0 ? true : undefined), 5000, 'the hold to clear');
    expect((await body(d, 'web')).startsWith('web-')).toBe(true);
  });

  it('a real mass deregistration applies once an operator confirms it', async () => {
    const runDir = await makeRunDir('confirm');
    cleanups.push(() => removeRunDir(runDir));
    const web = await backends('w-1', 'w-2', 'w-3');
    const agent = await consulOn();
    // Instances of an external node, as a pipeline registers them through the catalog:
    // deregistering the node removes all of them in one Consul write.
    const catalog = (verb: string, payload: unknown) => fetch(`${agent.address}/v1/catalog/${verb}`, { method: 'PUT', body: JSON.stringify(payload) });
    for (const b of web) {
      await catalog('register', { Node: 'ext', Address: '127.0.0.1', Service: { ID: b.name, Service: 'web', Address: '127.0.0.1', Port: b.port } });
    }
    const d = await daemon(agent.address, runDir, { guard: { holdFor: '1m' } });
    await serves(d, 'web', 'w-1');
    await d.daemon.idle();
    await catalog('deregister', { Node: 'ext' });
    await eventually(async () => (d.daemon.readiness().warnings.some((w) => /guard: holding back a change that removes 3 of 3/.test(w)) ? true : undefined), 5000, 'the guard to hold');
    expect((await body(d, 'web')).startsWith('w-')).toBe(true);

    const { stdout } = await promisify(execFile)(process.execPath, [path.join(ROOT, 'scripts/ipx.mjs'), 'confirm'], {
      env: { ...process.env, CONSUL_HTTP_ADDR: '' },
      cwd: await writeAdminConfig(runDir, d.config.listen.admin),
    });
    expect(stdout).toMatch(/confirmed/);
    await eventually(async () => ((await get(`${d.http}/`, { host: 'web.service.internal' })).status === 404 ? true : undefined), 5000, 'web to be gone');
    expect(d.daemon.readiness().warnings).toEqual([]);
  });
});

async function writeAdminConfig(dir: string, admin: string): Promise<string> {
  await writeFile(path.join(dir, 'ipx.yaml'), `listen:\n  admin: ${admin}\n`);
  return dir;
}

describe('HAProxy faults', () => {
  it('a managed HAProxy that dies is started again with the last good configuration', async () => {
    const runDir = await makeRunDir('watchdog');
    cleanups.push(() => removeRunDir(runDir));
    const [a1] = await backends('alpha-1');
    const agent = await consulOn();
    await register(agent, 'alpha', [a1 as TestBackend]);
    const d = await daemon(agent.address, runDir);
    await serves(d, 'alpha', 'alpha-1');
    await d.daemon.idle();
    const status = d.haproxy.status();
    expect(status.running).toBe(true);
    for (const pid of [status.pid, ...status.workers]) if (pid) process.kill(pid, 'SIGKILL');
    await eventually(async () => (d.haproxy.status().running && d.haproxy.status().pid !== status.pid ? true : undefined), 5000, 'a new master');
    await serves(d, 'alpha', 'alpha-1');
    const metrics = await (await fetch(`${d.admin}/metrics`)).text();
    expect(metrics.split('\n').filter((line) => line.startsWith('ipx_haproxy_restarts_total'))).toEqual(['ipx_haproxy_restarts_total 1']);
  });

  it('a listen port another process holds fails the start at once, naming the port', async () => {
    const runDir = await makeRunDir('held');
    cleanups.push(() => removeRunDir(runDir));
    const held = await holdPort();
    cleanups.push(() => held.release());
    const agent = await consulOn();
    const [stats, admin] = (await findFreePorts(2)) as [number, number];
    const started = Date.now();
    const error = await daemon(agent.address, runDir, {}, [held.port, stats, admin]).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(new RegExp(`failed its first apply to HAProxy: .*listen\\.http 127\\.0\\.0\\.1:${held.port} is in use by another process`));
    // Well before the 15 s a caller's wait for an answer would take.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

});

const run = (command: string, args: string[]) => promisify(execFile)(command, args);

/** Ways a run folder stops taking writes, each undone by `repair`. */
const diskFaults = [
  {
    name: 'a run folder that cannot be written (immutable: not even root may create the staged file)',
    reason: /EPERM|operation not permitted/i,
    mount: false,
    breakIt: (dir: string) => run('chattr', ['+i', dir]),
    repair: (dir: string) => run('chattr', ['-i', dir]),
  },
  {
    name: 'a full run folder (a 512 KiB tmpfs filled up)',
    reason: /ENOSPC|no space left/i,
    mount: true,
    breakIt: (dir: string) => run('sh', ['-c', `dd if=/dev/zero of=${path.join(dir, 'filler')} bs=4k 2>/dev/null; true`]),
    repair: (dir: string) => rm(path.join(dir, 'filler')),
  },
];

describe.each(diskFaults)('$name', ({ reason, mount, breakIt, repair }) => {
  it('fails the change naming the path, keeps serving, and applies by itself once repaired', async () => {
    const runDir = await makeRunDir('disk');
    // Mounting needs root, as does chattr; CI runs as root too.
    if (mount) await run('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', runDir]);
    cleanups.push(async () => {
      await repair(runDir).catch(() => undefined);
      if (mount) await run('umount', ['-l', runDir]).catch(() => undefined);
      await removeRunDir(runDir);
    });
    const [a1, b1] = await backends('alpha-1', 'beta-1');
    const agent = await consulOn();
    await register(agent, 'alpha', [a1 as TestBackend]);
    const d = await daemon(agent.address, runDir);
    await serves(d, 'alpha', 'alpha-1');
    await d.daemon.idle();

    await breakIt(runDir);
    await register(agent, 'beta', [b1 as TestBackend]);
    const reasons = await eventually(async () => {
      const r = d.daemon.readiness();
      return r.ready ? undefined : r.reasons.join(' ');
    }, 5000, 'the failure to show');
    expect(reasons).toMatch(reason);
    expect(reasons).toContain(runDir);
    expect(await body(d, 'alpha')).toBe('alpha-1');
    expect((await readdir(runDir)).filter((name) => name.startsWith('.ipx-tmp-') || name === '.haproxy.cfg.next')).toEqual([]);

    await repair(runDir);
    // No new Consul change is needed: a failed apply is retried with backoff.
    await serves(d, 'beta', 'beta-1');
  });
});

describe('a crash mid-write', () => {
  it('leaves no temporary or staged file behind once ipx starts again', async () => {
    const runDir = await makeRunDir('leftovers');
    cleanups.push(() => removeRunDir(runDir));
    const agent = await consulOn();
    const first = await daemon(agent.address, runDir);
    await ready(first);
    await first.stop();
    // What a crash between writing and renaming leaves.
    await writeFile(path.join(runDir, '.ipx-tmp-haproxy.cfg-123'), 'partial');
    await writeFile(path.join(runDir, '.haproxy.cfg.next'), 'partial');
    const second = await daemon(agent.address, runDir);
    await ready(second);
    expect((await readdir(runDir)).filter((name) => name.startsWith('.'))).toEqual([]);
  });
});

describe('ipx restarts', () => {
  it('killed with SIGKILL and started again: adopts HAProxy and does not reload when nothing changed', async () => {
    const runDir = await makeRunDir('sigkill');
    cleanups.push(() => removeRunDir(runDir));
    const [a1] = await backends('alpha-1');
    const agent = await consulOn();
    await register(agent, 'alpha', [a1 as TestBackend]);
    const [http, stats, admin] = (await findFreePorts(3)) as [number, number, number];
    await writeFile(
      path.join(runDir, 'ipx.yaml'),
      `consul:\n  address: ${agent.address}\nhaproxy:\n  runDir: ${runDir}\n  hardStopAfter: 3s\nlisten:\n  http: 127.0.0.1:${http}\n  stats: 127.0.0.1:${stats}\n  admin: 127.0.0.1:${admin}\nlog:\n  level: warn\n`,
    );
    const startIpx = () => {
      const child = spawn(process.execPath, [path.join(ROOT, 'scripts/ipx.mjs'), 'watch', '-c', path.join(runDir, 'ipx.yaml')], { stdio: 'ignore' });
      cleanups.push(async () => {
        if (child.exitCode === null) child.kill('SIGTERM');
      });
      return child;
    };
    const readyz = () => eventually(async () => ((await get(`http://127.0.0.1:${admin}/readyz`)).status === 200 ? true : undefined), 15_000, 'ipx ready');
    const cli = createMasterCli({ socketPath: path.join(runDir, 'master.sock') });
    cleanups.push(async () => {
      const proc = await cli.showProc().catch(() => undefined);
      for (const pid of [proc?.master.pid, ...(proc?.workers.map((w) => w.pid) ?? [])]) if (pid && isAlive(pid)) process.kill(pid, 'SIGKILL');
    });

    const first = startIpx();
    await readyz();
    const before = await cli.showProc();
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    expect((await get(`http://127.0.0.1:${http}/`, { host: 'alpha.service.internal' })).body).toBe('alpha-1');

    startIpx();
    await readyz();
    const after = await cli.showProc();
    expect(after.master.pid).toBe(before.master.pid);
    expect(after.master.reloads).toBe(before.master.reloads);
    expect((await get(`http://127.0.0.1:${http}/`, { host: 'alpha.service.internal' })).body).toBe('alpha-1');
  });
});

import { readdir, readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HaproxyCheckError, HaproxyRuntimeError } from '../../src/errors.ts';
import { createHaproxyManager, createMasterCli, dryRunCheck } from '../../src/haproxy/index.ts';
import { createTestManager, isAlive, testConfig, type TestManager } from '../helpers/haproxy.ts';
import { startBackend, type TestBackend } from '../helpers/http-backend.ts';
import { freePort, holdPort } from '../helpers/ports.ts';

/**
 * One request on a fresh connection: a kept-alive one would reach the old
 * worker, which (idle-close-on-response) answers one more request with its
 * old config before closing.
 */
function get(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, headers: { host: 'default.test' }, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function reloadCounter(t: TestManager): Promise<number> {
  return (await createMasterCli({ socketPath: join(t.runDir, 'master.sock') }).showProc()).master.reloads;
}

describe('HAProxy manager against a real HAProxy', () => {
  let t: TestManager;
  let alpha: TestBackend;
  let beta: TestBackend;
  let port: number;
  const config = (route: string, extra: { frontendLines?: string[]; generation?: number } = {}) =>
    testConfig({ runDir: t.runDir, port, backends: [alpha, beta], route, ...extra });

  beforeAll(async () => {
    t = await createTestManager();
    [alpha, beta, port] = await Promise.all([startBackend('alpha'), startBackend('beta'), freePort()]);
  });

  afterAll(async () => {
    await t?.cleanup();
    await Promise.all([alpha?.close(), beta?.close()]);
  });

  it('starts and serves', async () => {
    const result = await t.manager.start({ rendered: config('alpha') });
    expect(result.action).toBe('start');
    expect(await get(port)).toEqual({ status: 200, body: 'alpha' });
    const status = await t.manager.refresh();
    expect(status.running).toBe(true);
    expect(status.workers).toHaveLength(1);
    expect(status.liveHash).toBe(config('alpha').hash);
  });

  it('moves traffic on a changed config, and does nothing for the same hash', async () => {
    const result = await t.manager.apply({ rendered: config('beta') });
    expect(result.action).toBe('reload');
    console.log(`reload to beta: apply ${result.durationMs} ms, master confirmed in ${result.reloadMs} ms`);
    expect(await get(port)).toEqual({ status: 200, body: 'beta' });

    const before = await reloadCounter(t);
    const again = await t.manager.apply({ rendered: config('beta') });
    expect(again.action).toBe('noop');
    expect(await reloadCounter(t)).toBe(before);
    // The old map file is pruned, the live one and the last-good copy stay.
    const names = (await readdir(t.runDir)).filter((name) => name.endsWith('.map'));
    expect(names).toEqual(Object.keys(config('beta').files).filter((name) => name.endsWith('.map')));
  });

  it('rejects a config haproxy -c refuses: nothing swapped, still serving', async () => {
    const live = await readFile(join(t.runDir, 'haproxy.cfg'), 'utf8');
    const before = await reloadCounter(t);
    const bad = config('alpha', { frontendLines: ['bogus_keyword on'] });
    const error = await t.manager.apply({ rendered: bad }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(HaproxyCheckError);
    expect((error as Error).message).toMatch(/haproxy\.cfg \(staged\):\d+\] : unknown keyword 'bogus_keyword'/);
    expect(await readFile(join(t.runDir, 'haproxy.cfg'), 'utf8')).toBe(live);
    expect(await reloadCounter(t)).toBe(before);
    expect((await readdir(t.runDir)).filter((name) => name.startsWith('.'))).toEqual([]);
    expect(await get(port)).toEqual({ status: 200, body: 'beta' });
  });

  it('refuses a new bind another process holds before reloading: nothing swapped, no reload, still serving', async () => {
    const held = await holdPort();
    try {
      const live = await readFile(join(t.runDir, 'haproxy.cfg'), 'utf8');
      const before = await reloadCounter(t);
      const error = await t.manager.apply({ rendered: config('alpha', { frontendLines: [`bind 127.0.0.1:${held.port}`] }) }).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(HaproxyRuntimeError);
      expect((error as Error).message).toMatch(new RegExp(`cannot listen: 127\\.0\\.0\\.1:${held.port} is in use by another process`));
      expect(await readFile(join(t.runDir, 'haproxy.cfg'), 'utf8')).toBe(live);
      expect(await reloadCounter(t)).toBe(before);
      expect(await get(port)).toEqual({ status: 200, body: 'beta' });
    } finally {
      await held.release();
    }
  });

  // A port range is not tried before the reload (bind-addresses.ts skips ranges), so these reach HAProxy's own bind and its rollback.
  it.each([
    { name: 'a port held by another process', bind: (held: number) => `127.0.0.1:${held}-${held}`, reason: /cannot bind socket \(Address already in use\)/ },
    { name: 'a non-local address', bind: () => '192.0.2.1:80-80', reason: /cannot bind socket \(Cannot assign requested address\) for \[192\.0\.2\.1:80\]/ },
  ])('rolls back a config that passes -c but fails at reload ($name), then applies a good one', async ({ bind, reason }) => {
    const held = await holdPort();
    try {
      const live = await readFile(join(t.runDir, 'haproxy.cfg'), 'utf8');
      const bad = config('alpha', { frontendLines: [`bind ${bind(held.port)}`] });
      const started = performance.now();
      const error = await t.manager.apply({ rendered: bad }).catch((err: unknown) => err);
      console.log(`failed reload + rollback took ${Math.round(performance.now() - started)} ms: ${(error as Error).message}`);
      expect(error).toBeInstanceOf(HaproxyRuntimeError);
      expect((error as Error).message).toMatch(reason);
      expect((error as Error).message).toMatch(/Rolled back to the last known-good configuration/);
      expect(await readFile(join(t.runDir, 'haproxy.cfg'), 'utf8')).toBe(live);
      expect(await get(port)).toEqual({ status: 200, body: 'beta' });
      expect(t.manager.status()).toMatchObject({ liveHash: config('beta').hash, lastApply: { ok: false } });
    } finally {
      await held.release();
    }
    const good = await t.manager.apply({ rendered: config('alpha') });
    expect(good.action).toBe('reload');
    expect(await get(port)).toEqual({ status: 200, body: 'alpha' });
    expect((await t.manager.refresh()).failedReloads).toBe(0);
    // Leave beta live, as the next case expects.
    expect((await t.manager.apply({ rendered: config('beta') })).action).toBe('reload');
  });

  it('starts HAProxy again when the master died', async () => {
    const status = await t.manager.refresh();
    for (const pid of [status.pid as number, ...status.workers, ...status.oldWorkers]) process.kill(pid, 'SIGKILL');
    await expect.poll(() => isAlive(status.pid as number)).toBe(false);
    const result = await t.manager.apply({ rendered: config('beta') });
    expect(result.action).toBe('start');
    expect(t.manager.status().pid).not.toBe(status.pid);
    expect(await get(port)).toEqual({ status: 200, body: 'beta' });
  });

  it('adopts the running master from a second manager on the same runDir', async () => {
    const second = createHaproxyManager({ config: t.config, logger: pino({ level: 'silent' }) });
    const result = await second.apply({ rendered: config('beta') });
    expect(result.action).toBe('noop');
    expect(second.status().pid).toBe(t.manager.status().pid);
  });

  it('with manage: false, reloads through the master socket and never stops that HAProxy', async () => {
    const external = createHaproxyManager({ config: { ...t.config, manage: false }, logger: pino({ level: 'silent' }) });
    expect((await external.apply({ rendered: config('alpha', { generation: 3 }) })).action).toBe('reload');
    expect(await get(port)).toEqual({ status: 200, body: 'alpha' });
    await external.stop();
    expect(isAlive(t.manager.status().pid as number)).toBe(true);
    // One runDir has one owner: t.manager still believes beta is live, so give it a new hash.
    expect((await t.manager.apply({ rendered: config('beta', { generation: 4 }) })).action).toBe('reload');
    expect(await get(port)).toEqual({ status: 200, body: 'beta' });
  });

  it('dry-run check writes nothing in runDir', async () => {
    const before = await readdir(t.runDir);
    expect(await dryRunCheck(config('beta', { generation: 7 }), t.config.binary)).toEqual([]);
    await expect(dryRunCheck(config('beta', { frontendLines: ['nope'] }), t.config.binary)).rejects.toThrow(HaproxyCheckError);
    expect(await readdir(t.runDir)).toEqual(before);
  });

  it('stop() leaves no process with its pids', async () => {
    const status = await t.manager.refresh();
    const pids = [status.pid as number, ...status.workers, ...status.oldWorkers];
    await t.manager.stop();
    await t.manager.stop();
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
    expect(t.manager.status().running).toBe(false);
  });
});

describe('first start on a port in use', () => {
  it('fails before starting HAProxy and names the config key', async () => {
    const held = await holdPort();
    const t = await createTestManager();
    try {
      const address = `127.0.0.1:${held.port}`;
      const manager = createHaproxyManager({ config: t.config, logger: pino({ level: 'silent' }), listen: { http: address } });
      const rendered = testConfig({ runDir: t.runDir, port: held.port, backends: [{ name: 'none', port: 9 }] });
      await expect(manager.start({ rendered: rendered })).rejects.toThrow(`listen.http ${address} is in use by another process; choose another port with listen.http`);
      expect(manager.status().running).toBe(false);
      expect((await readdir(t.runDir)).filter((name) => name === 'haproxy.pid' || name.startsWith('.'))).toEqual([]);
    } finally {
      await t.cleanup();
      await held.release();
    }
  });
});

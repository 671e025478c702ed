/**
 * examples/systemd as written: HAProxy started with the drop-in's options (as
 * Debian's haproxy.service would), then ipx with the unit's ExecStartPre,
 * ExecStart and ExecReload, against a real Consul. Only the absolute paths
 * move into a temporary folder, and the ports to free ones.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerService } from '../../src/consul/index.ts';
import { startTestConsul, type TestConsul } from '../helpers/consul.ts';
import { isAlive } from '../helpers/haproxy.ts';
import { eventually, get } from '../helpers/http.ts';
import { startBackend, type TestBackend } from '../helpers/http-backend.ts';
import { ROOT } from '../helpers/ipx-cli.ts';
import { findFreePorts } from '../helpers/ports.ts';

const EXAMPLES = path.join(ROOT, 'examples', 'systemd');

let consul: TestConsul;
let backend: TestBackend;
let dir: string;
let ports: number[];
let haproxy: ChildProcess | undefined;
let ipx: ChildProcess | undefined;
let ipxLog = '';

/** `key=value` lines of one section, a key listed once per line it appears on. */
function section(text: string, name: string): Array<[string, string]> {
  let current = '';
  const entries: Array<[string, string]> = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed.startsWith('[')) current = trimmed;
    else if (current === `[${name}]` && /^[A-Za-z]+=/.test(trimmed)) entries.push([trimmed.slice(0, trimmed.indexOf('=')), trimmed.slice(trimmed.indexOf('=') + 1)]);
  }
  return entries;
}

const value = (entries: Array<[string, string]>, key: string) => entries.find(([k]) => k === key)?.[1] ?? '';

/** The installed paths, moved under the test's folder. */
function localize(text: string): string {
  const group = spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim();
  return text
    .replaceAll('/var/lib/ipx', path.join(dir, 'var-lib-ipx'))
    .replaceAll('/etc/ipx/ipx.yaml', path.join(dir, 'ipx.yaml'))
    .replaceAll('/opt/ipx', ROOT)
    .replaceAll('group,ipx', `group,${group}`)
    .replaceAll('socketGroup: ipx', `socketGroup: ${group}`)
    .replace('0.0.0.0:80', `127.0.0.1:${ports[0]}`)
    .replace('127.0.0.1:8404', `127.0.0.1:${ports[1]}`)
    .replace('127.0.0.1:8405', `127.0.0.1:${ports[2]}`)
    .replace('http://127.0.0.1:8500', consul.agent.address);
}

/** An Exec line as systemd runs it: words split on spaces, $MAINPID replaced. */
function words(line: string, vars: Record<string, string> = {}): string[] {
  return line.split(/\s+/).filter(Boolean).flatMap((word) => (word.startsWith('$') ? (vars[word.slice(1)] ?? '').split(/\s+/).filter(Boolean) : [word]));
}

beforeAll(async () => {
  consul = await startTestConsul();
  backend = await startBackend('web-1');
  await registerService(consul.client, { name: 'web', id: 'web-1', address: '127.0.0.1', port: backend.port });
  dir = await mkdtemp(path.join(tmpdir(), 'ipx-examples-'));
  ports = await findFreePorts(3);
  await mkdir(path.join(dir, 'var-lib-ipx'), { mode: 0o750 });
  await writeFile(path.join(dir, 'ipx.yaml'), localize(await readFile(path.join(EXAMPLES, 'ipx.yaml'), 'utf8')));
});

afterAll(async () => {
  if (ipx && ipx.exitCode === null) ipx.kill('SIGKILL');
  const pidFile = path.join(dir, 'haproxy.pid');
  const masterPid = Number(await readFile(pidFile, 'utf8').catch(() => '0'));
  for (const pid of [masterPid, haproxy?.pid ?? 0]) if (pid > 0 && isAlive(pid)) process.kill(pid, 'SIGKILL');
  await backend?.close();
  await consul?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('examples/systemd', () => {
  it('the unit passes systemd-analyze verify, where systemd is installed', async () => {
    const unit = await readFile(path.join(EXAMPLES, 'ipx.service'), 'utf8');
    const service = section(unit, 'Service');
    expect(value(service, 'ExecStart')).toMatch(/ipx\.mjs watch -c \/etc\/ipx\/ipx\.yaml/);
    expect(value(service, 'ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(value(section(unit, 'Unit'), 'After')).toContain('haproxy.service');
    const analyze = spawnSync('systemd-analyze', ['verify', path.join(EXAMPLES, 'ipx.service')], { encoding: 'utf8' });
    if (analyze.error === undefined) {
      expect(analyze.stderr).toBe('');
      expect(analyze.status).toBe(0);
    }
  });

  it('HAProxy from the drop-in, then ipx from the unit: it serves, reloads on ExecReload and leaves HAProxy running on stop', async () => {
    const dropIn = localize(await readFile(path.join(EXAMPLES, 'haproxy.service.d', 'ipx.conf'), 'utf8'));
    const env = Object.fromEntries([...value(section(dropIn, 'Service'), 'Environment').matchAll(/"([A-Z]+)=([^"]*)"/g)].map((m) => [m[1] as string, m[2] as string]));
    const pre = spawnSync('/bin/sh', ['-c', value(section(dropIn, 'Service'), 'ExecStartPre').replace(/^\/bin\/sh -c '(.*)'$/, '$1')], { encoding: 'utf8' });
    expect(pre.status).toBe(0);
    // Debian's unit: ExecStart=/usr/sbin/haproxy -Ws -f $CONFIG -p $PIDFILE $EXTRAOPTS
    haproxy = spawn('haproxy', words('-Ws -f $CONFIG -p $PIDFILE $EXTRAOPTS', { ...env, PIDFILE: path.join(dir, 'haproxy.pid') }), { stdio: 'ignore' });
    await eventually(async () => ((await readFile(path.join(dir, 'var-lib-ipx', 'master.sock')).catch((e: NodeJS.ErrnoException) => e.code)) === 'ENXIO' ? true : undefined), 10_000, 'the master socket');

    const unit = localize(await readFile(path.join(EXAMPLES, 'ipx.service'), 'utf8'));
    const service = section(unit, 'Service');
    const [node, ...preArgs] = words(value(service, 'ExecStartPre'));
    const validate = await promisify(execFile)(node as string, preArgs, { cwd: dir, env: { ...process.env, CONSUL_HTTP_ADDR: '' } });
    expect(validate.stdout).toMatch(/haproxy -c: valid/);

    const [, ...startArgs] = words(value(service, 'ExecStart'));
    ipx = spawn(node as string, startArgs, { cwd: path.join(dir, 'var-lib-ipx'), env: { ...process.env, CONSUL_HTTP_ADDR: '' }, stdio: ['ignore', 'ignore', 'pipe'] });
    ipx.stderr?.on('data', (chunk: Buffer) => (ipxLog += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => ipx?.on('exit', (code) => resolve(code)));
    await eventually(async () => ((await get(`http://127.0.0.1:${ports[2]}/readyz`)).status === 200 ? true : undefined), 20_000, 'ipx to be ready');
    expect((await get(`http://127.0.0.1:${ports[0]}/`, { host: 'web.service.internal' })).body).toBe('web-1');
    // One JSON object per line, as journald stores them.
    expect(ipxLog.trim().split('\n').every((line) => line.startsWith('{"level":'))).toBe(true);

    spawnSync('/bin/sh', ['-c', value(service, 'ExecReload').replace('$MAINPID', String(ipx.pid))]);
    await eventually(async () => (ipxLog.includes('config reloaded (SIGHUP)') ? true : undefined), 10_000, 'the reload on SIGHUP');

    const masterPid = Number(await readFile(path.join(dir, 'haproxy.pid'), 'utf8'));
    ipx.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(isAlive(masterPid)).toBe(true);
    expect((await get(`http://127.0.0.1:${ports[0]}/`, { host: 'web.service.internal' })).body).toBe('web-1');
  });
});

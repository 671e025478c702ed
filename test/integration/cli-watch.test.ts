/**
 * A running `ipx watch` as operators use it: readable logs, `ipx status`,
 * SIGHUP and edits to the config file or to their own templates, all through
 * the real binary against a real Consul dev agent and HAProxy.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerService } from '../../src/consul/index.ts';
import { startTestConsul, type TestConsul } from '../helpers/consul.ts';
import { isAlive } from '../helpers/haproxy.ts';
import { eventually, get } from '../helpers/http.ts';
import { startBackend, type TestBackend } from '../helpers/http-backend.ts';
import { ipx, ROOT, spawnIpx, type Spawned } from '../helpers/ipx-cli.ts';
import { findFreePorts } from '../helpers/ports.ts';

let consul: TestConsul;
let backends: TestBackend[];
let dir: string;
let watch: Spawned;
let ports: number[];
let configFile: string;
let haproxyPid: number | undefined;

const liveConfig = () => readFile(path.join(dir, 'run', 'haproxy.cfg'), 'utf8');

function configText(extra: string[] = [], maxconn = 4000): string {
  return [
    'consul:',
    `  address: ${consul.agent.address}`,
    '  wait: 5s',
    'haproxy:',
    '  runDir: run',
    `  maxconn: ${maxconn}`,
    '  hardStopAfter: 3s',
    '  reloadFloor: 0s',
    'listen:',
    `  http: 127.0.0.1:${ports[0]}`,
    `  stats: 127.0.0.1:${ports[1]}`,
    `  admin: 127.0.0.1:${ports[2]}`,
    'watch:',
    '  waitMin: 50ms',
    '  waitMax: 300ms',
    'templates:',
    '  dir: my-templates',
    ...extra,
  ].join('\n') + '\n';
}

/** Sends SIGHUP and waits for the log line that says how it ended. */
async function hup(outcome: RegExp): Promise<void> {
  const before = watch.stderr().length;
  watch.child.kill('SIGHUP');
  await eventually(async () => (outcome.test(watch.stderr().slice(before)) ? true : undefined), 15_000, `${outcome} after SIGHUP`);
}

async function apiAnswers(): Promise<boolean> {
  const res = await get(`http://127.0.0.1:${ports[0]}/`, { host: 'api.service.internal' });
  return res.status === 200;
}

beforeAll(async () => {
  consul = await startTestConsul();
  backends = [await startBackend('api-1'), await startBackend('api-2')];
  await registerService(consul.client, { name: 'api', id: 'api-1', address: '127.0.0.1', port: backends[0]!.port });
  dir = await mkdtemp(path.join(tmpdir(), 'ipx-watch-'));
  await mkdir(path.join(dir, 'my-templates'));
  ports = await findFreePorts(3);
  configFile = path.join(dir, 'ipx.yaml');
  await writeFile(configFile, configText());
  watch = spawnIpx(['watch', '--log-format', 'human'], { cwd: dir });
  await watch.waitFor(/haproxy: start applied/, 30_000);
  haproxyPid = Number(await readFile(path.join(dir, 'run', 'haproxy.pid'), 'utf8'));
});

afterAll(async () => {
  await watch?.stop('SIGTERM');
  if (haproxyPid && isAlive(haproxyPid)) process.kill(haproxyPid, 'SIGKILL');
  for (const backend of backends ?? []) await backend.close();
  await consul?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('logs people read', () => {
  it('one line per apply: the action, each step\'s time and what changed', async () => {
    const log = watch.stderr();
    expect(log).toMatch(/^consul: first sync done: 1 services \(3 views\) read in \d+\.\d s$/m);
    expect(log).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: haproxy: start applied in \d+ ms \(render \d+ ms, check [\d.]+ ms, start [\d.]+ ms\): services \+1 \(\+api\), routes \+1 \(\+api\.service\.internal → svc_api\), servers \+1 \(\+api\/api-1 127\.0\.0\.1:\d+\)/m);
    // Not JSON on the line: a person reads it.
    expect(log).not.toMatch(/^\{"level"/m);

    await registerService(consul.client, { name: 'api', id: 'api-2', address: '127.0.0.1', port: backends[1]!.port });
    await watch.waitFor(/INFO: haproxy: runtime applied in \d+ ms \(render \d+ ms, ops [\d.]+ ms, verify [\d.]+ ms, check [\d.]+ ms, swap [\d.]+ ms\): services ~1 \(~api\), servers \+1 \(\+api\/api-2 127\.0\.0\.1:\d+\)/);
  });

  it('ipx --version', async () => {
    const run = await ipx(['--version'], { cwd: dir });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ipx 0\.1\.0 \(node v\d+\.\d+\.\d+\)\n$/);
  });
});

describe('ipx status', () => {
  it('prints Consul, the last apply, HAProxy and a table of every server', async () => {
    await eventually(async () => ((await ipx(['status', '--json'], { cwd: dir })).stdout.includes('"api-2"') ? true : undefined), 10_000, 'api-2 in /status');
    const run = await ipx(['status'], { cwd: dir });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^consul:  ${consul.agent.address.replace(/\./g, '\\.')}, 1 services, 3 of 3 views read, index \\d+, fresh \\(last answer \\d+ s ago\\), \\d+ connections$`, 'm'));
    expect(run.stdout).toMatch(/^applied: runtime ok at \S+ in \d+ ms; serving [0-9a-f]{12}: 1 services, 0 items skipped$/m);
    expect(run.stdout).toMatch(/^haproxy: master \d+, workers \d+/m);
    expect(run.stdout).toMatch(/^SERVICE +BACKEND +SERVER +ADDRESS +WEIGHT +STATE +HAPROXY$/m);
    expect(run.stdout).toMatch(new RegExp(`^api +svc_api +api-1 +127\\.0\\.0\\.1:${backends[0]!.port} +1 +ready +up$`, 'm'));
    expect(run.stdout).toMatch(new RegExp(`^api +svc_api +api-2 +127\\.0\\.0\\.1:${backends[1]!.port} +1 +ready +up$`, 'm'));
  });

  it('--json for scripts, --service to narrow, a clear error for an unknown service', async () => {
    const json = JSON.parse((await ipx(['status', '--json'], { cwd: dir })).stdout) as {
      consul: { connections: number; views: number; lastIndex: string };
      backends: Array<{ service: string; servers: Array<{ name: string; state: string; weight: number; live: { state: string } }> }>;
    };
    expect(json.consul.views).toBe(3);
    expect(json.consul.connections).toBeGreaterThanOrEqual(1);
    expect(Number(json.consul.lastIndex)).toBeGreaterThan(0);
    expect(json.backends[0]?.servers.map((s) => [s.name, s.state, s.weight, s.live.state])).toEqual([
      ['api-1', 'ready', 1, 'up'],
      ['api-2', 'ready', 1, 'up'],
    ]);
    const narrowed = await ipx(['status', '--service', 'API'], { cwd: dir });
    expect(narrowed.code).toBe(0);
    expect(narrowed.stdout).not.toMatch(/^consul:/m);
    expect(narrowed.stdout).toMatch(/^api +svc_api +api-1 /m);
    const unknown = await ipx(['status', '--service', 'nosuch'], { cwd: dir });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no service "nosuch" in the applied configuration/);
  });
});

describe('SIGHUP', () => {
  it('re-reads the config file and applies it with a seamless reload, without a failed request', async () => {
    let failures = 0;
    let sent = 0;
    let stop = false;
    const traffic = (async () => {
      while (!stop) {
        sent++;
        if (!(await apiAnswers().catch(() => false))) failures++;
      }
    })();
    // Written and signalled at once: the file watcher's own reload comes later and finds nothing new.
    await writeFile(configFile, configText([], 3000));
    await hup(/INFO: config reloaded \(SIGHUP\)/);
    await watch.waitFor(/INFO: haproxy: reload applied in \d+ ms \(render \d+ ms, check [\d.]+ ms, reload [\d.]+ ms\): global maxconn because global setting maxconn changed/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    stop = true;
    await traffic;
    expect(await liveConfig()).toMatch(/^ {4}maxconn 3000$/m);
    expect(sent).toBeGreaterThan(10);
    expect(failures).toBe(0);
  });

  it('refuses an invalid file with the reason and keeps the running configuration', async () => {
    await writeFile(configFile, configText().replace('maxconn: 4000', 'maxconn: lots'));
    await hup(/ERROR: config reload refused \(SIGHUP\): .*haproxy\.maxconn: .*; the running configuration stays/);
    expect(await liveConfig()).toMatch(/^ {4}maxconn 3000$/m);
    expect(await apiAnswers()).toBe(true);
    // Not `ipx status`: it would read the same broken file.
    expect((await get(`http://127.0.0.1:${ports[2]}/readyz`)).status).toBe(200);

    await writeFile(configFile, configText().replace('wait: 5s', 'wait: 7s'));
    await hup(/ERROR: config reload refused \(SIGHUP\): config reload: consul\.wait changed, which only a restart of ipx watch applies/);
    expect(await liveConfig()).toMatch(/^ {4}maxconn 3000$/m);
    await writeFile(configFile, configText([], 3000));
  });
});

describe('templates.dir', () => {
  const partial = () => path.join(dir, 'my-templates', 'partials', 'global.hbs');

  it('a partial in the user folder replaces the built-in of the same name, applied when the file appears', async () => {
    await mkdir(path.dirname(partial()), { recursive: true });
    await copyFile(path.join(ROOT, 'templates', 'partials', 'global.hbs'), partial());
    const built = await readFile(partial(), 'utf8');
    await writeFile(partial(), built.replace('    mworker-max-reloads 50\n', '    mworker-max-reloads 50\n    tune.bufsize 32768\n'));
    await eventually(async () => ((await liveConfig()).includes('    tune.bufsize 32768\n') ? true : undefined), 15_000, 'the tuning line in the live configuration');
    expect(watch.stderr()).toMatch(/INFO: config reloaded \((add|change) .*my-templates\/partials\/global\.hbs\)/);
    expect(await apiAnswers()).toBe(true);

    const validate = await ipx(['validate', '--offline'], { cwd: dir });
    expect(validate.code).toBe(0);
    expect(validate.stdout).toMatch(/^templates: compiled, yours in place of the built-ins: .*my-templates\/partials\/global\.hbs$/m);
  });

  it('a broken template is refused with its file and line; the last good configuration keeps serving', async () => {
    const good = await readFile(partial(), 'utf8');
    const lines = good.split('\n');
    const at = lines.findIndex((line) => line.includes('tune.bufsize'));
    lines.splice(at + 1, 0, '    maxconn {{global.maxconn}}');
    await writeFile(partial(), lines.join('\n'));
    const where = new RegExp(`config reload refused \\(change .*global\\.hbs\\): render: .*my-templates/partials/global\\.hbs does not compile: line ${at + 2}: \\{\\{global\\.maxconn\\}\\} must call one of the encoding helpers`);
    await watch.waitFor(where, 15_000);
    expect(await liveConfig()).toContain('    tune.bufsize 32768\n');
    expect(await apiAnswers()).toBe(true);

    const validate = await ipx(['validate', '--offline'], { cwd: dir });
    expect(validate.code).toBe(5);
    expect(validate.stderr).toMatch(new RegExp(`my-templates/partials/global\\.hbs does not compile: line ${at + 2}: `));
    await writeFile(partial(), good);
  });
});

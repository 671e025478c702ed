/**
 * A running `ipx watch` as operators use it: readable logs, `ipx status`,
 * SIGHUP and edits to the config file or to their own templates, all through
 * the real binary against a real Consul dev agent and HAProxy. One agent for
 * the file; each case starts its own `ipx watch` (service api with api-1) in a
 * folder of its own and removes what it registered, so the cases hold in any order.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deregisterService, registerService, type ServiceRegistration } from '../../src/consul/index.ts';
import { putKv, startTestConsul, type TestConsul } from '../helpers/consul.ts';
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
/** Instance IDs a case registered, deregistered after it. */
const registered: string[] = [];

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

async function register(registration: Omit<ServiceRegistration, 'address'>): Promise<void> {
  registered.push(registration.id);
  await registerService(consul.client, { address: '127.0.0.1', ...registration });
}

/** api-2 registered, and applied by the watch (a runtime apply). */
async function withApi2(): Promise<void> {
  await register({ name: 'api', id: 'api-2', port: backends[1]!.port });
  await watch.waitFor(/runtime applied in .*\+api\/api-2 /, 15_000);
}

beforeAll(async () => {
  consul = await startTestConsul();
  backends = [await startBackend('api-1'), await startBackend('api-2')];
});

afterAll(async () => {
  for (const backend of backends ?? []) await backend.close();
  await consul?.stop();
});

beforeEach(async () => {
  await register({ name: 'api', id: 'api-1', port: backends[0]!.port });
  dir = await mkdtemp(path.join(tmpdir(), 'ipx-watch-'));
  await mkdir(path.join(dir, 'my-templates'));
  ports = await findFreePorts(3);
  configFile = path.join(dir, 'ipx.yaml');
  await writeFile(configFile, configText());
  watch = spawnIpx(['watch', '--log-format', 'human'], { cwd: dir });
  await watch.waitFor(/haproxy: start applied/, 30_000);
  haproxyPid = Number(await readFile(path.join(dir, 'run', 'haproxy.pid'), 'utf8'));
});

afterEach(async () => {
  await watch?.stop('SIGTERM');
  if (haproxyPid && isAlive(haproxyPid)) process.kill(haproxyPid, 'SIGKILL');
  haproxyPid = undefined;
  await Promise.all([...new Set(registered.splice(0))].map((id) => deregisterService(consul.client, id)));
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('logs people read', () => {
  it('one line per apply: the action, each step\'s time and what changed', async () => {
    const log = watch.stderr();
    expect(log).toMatch(/^consul: first sync done: 1 services \(5 views\) read in \d+\.\d s$/m);
    expect(log).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: haproxy: start applied in \d+ ms \(model \d+ ms, render \d+ ms, check [\d.]+ ms, start [\d.]+ ms\): services \+1 \(\+api\), routes \+1 \(\+api\.service\.internal → svc_api\), servers \+1 \(\+api\/api-1 127\.0\.0\.1:\d+\)/m);
    // Not JSON on the line: a person reads it.
    expect(log).not.toMatch(/^\{"level"/m);

    await register({ name: 'api', id: 'api-2', port: backends[1]!.port });
    await watch.waitFor(/INFO: haproxy: runtime applied in \d+ ms \(model \d+ ms, ops [\d.]+ ms, verify [\d.]+ ms, render \d+ ms\): services ~1 \(~api\), servers \+1 \(\+api\/api-2 127\.0\.0\.1:\d+\)/);
  });

  it('ipx --version', async () => {
    const run = await ipx(['--version'], { cwd: dir });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ipx 0\.1\.0 \(node v\d+\.\d+\.\d+\)\n$/);
  });
});

describe('ipx status', () => {
  it('prints Consul, the last apply, HAProxy and a table of every server', async () => {
    await withApi2();
    await eventually(async () => ((await ipx(['status', '--json'], { cwd: dir })).stdout.includes('"api-2"') ? true : undefined), 10_000, 'api-2 in /status');
    const run = await ipx(['status'], { cwd: dir });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^consul:  ${consul.agent.address.replace(/\./g, '\\.')}, 1 services, 5 of 5 views read, index \\d+, fresh \\(last answer \\d+ s ago\\), \\d+ connections$`, 'm'));
    expect(run.stdout).toMatch(/^applied: runtime ok at \S+ in \d+ ms; serving [0-9a-f]{12}: 1 services, 0 items skipped$/m);
    expect(run.stdout).toMatch(/^haproxy: master \d+, workers \d+/m);
    expect(run.stdout).toMatch(/^SERVICE +BACKEND +SERVER +ADDRESS +WEIGHT +STATE +HAPROXY$/m);
    expect(run.stdout).toMatch(new RegExp(`^api +svc_api +api-1 +127\\.0\\.0\\.1:${backends[0]!.port} +1 +ready +up$`, 'm'));
    expect(run.stdout).toMatch(new RegExp(`^api +svc_api +api-2 +127\\.0\\.0\\.1:${backends[1]!.port} +1 +ready +up$`, 'm'));
  });

  it('--json for scripts, --service to narrow, a clear error for an unknown service', async () => {
    await withApi2();
    await eventually(async () => ((await ipx(['status', '--json'], { cwd: dir })).stdout.includes('"api-2"') ? true : undefined), 10_000, 'api-2 in /status');
    const json = JSON.parse((await ipx(['status', '--json'], { cwd: dir })).stdout) as {
      consul: { connections: number; views: number; lastIndex: string };
      backends: Array<{ service: string; servers: Array<{ name: string; state: string; weight: number; live: { state: string } }> }>;
    };
    // The three change signals (catalog, checks, KV) and one read per service.
    expect(json.consul.views).toBe(5);
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
    await watch.waitFor(/INFO: haproxy: reload applied in \d+ ms \(model \d+ ms, render \d+ ms, check [\d.]+ ms, reload [\d.]+ ms\): global maxconn because global setting maxconn changed/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    stop = true;
    await traffic;
    expect(await liveConfig()).toMatch(/^ {4}maxconn 3000$/m);
    expect(sent).toBeGreaterThan(10);
    expect(failures).toBe(0);
    const applied = /haproxy: reload applied in (\d+) ms/.exec(watch.stderr().slice(watch.stderr().indexOf('config reloaded (SIGHUP)')));
    console.log(`SIGHUP: config re-read and applied by a reload in ${applied?.[1]} ms; ${sent} requests across it, ${failures} failed`);
  });

  it('refuses an invalid file with the reason and keeps the running configuration', async () => {
    await writeFile(configFile, configText().replace('maxconn: 4000', 'maxconn: lots'));
    await hup(/ERROR: config reload refused \(SIGHUP\): .*haproxy\.maxconn: .*; the running configuration stays/);
    expect(await liveConfig()).toMatch(/^ {4}maxconn 4000$/m);
    expect(await apiAnswers()).toBe(true);
    // Not `ipx status`: it would read the same broken file.
    expect((await get(`http://127.0.0.1:${ports[2]}/readyz`)).status).toBe(200);

    await writeFile(configFile, configText().replace('wait: 5s', 'wait: 7s'));
    await hup(/ERROR: config reload refused \(SIGHUP\): config reload: consul\.wait changed, which only a restart of ipx watch applies/);
    expect(await liveConfig()).toMatch(/^ {4}maxconn 4000$/m);
  });
});

describe('templates.dir', () => {
  const partial = () => path.join(dir, 'my-templates', 'partials', 'global.hbs');

  /** The built-in global partial with a tuning line, in the user folder, applied. */
  async function tunedGlobal(): Promise<void> {
    await mkdir(path.dirname(partial()), { recursive: true });
    await copyFile(path.join(ROOT, 'templates', 'partials', 'global.hbs'), partial());
    const built = await readFile(partial(), 'utf8');
    await writeFile(partial(), built.replace('    mworker-max-reloads 50\n', '    mworker-max-reloads 50\n    tune.bufsize 32768\n'));
    await eventually(async () => ((await liveConfig()).includes('    tune.bufsize 32768\n') ? true : undefined), 15_000, 'the tuning line in the live configuration');
  }

  it('a partial in the user folder replaces the built-in of the same name, applied when the file appears', async () => {
    await tunedGlobal();
    expect(watch.stderr()).toMatch(/INFO: config reloaded \((add|change) .*my-templates\/partials\/global\.hbs\)/);
    expect(await apiAnswers()).toBe(true);

    const validate = await ipx(['validate', '--offline'], { cwd: dir });
    expect(validate.code).toBe(0);
    expect(validate.stdout).toMatch(/^templates: compiled, yours in place of the built-ins: .*my-templates\/partials\/global\.hbs$/m);
  });

  it('a broken template is refused with its file and line; the last good configuration keeps serving', async () => {
    await tunedGlobal();
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
  });
});

describe('ipx render --dry-run --diff', () => {
  const other = () => path.join(dir, 'other.yaml');

  it('no difference from the live files: exit 0, even with --exit-code', async () => {
    const run = await eventually(async () => {
      const r = await ipx(['render', '--dry-run', '--diff', '--exit-code'], { cwd: dir });
      return r.code === 0 ? r : undefined;
    }, 15_000, 'the watch to have applied everything');
    expect(run.stdout).toBe(`no difference from ${path.join(dir, 'run')}\nsummary: no service, route or server changed\napply: nothing (the live files are the same)\n`);
    expect(run.stderr).toMatch(/haproxy -c: configuration valid \(1 services, 0 skipped/);
  });

  it('a server fewer: a unified diff, the summary, a runtime apply, and exit 7 with --exit-code', async () => {
    await withApi2();
    await writeFile(other(), configText(['limits:', '  instancesPerService: 1']));
    const run = await ipx(['render', '--dry-run', '--diff', '--exit-code', '-c', other()], { cwd: dir });
    expect(run.code).toBe(7);
    expect(run.stdout).toMatch(/^--- live\/haproxy\.cfg\n\+\+\+ next\/haproxy\.cfg\n@@ -\d+,\d+ \+\d+,\d+ @@\n/m);
    expect(run.stdout).toMatch(new RegExp(`^-    server api-2 127\\.0\\.0\\.1:${backends[1]!.port} weight 1$`, 'm'));
    expect(run.stdout).toMatch(/^summary: services ~1, servers -1$/m);
    expect(run.stdout).toMatch(new RegExp(`^  servers removed: api/api-2 127\\.0\\.0\\.1:${backends[1]!.port}$`, 'm'));
    expect(run.stdout).toMatch(/^apply: runtime API, no reload \(1 operations: remove 1\)$/m);
    expect((await ipx(['render', '--dry-run', '--diff', '-c', other()], { cwd: dir })).code).toBe(0);
  });

  it('a global setting: a reload, with the reason', async () => {
    await writeFile(other(), configText([], 2500));
    const run = await ipx(['render', '--dry-run', '--diff', '-c', other()], { cwd: dir });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^-    maxconn 4000\n\+    maxconn 2500$/m);
    expect(run.stdout).toMatch(/^summary: global maxconn\n  global settings changed: maxconn\napply: seamless reload \(global setting maxconn changed\)$/m);
  });

  it('--against a file compares with it; without a model only a reload can apply it', async () => {
    const given = path.join(dir, 'given.cfg');
    await writeFile(given, (await liveConfig()).replace('    maxconn 4000\n', '    maxconn 100\n'));
    const run = await ipx(['render', '--dry-run', '--diff', '--exit-code', '--against', given], { cwd: dir });
    expect(run.code).toBe(7);
    expect(run.stdout).toMatch(/^--- live\/haproxy\.cfg\n\+\+\+ next\/haproxy\.cfg$/m);
    expect(run.stdout).toMatch(/^-    maxconn 100\n\+    maxconn 4000$/m);
    expect(run.stdout).toMatch(/^summary: services, routes and servers unknown: .*given\.cfg is a file, not a running watch$/m);
    expect(run.stdout).toMatch(/^apply: seamless reload \(.*given\.cfg comes without a model/m);
    const missing = await ipx(['render', '--dry-run', '--diff', '--against', path.join(dir, 'nope.cfg')], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read .*nope\.cfg/);
    expect((await ipx(['render', '--dry-run', '--exit-code'], { cwd: dir })).code).toBe(2);
  });
});

describe('ipx register for CI', () => {
  it('--wait-healthy --wait-routable returns once Consul passes the instance and the watch routes to it', async () => {
    const api3 = await startBackend('api-3');
    backends.push(api3);
    registered.push('api-3');
    const run = await ipx(
      ['register', '--name', 'api', '--id', 'api-3', '--address', '127.0.0.1', '--port', String(api3.port), '--meta', 'ipx-version=v2', '--meta', 'ipx-rate-limit=100/s',
        '--check-http', `http://127.0.0.1:${api3.port}/health`, '--check-interval', '1s', '--wait-healthy', '20s', '--wait-routable'],
      { cwd: dir },
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^registered api-3 \(service api at 127\.0\.0\.1:\d+\) with the Consul agent at http:\/\/127\.0\.0\.1:\d+\nhealthy: Consul reports api-3 passing after \d+\.\d s\nroutable: the ipx watch at 127\.0\.0\.1:\d+ routes api\.service\.internal to api-3 \(server api-3\) after \d+\.\d s\n$/);
    // Routable means routed: a few requests reach it at once.
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) seen.add((await get(`http://127.0.0.1:${ports[0]}/`, { host: 'api.service.internal' })).body);
    expect(seen).toContain('api-3');
  });

  it('exits 8 when the instance does not become healthy in time, and leaves it registered', async () => {
    const [closed] = (await findFreePorts(1)) as [number];
    registered.push('api-dead');
    const run = await ipx(['register', '--name', 'api', '--id', 'api-dead', '--address', '127.0.0.1', '--port', String(closed), '--check-http', `http://127.0.0.1:${closed}/`, '--check-interval', '1s', '--wait-healthy', '3s'], { cwd: dir });
    expect(run.code).toBe(8);
    expect(run.stderr).toMatch(/^ipx: register: gave up after \d+\.\d s: api-dead did not become healthy: Consul reports it critical; the instance stays registered \(ipx deregister removes it\)\n$/);
    expect((await ipx(['deregister', 'api-dead'], { cwd: dir })).code).toBe(0);
    registered.splice(registered.indexOf('api-dead'), 1);
  });

  it('refuses ipx-* meta and names the daemon would not take, before anything reaches Consul', async () => {
    const run = await ipx(['register', '--name', 'api', '--id', 'api-bad', '--address', '127.0.0.1', '--port', '80', '--meta', 'ipx-protocol=ftp', '--meta', 'ipx-verison=v2', '--meta', 'ipx-timeout=soon'], { cwd: dir });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/register: nothing was registered: --meta ipx-protocol: "ftp" is not http, h2c, grpc or tcp; --meta ipx-verison: not an ipx meta key; known: ipx-allow, .*; --meta ipx-timeout: "soon" is not a duration such as 500ms, 5s or 1m/);
    expect((await fetch(`${consul.agent.address}/v1/agent/service/api-bad`)).status).toBe(404);
    const name = await ipx(['register', '--name', 'bad_name', '--address', '127.0.0.1', '--port', '80'], { cwd: dir });
    expect(name.code).toBe(3);
    expect(name.stderr).toMatch(/--name "bad_name": /);
    const routable = await ipx(['register', '--name', 'api', '--address', '127.0.0.1', '--port', '80', '--wait-routable'], { cwd: dir });
    expect(routable.code).toBe(3);
    expect(routable.stderr).toMatch(/--wait-routable goes with --wait-healthy/);
  });
});

describe('ipx explain <url> [-H]', () => {
  it('says which rule matches, the backend, the version a pin header picks, each policy and its layer, which servers are eligible and why', async () => {
    await register({ name: 'api', id: 'api-1', port: backends[0]!.port, meta: { 'ipx-version': 'v1' } });
    await register({ name: 'api', id: 'api-2', port: backends[1]!.port, meta: { 'ipx-version': 'v2' } });
    await putKv(consul.agent.address, 'ipx/services/api', 'versions:\n  split: { v1: 80, v2: 20 }\n  pinHeader: X-Version\nroutes:\n  - pathPrefix: /orders\n    stripPrefix: true\n');
    try {
      await eventually(async () => ((await ipx(['explain', 'api'], { cwd: dir })).stdout.includes('version v2') ? true : undefined), 15_000, 'version v2 in explain');
      const run = await ipx(['explain', `http://127.0.0.1:${ports[0]}/orders/1?x=1`, '-H', 'Host: API.service.internal:8080', '-H', 'X-Version: v2', '-H', 'X-Other: 1'], { cwd: dir });
      expect(run.code).toBe(0);
      const lines = run.stdout.split('\n');
      expect(lines[0]).toBe('request: GET /orders/1?x=1 Host: API.service.internal:8080');
      expect(lines[1]).toBe('Host api.service.internal → service "api" → backend svc_api (balance roundrobin)');
      expect(lines[2]).toBe('  rule: host route api.service.internal → svc_api (the Host header, port and case ignored, looked up in the host map); the path is not read by this rule');
      expect(run.stdout).toMatch(/^ {2}version v1 +→ backend \S+ \(80% of requests; 1 of 1 servers take traffic\)$/m);
      expect(run.stdout).toMatch(/^ {2}version v2 +→ backend (\S+) \(20% of requests; 1 of 1 servers take traffic\)$/m);
      expect(run.stdout).toMatch(/^ {2}this request: X-Version: v2 pins it to version v2 \(backend \S+\)$/m);
      expect(run.stdout).toMatch(/^ {2}server api-2 +127\.0\.0\.1:\d+ +weight 1 +ready +\(instance "api-2" on node "[^"]+", passing: eligible\)$/m);
      expect(run.stdout).toMatch(/^ {4}versions\.pinHeader +X-Version +KV ipx\/services\/api$/m);
      expect(run.stdout).toMatch(/^ {4}timeouts\.connect +5s +built-in$/m);
      // X-Version is read by the pin rule; X-Other by none.
      expect(run.stdout).toMatch(/^ {2}headers not read by any rule: X-Other$/m);

      const routed = await ipx(['explain', 'http://gateway.internal/orders/1'], { cwd: dir });
      expect(routed.stdout.split('\n').slice(1, 3)).toEqual([
        'Path /orders/1 → service "api" → backend svc_api (balance roundrobin)',
        '  rule: path route /orders → svc_api (the Host is not a service host; the longest prefix on whole segments wins), forwarded as /1',
      ]);

      const maintenance = await fetch(`${consul.agent.address}/v1/agent/service/maintenance/api-2?enable=true`, { method: 'PUT' });
      expect(maintenance.ok).toBe(true);
      const down = await eventually(async () => {
        const r = await ipx(['explain', 'api'], { cwd: dir });
        return r.stdout.includes('1 of 2 servers') ? r : undefined;
      }, 15_000, 'api-2 out of service');
      expect(down.stdout).toMatch(/^ {2}server api-2 +127\.0\.0\.1:\d+ +weight 1 +maint +\(instance "api-2" on node "[^"]+", critical: not eligible: its checks do not pass\)$/m);
    } finally {
      await fetch(`${consul.agent.address}/v1/kv/ipx/services/api`, { method: 'DELETE' });
    }
  });

  it('an unknown Host gets the 404 and no rule; a malformed header is a usage error', async () => {
    const run = await ipx(['explain', 'http://nosuch.service.internal/'], { cwd: dir });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('request: GET / Host: nosuch.service.internal\nHost nosuch.service.internal: no such service in Consul; requests get 404 {"error":"unknown_service"}\n  rule: none matches: the host map has no entry for nosuch.service.internal and no path route takes /\n');
    const bad = await ipx(['explain', 'api', '-H', 'no colon'], { cwd: dir });
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/-H "no colon" must be 'Name: value'/);
  });
});

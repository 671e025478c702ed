/**
 * The CLI as users run it (`node scripts/ipx.mjs ...`, which `npx ipx` runs),
 * against a real Consul dev agent and the real haproxy binary.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerService } from '../../src/consul/index.ts';
import { putKv, startTestConsul, type TestConsul } from '../helpers/consul.ts';
import { isAlive } from '../helpers/haproxy.ts';
import { eventually, get } from '../helpers/http.ts';
import { startBackend, type TestBackend } from '../helpers/http-backend.ts';
import { findFreePorts } from '../helpers/ports.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const IPX = path.join(ROOT, 'scripts', 'ipx.mjs');

let consul: TestConsul;
let backend: TestBackend;
let dir: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function ipx(args: string[], env: Record<string, string> = {}): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [IPX, ...args], {
      cwd: dir,
      env: { ...process.env, CONSUL_HTTP_ADDR: '', ...env },
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function writeConfig(name: string, runDir: string, ports: number[]): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(
    file,
    [
      'consul:',
      `  address: ${consul.agent.address}`,
      'haproxy:',
      `  runDir: ${runDir}`,
      '  hardStopAfter: 5s',
      'listen:',
      `  http: 127.0.0.1:${ports[0]}`,
      `  stats: 127.0.0.1:${ports[1]}`,
      `  admin: 127.0.0.1:${ports[2]}`,
      'log:',
      '  level: warn',
    ].join('\n') + '\n',
  );
  return file;
}

beforeAll(async () => {
  consul = await startTestConsul();
  dir = await mkdtemp(path.join(tmpdir(), 'ipx-cli-'));
  backend = await startBackend('api-1');
  await registerService(consul.client, { name: 'api', id: 'api-1', address: '127.0.0.1', port: backend.port });
  await registerService(consul.client, { name: 'bad_name!', id: 'x', address: '127.0.0.1', port: backend.port });
});

/** Removes a KV key through the HTTP API (a key that is not there is no error). */
async function deleteKv(address: string, key: string): Promise<void> {
  const res = await fetch(`${address}/v1/kv/${key}`, { method: 'DELETE' });
  if (!res.ok) throw new Error(`DELETE /v1/kv/${key}: HTTP ${res.status}`);
}

afterAll(async () => {
  await backend?.close();
  await consul?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('ipx render --dry-run', () => {
  it('prints the configuration for the Consul state, checks it, and writes nothing', async () => {
    const runDir = path.join(dir, 'never-created');
    const config = await writeConfig('render.yaml', runDir, await findFreePorts(3));
    const run = await ipx(['render', '--dry-run', '-c', config]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^backend svc_api$/m);
    expect(run.stdout).toContain(`server api-1 127.0.0.1:${backend.port}`);
    expect(run.stderr).toMatch(/skipped service "bad_name!"/);
    expect(run.stderr).toMatch(/haproxy -c: configuration valid \(1 services, 1 skipped/);
    expect(existsSync(runDir)).toBe(false);
    // Deterministic: the same state prints the same bytes.
    expect((await ipx(['render', '--dry-run', '-c', config])).stdout).toBe(run.stdout);
  });

  it('fails with exit 4 and names Consul when it cannot be reached', async () => {
    const [port] = (await findFreePorts(1)) as [number];
    const run = await ipx(['render', '--dry-run', '--consul', `http://127.0.0.1:${port}`]);
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/consul: .*ECONNREFUSED.*CONSUL_HTTP_ADDR/);
    expect(run.stdout).toBe('');
  });
});

describe('ipx validate', () => {
  it('fails with exit 3 naming an unknown key', async () => {
    const file = path.join(dir, 'typo.yaml');
    await writeFile(file, 'haproxy:\n  binnary: haproxy\n');
    const run = await ipx(['validate', '-c', file]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/unknown key haproxy\.binnary/);
  });

  it('fails with exit 3 when the named file does not exist', async () => {
    const run = await ipx(['validate', '-c', path.join(dir, 'missing.yaml')]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/cannot read .*missing\.yaml/);
  });

  it('checks config, templates and rendered output offline', async () => {
    const run = await ipx(['validate', '--offline']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/config: no file, defaults: valid/);
    expect(run.stdout).toMatch(/haproxy -c: valid/);
  });

  it('checks the configuration rendered from Consul', async () => {
    const config = await writeConfig('validate.yaml', path.join(dir, 'v-run'), await findFreePorts(3));
    const run = await ipx(['validate', '-c', config]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/1 services, 1 skipped; haproxy -c: valid/);
  });

  it('exits 2 on an unknown command', async () => {
    expect((await ipx(['frobnicate'])).code).toBe(2);
  });
});

describe('ipx register and deregister', () => {
  it('registers an instance with tags, meta and a TTL check, and removes it again', async () => {
    const flags = ['--consul', consul.agent.address];
    try {
      const run = await ipx(['register', '--name', 'cart', '--address', '127.0.0.1', '--port', '9300', '--tag', 'v2', '--tag', 'canary', '--meta', 'team=shop', '--ttl', '30s', ...flags]);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/registered cart-127\.0\.0\.1-9300 \(service cart at 127\.0\.0\.1:9300\)/);
      const res = await fetch(`${consul.agent.address}/v1/agent/service/cart-127.0.0.1-9300`);
      const service = (await res.json()) as { Service: string; Port: number; Tags: string[]; Meta: Record<string, string> };
      expect(service).toMatchObject({ Service: 'cart', Port: 9300, Tags: ['v2', 'canary'], Meta: { team: 'shop' } });
      const checks = (await (await fetch(`${consul.agent.address}/v1/agent/checks`)).json()) as Record<string, { ServiceID: string }>;
      expect(Object.values(checks).some((c) => c.ServiceID === 'cart-127.0.0.1-9300')).toBe(true);

      expect((await ipx(['deregister', 'cart-127.0.0.1-9300', ...flags])).code).toBe(0);
      expect((await fetch(`${consul.agent.address}/v1/agent/service/cart-127.0.0.1-9300`)).status).toBe(404);
    } finally {
      // Other cases count the services in Consul: leave none of ours behind, whatever failed above.
      await fetch(`${consul.agent.address}/v1/agent/service/deregister/cart-127.0.0.1-9300`, { method: 'PUT' });
    }
  });

  it('refuses bad input with the flag named', async () => {
    const bad = await ipx(['register', '--name', 'cart', '--address', '127.0.0.1', '--port', '70000', '--consul', consul.agent.address]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/--port 70000 is not a TCP port/);
    const meta = await ipx(['register', '--name', 'cart', '--address', '127.0.0.1', '--port', '80', '--meta', 'novalue', '--consul', consul.agent.address]);
    expect(meta.stderr).toMatch(/--meta "novalue" must be key=value/);
  });
});

describe('ipx config print', () => {
  it('prints the resolved configuration with the token redacted', async () => {
    const run = await ipx(['config', 'print', '--consul', 'http://127.0.0.1:9'], { CONSUL_HTTP_TOKEN: 'super-secret-token' });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/address: http:\/\/127\.0\.0\.1:9/);
    expect(run.stdout).toMatch(/token: <redacted>/);
    expect(run.stdout).not.toContain('super-secret-token');
  });
});

describe('ipx watch', () => {
  it('serves, then stops itself and its HAProxy cleanly on SIGTERM', async () => {
    const ports = await findFreePorts(3);
    const runDir = path.join(dir, 'watch-run');
    const config = await writeConfig('watch.yaml', runDir, ports);
    // stderr is a pipe, not a terminal: JSON lines.
    const child = spawn(process.execPath, [IPX, 'watch', '-c', config, '--log-level', 'info'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await eventually(async () => ((await get(`http://127.0.0.1:${ports[2]}/readyz`)).status === 200 ? true : undefined), 15_000, 'ipx watch to be ready');
      const res = await get(`http://127.0.0.1:${ports[0]}/`, { host: 'api.service.internal' });
      expect(res.body).toBe('api-1');
      const status = await ipx(['status', '-c', config]);
      expect(status.code).toBe(0);
      expect(status.stdout).toMatch(/: ready\n/);
      expect(status.stdout).toMatch(/haproxy: master \d+, workers \d+/);
      const explained = await ipx(['explain', 'API.service.internal:8080', '-c', config]);
      expect(explained.code).toBe(0);
      expect(explained.stdout).toMatch(/Host api\.service\.internal → service "api" → backend svc_api \(balance roundrobin\)/);
      expect(explained.stdout).toMatch(new RegExp(`server api-1 +127\\.0\\.0\\.1:${backend.port} +weight 1 +ready +\\(instance "api-1" on node "[^"]+", passing: eligible\\)`));
      await putKv(consul.agent.address, 'ipx/services/api', 'timeouts:\n  server: 7s\n  read: 1s\n');
      const withPolicy = (await ipx(['explain', 'api', '-c', config])).stdout;
      expect(withPolicy).toMatch(/timeouts\.server +7s +KV ipx\/services\/api\n/);
      expect(withPolicy).toMatch(/timeouts\.connect +5s +built-in\n/);
      expect(withPolicy).toMatch(/skipped policy of service "api": KV "ipx\/services\/api": timeouts\.read unknown key "read"/);
      expect((await ipx(['explain', 'bad_name!', '-c', config])).stdout).toMatch(/skipped service "bad_name!": /);
      expect((await ipx(['explain', 'nosuch', '-c', config])).stdout).toMatch(/no such service in Consul; requests get 404/);
      const haproxyPid = Number(await readFile(path.join(runDir, 'haproxy.pid'), 'utf8'));
      expect(isAlive(haproxyPid)).toBe(true);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      await eventually(async () => (isAlive(haproxyPid) ? undefined : true), 5000, 'haproxy to be stopped');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      // The policy above (with its rejected key) would change what render and validate print in other cases.
      await deleteKv(consul.agent.address, 'ipx/services/api');
    }
    expect(stderr).not.toMatch(/"level":50/);
    const lines = stderr.trim().split('\n').map((line) => JSON.parse(line) as { msg: string; action?: string; stepsMs?: Record<string, number>; change?: { services: { added: number } } });
    const applied = lines.filter((line) => / applied in \d+ ms/.test(line.msg));
    expect(applied[0]).toMatchObject({ action: 'start', change: { services: { added: 1 } } });
    expect(Object.keys(applied[0]?.stepsMs ?? {})).toEqual(['model', 'render', 'check', 'start']);
    const stopped = await ipx(['status', '-c', config]);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toMatch(/status: no ipx watch answers at http:\/\/127\.0\.0\.1:\d+\/status/);
  });
});

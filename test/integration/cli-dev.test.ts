/**
 * `ipx dev` in one terminal, the other commands in a second one with no flags:
 * the discovery file ipx dev leaves in its runDir tells them where Consul and
 * the admin endpoint are. The real binary, its own Consul dev agent and HAProxy.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAlive } from '../helpers/haproxy.ts';
import { eventually } from '../helpers/http.ts';
import { ipx, spawnIpx, type Spawned } from '../helpers/ipx-cli.ts';
import { findFreePorts } from '../helpers/ports.ts';

let dir: string;
let dev: Spawned;
let ports: number[];

// Each case starts its own ipx dev in a folder of its own, so the cases hold in any order.
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ipx-dev-'));
  ports = await findFreePorts(3);
  // Only the listen ports move (several test files run at once); Consul's address and runDir stay
  // the defaults, so the dev agent's address reaches the other commands through the discovery file alone.
  await writeFile(
    path.join(dir, 'dev.yaml'),
    `listen:\n  http: 127.0.0.1:${ports[0]}\n  stats: 127.0.0.1:${ports[1]}\n  admin: 127.0.0.1:${ports[2]}\nhaproxy:\n  hardStopAfter: 3s\nlog:\n  level: warn\n`,
  );
  dev = spawnIpx(['dev', '-c', 'dev.yaml'], { cwd: dir, timeoutMs: 60_000 });
  await dev.waitFor(/ipx dev is running/, 60_000);
  // It says so once the watch has started; HAProxy comes with the first apply.
  await eventually(async () => (existsSync(path.join(dir, '.ipx', 'run', 'haproxy.pid')) ? true : undefined), 20_000, 'HAProxy to start');
});

afterEach(async () => {
  const pidFile = path.join(dir, '.ipx', 'run', 'haproxy.pid');
  const haproxyPid = existsSync(pidFile) ? Number(await readFile(pidFile, 'utf8')) : undefined;
  await dev?.stop('SIGINT');
  if (haproxyPid && isAlive(haproxyPid)) process.kill(haproxyPid, 'SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('ipx dev, then other commands without flags', () => {
  it('prints how to reach it from a second terminal and leaves a discovery file', async () => {
    expect(dev.stdout()).toMatch(/From another terminal in .*, no flags needed \(\.ipx\/run\/ipx-dev\.json tells them where\)/);
    expect(dev.stdout()).toMatch(/npx ipx explain hello/);
    const discovery = JSON.parse(await readFile(path.join(dir, '.ipx', 'run', 'ipx-dev.json'), 'utf8')) as { pid: number; consul: { address: string }; listen: { admin: string } };
    expect(discovery.pid).toBe(dev.child.pid);
    expect(discovery.listen.admin).toBe(`127.0.0.1:${ports[2]}`);
    expect(discovery.consul.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('ipx status, explain, confirm and config print find it', async () => {
    // ipx dev says it runs once the watch has started; its first apply may still be under way.
    const status = await eventually(async () => {
      const run = await ipx(['status'], { cwd: dir });
      return run.code === 0 ? run : undefined;
    }, 20_000, 'ipx status to report ready');
    expect(status.stderr).toBe('');
    expect(status.stdout).toMatch(new RegExp(`^ipx at 127\\.0\\.0\\.1:${ports[2]}: ready`, 'm'));

    const explained = await ipx(['explain', 'hello'], { cwd: dir });
    expect(explained.code).toBe(0);
    expect(explained.stdout).toMatch(/service "hello" → backend svc_hello/);
    expect(explained.stdout).toMatch(/server hello-1 /);

    const confirm = await ipx(['confirm'], { cwd: dir });
    expect(confirm.code).toBe(0);
    expect(confirm.stdout).toBe('nothing is held; no change to confirm\n');

    const printed = await ipx(['config', 'print'], { cwd: dir });
    expect(printed.stdout).toMatch(/^# layers, later wins: defaults < ipx dev's .*ipx-dev\.json < \(no file\) < env < flags$/m);
  });

  it('a flag or the environment still wins over the discovery file', async () => {
    const [closed] = (await findFreePorts(1)) as [number];
    const flagged = await ipx(['explain', 'hello', '--consul', `http://127.0.0.1:${closed}`], { cwd: dir });
    expect(flagged.code).toBe(4);
    expect(flagged.stderr).toMatch(new RegExp(`127\\.0\\.0\\.1:${closed}`));
    const env = await ipx(['explain', 'hello'], { cwd: dir, env: { CONSUL_HTTP_ADDR: `127.0.0.1:${closed}` } });
    expect(env.code).toBe(4);
  });

  it('Ctrl-C removes the file, and the commands fall back to the defaults', async () => {
    const pidFile = path.join(dir, '.ipx', 'run', 'haproxy.pid');
    const haproxyPid = Number(await readFile(pidFile, 'utf8'));
    expect(await dev.stop('SIGINT')).toBe(0);
    expect(existsSync(path.join(dir, '.ipx', 'run', 'ipx-dev.json'))).toBe(false);
    expect(isAlive(haproxyPid)).toBe(false);
    const status = await ipx(['config', 'print'], { cwd: dir });
    expect(status.stdout).toMatch(/^# layers, later wins: defaults < \(no file\) < env < flags$/m);
    expect(status.stdout).toMatch(/admin: 127\.0\.0\.1:8405/);
  });
});

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
import { eventually, get, type SimpleResponse } from '../helpers/http.ts';
import { ipx, spawnIpx, type Spawned } from '../helpers/ipx-cli.ts';
import { findFreePorts } from '../helpers/ports.ts';

let dir: string;
let dev: Spawned;
let ports: number[];

// Each case starts its own ipx dev in a folder of its own, so the cases hold in any order.
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ipx-dev-'));
  // A port found free can be taken by another process before ipx dev binds it
  // (outgoing connections draw from the same range): start again on fresh ports.
  for (let attempt = 1; ; attempt++) {
    try {
      await startDev();
      return;
    } catch (err) {
      if (attempt === 3 || !/EADDRINUSE|Address already in use|cannot bind/i.test(dev.stderr())) throw err;
      await stopDev();
      await rm(path.join(dir, '.ipx'), { recursive: true, force: true });
    }
  }
});

async function startDev(): Promise<void> {
  ports = await findFreePorts(4);
  // Only the listen ports move (several test files run at once); Consul's address and runDir stay
  // the defaults, so the dev agent's address reaches the other commands through the discovery file alone.
  await writeFile(
    path.join(dir, 'dev.yaml'),
    `listen:\n  http: 127.0.0.1:${ports[0]}\n  stats: 127.0.0.1:${ports[1]}\n  admin: 127.0.0.1:${ports[2]}\nrateLimit:\n  syncBind: 127.0.0.1:${ports[3]}\nhaproxy:\n  hardStopAfter: 3s\nlog:\n  level: warn\n`,
  );
  dev = spawnIpx(['dev', '-c', 'dev.yaml'], { cwd: dir, timeoutMs: 60_000 });
  await dev.waitFor(/ipx dev is running/, 60_000);
  // It says so once the watch has started; HAProxy comes with the first apply.
  await eventually(async () => (existsSync(path.join(dir, '.ipx', 'run', 'haproxy.pid')) ? true : undefined), 20_000, 'HAProxy to start').catch((err: Error) => {
    throw new Error(`${err.message}; ipx dev printed:\n${dev.stdout()}\n${dev.stderr()}`, { cause: err });
  });
}

async function stopDev(): Promise<void> {
  const pidFile = path.join(dir, '.ipx', 'run', 'haproxy.pid');
  const haproxyPid = existsSync(pidFile) ? Number(await readFile(pidFile, 'utf8')) : undefined;
  await dev?.stop('SIGINT');
  if (haproxyPid && isAlive(haproxyPid)) process.kill(haproxyPid, 'SIGKILL');
}

afterEach(async () => {
  await stopDev();
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

  it('the printed curl lines show the gateway: a pinned version, a 90/10 split, a path route, an API key and a 429', async () => {
    const printed = dev.stdout().split('\n').map((line) => line.trim());
    // Each request below is the one a printed line sends: same URL, same headers.
    const line = (pattern: RegExp): PrintedCurl => {
      const found = printed.find((l) => /^(curl|for) /.test(l) && pattern.test(l));
      if (!found) throw new Error(`no printed curl line matches ${pattern}:\n${printed.join('\n')}`);
      return parseCurl(found);
    };
    const pinned = line(/X-Version: v2/);
    const split = line(/seq 100.*Host: hello\./);
    const routed = line(/\/world\/hi/);
    const withKey = line(/^curl .*X-Api-Key: .*# 200/);
    const noKey = line(/^curl -H 'Host: orders\.[^']*' http\S+ +# 401/);
    const loop = line(/^for .*Host: orders\..*X-Api-Key/);

    // Both versions must be up before the split is measured: a version with no instance up has no share.
    for (const version of ['v1', 'v2']) {
      await eventually(async () => {
        const res = await send({ ...pinned, headers: { ...pinned.headers, 'X-Version': version } });
        return res.status === 200 ? res : undefined;
      }, 20_000, `hello ${version} to answer through HAProxy`);
    }
    const pin = json(await send(pinned));
    expect(pin).toMatchObject({ service: 'hello', instance: 'hello-2', version: 'v2' });

    const counts = { v1: 0, v2: 0 };
    for (let i = 0; i < 200; i++) counts[json(await send(split)).version as 'v1' | 'v2'] += 1;
    expect(counts.v1 + counts.v2).toBe(200);
    // 90/10 over 200 draws: v2 has a mean of 20 and a standard deviation of about 4.2.
    expect(counts.v2).toBeGreaterThanOrEqual(6);
    expect(counts.v2).toBeLessThanOrEqual(40);

    const route = await send(routed);
    expect(route.status).toBe(200);
    expect(json(route)).toMatchObject({ service: 'world', path: '/hi' });

    const keyed = await send(withKey);
    expect(keyed.status).toBe(200);
    expect(json(keyed)).toMatchObject({ service: 'orders', caller: 'demo' });
    const anonymous = await send(noKey);
    expect(anonymous.status).toBe(401);
    expect(json(anonymous).error).toBe('unauthenticated');

    // The keyed call above spent one of the caller's 5 a minute; the loop spends the other 4, then is refused.
    const statuses: number[] = [];
    let refused: SimpleResponse | undefined;
    for (let i = 0; i < 7 && !refused; i++) {
      const res = await send(loop);
      statuses.push(res.status);
      if (res.status === 429) refused = res;
    }
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
    expect(refused?.headers['retry-after']).toBe('60');
    expect(json(refused as SimpleResponse).error).toBe('rate_limited');
  });
});

interface PrintedCurl {
  readonly url: string;
  readonly headers: Record<string, string>;
}

/** The URL and -H headers of the (first) curl in a printed line. */
function parseCurl(line: string): PrintedCurl {
  const curl = line.slice(line.indexOf('curl '));
  const url = /(http:\/\/\S+)/.exec(curl)?.[1];
  if (!url) throw new Error(`no URL in printed line: ${line}`);
  const headers: Record<string, string> = {};
  for (const [, name, value] of curl.split(/ [;|] /)[0]!.matchAll(/-H '([^:']+): ([^']*)'/g)) headers[name!] = value!;
  return { url, headers };
}

function send(curl: PrintedCurl): Promise<SimpleResponse> {
  return get(curl.url, curl.headers);
}

function json(res: SimpleResponse): Record<string, unknown> {
  return JSON.parse(res.body) as Record<string, unknown>;
}

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/parse.ts';
import { buildModel } from '../../src/model/build-model.ts';
import { EMPTY_SERVER_STATE } from '../../src/haproxy/runtime/servers-state.ts';
import { CONFIG_FILE, render } from '../../src/render/render.ts';
import { loadRenderKit } from '../../src/runner/assets.ts';
import type { Snapshot } from '../../src/consul/snapshot.ts';
import { findFreePorts } from '../helpers/ports.ts';

/**
 * The rendered configuration, served by a real HAProxy (foreground, no
 * master-worker) on free loopback ports: routing by Host, the JSON 404 for an
 * unknown Host and the JSON 503 for a service without servers.
 */
const HAPROXY = process.env.HAPROXY_BIN ?? 'haproxy';
const { templates, assets } = await loadRenderKit();
const dir = mkdtempSync(join(tmpdir(), 'ipx-serve-'));
let haproxy: ChildProcess | undefined;
let upstream: Server | undefined;
let stderr = '';
let httpPort = 0;
let statsPort = 0;

async function waitForPort(port: number, deadline = Date.now() + 5000): Promise<void> {
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline || haproxy?.exitCode != null) throw new Error(`haproxy did not listen on ${port}: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function get(port: number, path: string, host: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject).end();
  });
}

beforeAll(async () => {
  upstream = createServer((_req, res) => res.end('hello from web')).listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  const upstreamPort = (upstream.address() as AddressInfo).port;
  [httpPort, statsPort] = (await findFreePorts(2)) as [number, number];
  const config = parseConfig({
    listen: { http: `127.0.0.1:${httpPort}`, stats: `127.0.0.1:${statsPort}` },
    haproxy: { runDir: dir },
  });
  const instance = { id: 'web-1', node: 'n1', address: '127.0.0.1', port: upstreamPort, tags: [], meta: {}, status: 'passing', weight: 1 } as const;
  // A service whose only instance is critical: kept as a server in maintenance (`disabled`).
  const down = { ...instance, id: 'down-1', status: 'critical' } as const;
  const snapshot: Snapshot = {
    kv: [],
    services: [{ name: 'web', instances: [instance] }, { name: 'empty', instances: [] }, { name: 'down', instances: [down] }],
  };
  const { files } = render({ model: buildModel({ snapshot, config }), templates, assets });
  for (const [file, content] of Object.entries(files)) writeFileSync(join(dir, file), content);
  writeFileSync(join(dir, 'server-state'), EMPTY_SERVER_STATE);
  haproxy = spawn(HAPROXY, ['-db', '-f', join(dir, CONFIG_FILE)], { stdio: ['ignore', 'ignore', 'pipe'] });
  haproxy.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  await waitForPort(httpPort);
  await waitForPort(statsPort);
});

afterAll(async () => {
  if (haproxy?.pid !== undefined && haproxy.exitCode === null) {
    haproxy.kill('SIGTERM');
    await once(haproxy, 'exit');
  }
  upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('rendered configuration served by haproxy', () => {
  it.each([
    ['web.service.internal'],
    ['WEB.Service.Internal'],
    ['web.service.internal:8080'],
  ])('routes Host %s to the service', async (host) => {
    const res = await get(httpPort, '/', host);
    expect(res).toMatchObject({ status: 200, body: 'hello from web' });
  });

  it('answers an unknown Host with the JSON 404 body', async () => {
    const res = await get(httpPort, '/', 'nope.service.internal');
    expect(res).toEqual({ status: 404, type: 'application/json', body: assets.errors['404'].trimEnd() });
  });

  it.each([['without servers', 'empty'], ['whose servers are all in maintenance', 'down']])(
    'answers a service %s with the JSON 503 body, not HAProxy\'s HTML page',
    async (_label, name) => {
      const res = await get(httpPort, '/', `${name}.service.internal`);
      expect(res).toEqual({ status: 503, type: 'application/json', body: assets.errors['503'].trimEnd() });
    },
  );

  it('serves Prometheus metrics and the stats page', async () => {
    const metrics = await get(statsPort, '/metrics', 'localhost');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('haproxy_process_');
    expect((await get(statsPort, '/', 'localhost')).status).toBe(200);
  });
});

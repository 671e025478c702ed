/**
 * The watcher against a real agent reached over HTTPS, where reads share
 * HTTP/2 connections: a view per node even when the nodes are many more than
 * consul.maxConnections, and never more connections than that.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config/index.ts';
import { createConsulClient, createWatcher, readSnapshot, startDevAgent, type DevAgent } from '../../src/consul/index.ts';
import { countConsulConnections } from '../../src/daemon/consul-connections.ts';
import { instancesOf, putKv, SnapshotRecorder, waitUntil } from '../helpers/consul.ts';
import { httpsHcl, makeCertificates } from '../helpers/consul-tls.ts';
import { findFreePorts } from '../helpers/ports.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const NODES = 24;
const MAX_CONNECTIONS = 6;

let dir: string;
let agent: DevAgent;
let config: Config['consul'];

async function put(address: string, pathname: string, body: unknown): Promise<void> {
  const res = await fetch(`${address}${pathname}`, { method: 'PUT', body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`PUT ${pathname}: HTTP ${res.status} ${await res.text()}`);
}

/** An instance of `service` on its own node, written straight into the catalog (no check: every change is a registration). */
const instance = (node: string, service: string, id: string, port: number) =>
  put(agent.address, '/v1/catalog/register', { Node: node, Address: '127.0.0.2', Service: { ID: id, Service: service, Port: port } });

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ipx-consul-h2-'));
  await makeCertificates(dir);
  const [httpsPort] = (await findFreePorts(1)) as [number];
  agent = await startDevAgent({ cwd: ROOT, extraArgs: ['-hcl', httpsHcl(dir, httpsPort).join('\n')] });
  for (let n = 0; n < NODES; n++) await instance(`node-${n}`, 'web', `web-${n}`, 9000 + n);
  await writeFile(
    path.join(dir, 'ipx.yaml'),
    ['consul:', `  address: https://127.0.0.1:${httpsPort}`, '  wait: 5s', `  maxConnections: ${MAX_CONNECTIONS}`, '  tls:', '    caFile: consul-agent-ca.pem', '    serverName: server.dc1.consul'].join('\n') + '\n',
  );
  config = (await loadConfig({ file: 'ipx.yaml', cwd: dir, env: {} })).config.consul;
});

afterAll(async () => {
  await agent?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('Consul over HTTPS: reads share HTTP/2 connections', () => {
  it(`follows ${NODES + 1} nodes with a view each within consul.maxConnections ${MAX_CONNECTIONS}, where HTTP/1.1 would scan`, async () => {
    const client = createConsulClient(config);
    const recorder = new SnapshotRecorder();
    // Each view listens for the watcher's stop: many views over HTTP/2 are by design, not a leak to warn of.
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.name);
    process.on('warning', onWarning);
    const watcher = createWatcher({ client, config, onSnapshot: recorder.push });
    watcher.start();
    try {
      await recorder.waitFor((s) => instancesOf(s, 'web')?.length === NODES, 10_000);
      expect(client.streamsPerConnection?.()).toBe(250);
      // The agent's own node and the 24 written ones.
      await waitUntil(() => watcher.state().registrations?.by === 'node views', 'node views follow every node', 10_000);
      expect(watcher.state().registrations).toEqual({ by: 'node views', nodes: NODES + 1, http2: true });

      // A registration and a deregistration, each woken by its node's view, and a KV write (decoded as over HTTP/1.1).
      let from = recorder.snapshots.length;
      await instance('node-7', 'web', 'web-7b', 9107);
      await recorder.waitFor((s) => instancesOf(s, 'web')?.some((i) => i.id === 'web-7b') === true, 2_000, from);
      from = recorder.snapshots.length;
      await put(agent.address, '/v1/catalog/deregister', { Node: 'node-3', ServiceID: 'web-3' });
      await recorder.waitFor((s) => instancesOf(s, 'web')?.some((i) => i.id === 'web-3') === false, 2_000, from);
      from = recorder.snapshots.length;
      await putKv(agent.address, 'ipx/services/web/timeout', '7s');
      const last = await recorder.waitFor((s) => s.kv.some((e) => e.value === '7s'), 2_000, from);

      expect(last).toEqual(await readSnapshot(client, config));
      // 25 views and the long-held queries in flight: spread over every connection allowed, and no more.
      expect(await countConsulConnections(config.address)).toBe(MAX_CONNECTIONS);
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      await watcher.stop();
      client.close();
    }
  });

  it('lets a process that read once and did not close the client exit (an idle connection holds nothing open)', async () => {
    const script = path.join(dir, 'read-once.mts');
    await writeFile(
      script,
      [
        `import { createConsulClient } from ${JSON.stringify(path.join(ROOT, 'src/consul/index.ts'))};`,
        `const client = createConsulClient(${JSON.stringify(config)});`,
        'const answer = await client.catalogServices({});',
        'console.log(Object.keys(answer.body).length, client.streamsPerConnection?.());',
      ].join('\n'),
    );
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, timeout: 20_000 });
    expect(stdout.trim()).toBe('2 250');
  });

  it('keeps the last snapshot while the agent is down, and resumes on new connections once it is back', async () => {
    const [httpPort, httpsPort] = (await findFreePorts(2)) as [number, number];
    const start = () => startDevAgent({ cwd: ROOT, httpPort, extraArgs: ['-hcl', httpsHcl(dir, httpsPort).join('\n')] });
    let own: DevAgent | undefined = await start();
    const ownConfig = { ...config, address: `https://127.0.0.1:${httpsPort}` };
    const client = createConsulClient(ownConfig);
    const recorder = new SnapshotRecorder();
    const errors: string[] = [];
    const watcher = createWatcher({ client, config: ownConfig, onSnapshot: recorder.push, onError: (_error, info) => errors.push(info.key), timing: { backoffMaxMs: 400 } });
    watcher.start();
    try {
      await put(`http://127.0.0.1:${httpPort}`, '/v1/catalog/register', { Node: 'node-a', Address: '127.0.0.2', Service: { ID: 'api-1', Service: 'api', Port: 9101 } });
      await recorder.waitFor((s) => instancesOf(s, 'api')?.length === 1, 5_000);
      const last = recorder.last;
      await own.stop();
      own = undefined;
      await waitUntil(() => ['health.state(critical)', 'health.state(warning)', 'kv.recurse("ipx/")'].every((key) => errors.filter((e) => e === key).length >= 2), 'errors from the long-held reads', 5_000);
      expect(recorder.last).toBe(last);
      expect(watcher.state()).toMatchObject({ ready: true, stale: true });

      // Back on the same ports: a restarted dev agent has lost its data, so the real state is "only web-9".
      own = await start();
      await put(`http://127.0.0.1:${httpPort}`, '/v1/catalog/register', { Node: 'node-b', Address: '127.0.0.3', Service: { ID: 'web-9', Service: 'web', Port: 9009 } });
      const snapshot = await recorder.waitFor((s) => instancesOf(s, 'web')?.length === 1, 10_000, recorder.snapshots.length);
      expect(snapshot.services.map((s) => s.name)).toEqual(['web']);
      await waitUntil(() => !watcher.state().stale, 'the watcher to be current again', 5_000);
      expect(client.streamsPerConnection?.()).toBe(250);
    } finally {
      await watcher.stop();
      client.close();
      await own?.stop();
    }
  });

  it('names the request and the certificate when the agent cannot be verified', async () => {
    const client = createConsulClient({ ...config, tls: { ...config.tls, caFile: '', serverName: '' } });
    try {
      await expect(readSnapshot(client, config, { timeout: 5_000 })).rejects.toThrow(/consul: GET \/v1\/\S+ failed \(.*(certificate|self.signed)/i);
    } finally {
      client.close();
    }
  });
});

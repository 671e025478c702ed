/**
 * npm run bench:gateways — many ipx gateways on one host watching one Consul
 * agent: one client IP, one connection budget (limits.http_max_conns_per_client).
 * Starts `--gateways` watchers (ipx's Consul stage, in this process) against a
 * dev agent with default limits and `--services` × `--instances`, then makes
 * `--changes` changes to a service in the middle of the range: how long until
 * every watcher has every service, how long until every watcher sees each
 * change, the agent's CPU time per change, and the connections this process
 * holds to the agent.
 *
 *   node --import tsx bench/gateways.ts [--gateways 10] [--services 1000] [--instances 2] [--changes 8]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/config/index.ts';
import { createConsulClient, createWatcher, startDevAgent, type Snapshot } from '../src/consul/index.ts';
import { connectionsFrom, sampleConnections } from '../test/helpers/tcp-connections.ts';
import { cpuMs } from './lib/proc-cpu.ts';
import { distribution, formatDistribution, table } from './lib/report.ts';
import { PROBE_STEPS, probeChange, seedCatalog, serviceName } from './lib/scale-catalog.ts';
import { REPO_ROOT, runBenchmark } from './lib/stack.ts';

const { values: args } = parseArgs({
  options: {
    gateways: { type: 'string', default: '10' },
    services: { type: 'string', default: '1000' },
    instances: { type: 'string', default: '2' },
    changes: { type: 'string', default: '8' },
  },
});
const gateways = Number(args.gateways);
const services = Number(args.services);
const instances = Number(args.instances);
const changes = Number(args.changes);
const PROBE_PORT = 9;

async function main(): Promise<void> {
  const agent = await startDevAgent({ cwd: REPO_ROOT });
  const stoppers: Array<() => Promise<void>> = [async () => agent.stop()];
  try {
    await seedCatalog(agent.address, services, instances, 8);
    const config = parseConfig({ consul: { address: agent.address }, limits: { services: services + 10 } });
    const latest: Array<Snapshot | undefined> = Array.from({ length: gateways }, () => undefined);
    // The benchmark's own keep-alive connections (its writes through fetch) are counted apart.
    const own = (await connectionsFrom(process.pid, agent.httpPort)).length;
    const sampler = sampleConnections(process.pid, agent.httpPort, 50);
    const started = Date.now();
    for (let g = 0; g < gateways; g++) {
      const client = createConsulClient(config.consul);
      const watcher = createWatcher({ client, config: config.consul, limits: config.limits, onSnapshot: (s) => void (latest[g] = s) });
      watcher.start();
      stoppers.push(async () => {
        await watcher.stop();
        client.close();
      });
    }
    await until(() => latest.every((s) => s?.services.length === services), 120_000);
    const syncMs = Date.now() - started;
    const middle = serviceName(Math.floor(services / 2));
    const probe = (s: Snapshot | undefined) => s?.services.find((e) => e.name === middle)?.instances.find((i) => i.port === PROBE_PORT);
    const lastSeen: number[] = [];
    const cpuBefore = await cpuMs(agent.pid);
    for (let i = 0; i < changes; i++) {
      const step = PROBE_STEPS[i % PROBE_STEPS.length]!;
      const at = Date.now();
      await probeChange(agent.address, middle, PROBE_PORT, step);
      const wanted = (s: Snapshot | undefined) =>
        step === 'removed' ? probe(s) === undefined : probe(s)?.status === (step === 'critical' ? 'critical' : 'passing');
      await until(() => latest.every(wanted), 30_000);
      lastSeen.push(Date.now() - at);
      await sleep(500);
    }
    const cpuAfter = await cpuMs(agent.pid);
    // Includes the agent's own work for each write and the 500 ms pauses between changes.
    const agentCpu = cpuBefore === undefined || cpuAfter === undefined ? '–' : `${Math.round((cpuAfter - cpuBefore) / changes)} ms`;
    const peak = await sampler.stop();
    const now = await connectionsFrom(process.pid, agent.httpPort);
    console.log(table([
      ['gateways', 'services', 'every gateway has every service', 'change → seen by every gateway p50/p95/p99', 'agent CPU per change', 'gateways\' connections (most / at the end)', 'bound'],
      [`${gateways}`, `${services}×${instances}`, `${syncMs} ms`, formatDistribution(distribution(lastSeen), ' ms'), agentCpu, `${peak.length - own} / ${now.length - own}`, `${gateways} × ${config.consul.maxConnections}`],
    ]));
  } finally {
    for (const stop of stoppers.reverse()) await stop();
  }
}

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`bench: timed out after ${timeoutMs} ms`);
    await sleep(10);
  }
}

await runBenchmark(main);

/**
 * npm run bench:scale — ipx at thousands of services on a default Consul agent.
 * For each size: ipx watch as its own process (as operators run it) behind a
 * counting relay to a single Consul server agent with default limits; the time until
 * every service is routable, model + render, haproxy -c, reload, peak RSS,
 * propagation by position (first, middle, last service) and by kind of change, a burst of
 * 100 registrations in a row (a deploy), connections, and the
 * requests and bytes ipx reads from the agent, and the agent's CPU time, at idle and under 1 change/s,
 * against one blocking query per service measured in the same run.
 *
 *   node --import tsx bench/scale.ts [--sizes 1000,5000] [--instances 10] [--changes 24]
 *        [--idle 10] [--old-sizes 1000] [--agent dev|server] [--nodes N] [--max-connections N] [--tls] [--json] [--keep]
 *
 * --agent server (the default) runs a single server as production runs one (-server
 * -bootstrap-expect=1, its state on disk); --agent dev runs `consul agent -dev`, which
 * indents every answer (a node's list at 5,000 services is 2.6 MB there, 1.2 MB without)
 * and logs every request: its costs are its own, not what a gateway meets in production.
 * --nodes spreads the instances over N nodes (default: one node per instance of a service);
 * past the nodes that fit in node views (12 at the default consul.maxConnections), ipx scans.
 * --max-connections sets ipx's consul.maxConnections (default: the config's, 18).
 * --tls has ipx read the agent's HTTPS port, where reads share HTTP/2 connections (the relay
 * then sees TLS: it counts connections and bytes, not requests).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { parseConfig } from '../src/config/index.ts';
import { findFreePorts } from '../src/consul/free-ports.ts';
import { createConsulClient, readSnapshot, startDevAgent } from '../src/consul/index.ts';
import { checkConfig } from '../src/haproxy/check/check-config.ts';
import { loadRenderKit } from '../src/runner/assets.ts';
import { renderSnapshot } from '../src/runner/pipeline.ts';
import { httpsHcl, makeCertificates } from '../test/helpers/consul-tls.ts';
import { get } from '../test/helpers/http.ts';
import { ratesBetween, startCountingProxy, type CountingProxy } from './lib/counting-proxy.ts';
import { startPerServiceWatch } from './lib/per-service-watch.ts';
import { cpuMs } from './lib/proc-cpu.ts';
import { distribution, provenance, describeProvenance, saveResults, table, type Distribution } from './lib/report.ts';
import { PROBE_STEPS, probeChange, seedCatalog, serviceName } from './lib/scale-catalog.ts';
import { createServersProbe } from './lib/servers-probe.ts';
import { formatTargets, scaleTargets } from './lib/scale-targets.ts';
import { REPO_ROOT, runBenchmark } from './lib/stack.ts';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,5000' },
    instances: { type: 'string', default: '10' },
    changes: { type: 'string', default: '24' },
    idle: { type: 'string', default: '10' },
    'old-sizes': { type: 'string', default: '1000' },
    json: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    agent: { type: 'string', default: 'server' },
    nodes: { type: 'string' },
    'max-connections': { type: 'string' },
    tls: { type: 'boolean', default: false },
  },
});
const numbers = (text: string | undefined) => (text ?? '').split(',').filter(Boolean).map(Number);
const sizes = numbers(args.sizes);
const oldSizes = new Set(numbers(args['old-sizes']));
const instances = Number(args.instances);
const nodes = args.nodes === undefined ? instances : Number(args.nodes);
const maxConnections = args['max-connections'] === undefined ? undefined : Number(args['max-connections']);
if (args.agent !== 'dev' && args.agent !== 'server') throw new Error(`bench: --agent is dev or server, not ${args.agent}`);
const SERVER_AGENT = args.agent === 'server';
const TLS = args.tls;
const IPX_APPROACH = `ipx (signals + bounded reads)${SERVER_AGENT ? '' : ', -dev agent'}${TLS ? ', HTTPS (HTTP/2)' : ''}${nodes === instances ? '' : `, ${nodes} nodes`}`;
const changeCount = Number(args.changes);
const idleMs = Number(args.idle) * 1000;
const DOMAIN = 'service.internal';
const SYNC_TIMEOUT_MS = 120_000;
const PROPAGATION_TIMEOUT_MS = 10_000;

interface Row {
  readonly approach: string;
  readonly services: number;
  readonly instances: number;
  readonly syncMs?: number;
  readonly read?: string;
  readonly modelRenderMs?: number;
  readonly checkMs?: number;
  readonly reloadMs?: number;
  readonly rssMb?: number;
  readonly propagation?: Record<string, Distribution & { missed: number }>;
  /** The same changes by kind: a registration wakes a node scan, a check flip does not. */
  readonly bySteps?: Record<string, Distribution>;
  /** A deploy: BURST registrations in a row; how long the writes took, and how long after the last all were in service. */
  readonly burst?: { readonly writtenMs: number; readonly settledMs?: number };
  readonly peakConnections: number;
  readonly maxConnections?: number;
  readonly idle: Load;
  readonly churn: Load;
  readonly errors?: Record<string, number>;
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const services of sizes) {
    rows.push(await measureIpx(services));
    if (oldSizes.has(services)) rows.push(await measurePerService(services));
  }
  const prov = provenance(REPO_ROOT);
  if (args.json) console.log(JSON.stringify({ rows, provenance: prov }, null, 2));
  else console.log(`${formatRows(rows)}\n\n${formatSteps(rows)}\n\n${formatTargets(rows.flatMap(scaleTargets))}\n\n${describeProvenance(prov)}; ${new Date().toISOString()}`);
  console.log(`saved ${await saveResults(REPO_ROOT, 'scale', { rows, provenance: prov, args })}`);
}

/** An agent with default limits, seeded, and an HTTP server every instance points at. */
async function startWorld(services: number) {
  const dir = await mkdtemp(path.join(tmpdir(), 'ipx-scale-'));
  // With --tls the agent also serves HTTPS, which ipx reads (the benchmark writes over HTTP).
  const [httpsPort] = (await findFreePorts(1)) as [number];
  if (TLS) await makeCertificates(dir);
  const agent = await startDevAgent({
    cwd: REPO_ROOT,
    logFile: path.join(dir, 'consul.log'),
    ...(SERVER_AGENT ? { server: true, dataDir: path.join(dir, 'consul-data') } : {}),
    ...(TLS ? { extraArgs: ['-hcl', httpsHcl(dir, httpsPort).join('\n')] } : {}),
  });
  const upstream = createServer((req, res) => {
    req.resume();
    res.end('ok');
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const port = (upstream.address() as AddressInfo).port;
  const [probePort] = (await findFreePorts(1)) as [number];
  const seeded = Date.now();
  await seedCatalog(agent.address, services, instances, port, nodes);
  console.error(`bench: ${services}×${instances} registered in ${Date.now() - seeded} ms`);
  return {
    dir,
    agent,
    /** The port ipx reads: the agent's HTTPS port with --tls, else its HTTP port. */
    readPort: TLS ? httpsPort : agent.httpPort,
    probePort,
    stop: async () => {
      upstream.closeAllConnections();
      upstream.close();
      await agent.stop();
      if (args.keep) console.error(`bench: kept ${dir} (ipx.log, consul.log, run/)`);
      else await rm(dir, { recursive: true, force: true });
    },
  };
}

async function measureIpx(services: number): Promise<Row> {
  const world = await startWorld(services);
  const proxy = await startCountingProxy(world.readPort);
  const [http, stats, admin] = (await findFreePorts(3)) as [number, number, number];
  const runDir = path.join(world.dir, 'run');
  const configInput = {
    consul: {
      address: TLS ? proxy.address.replace('http:', 'https:') : proxy.address,
      ...(TLS ? { tls: { caFile: path.join(world.dir, 'consul-agent-ca.pem'), serverName: 'server.dc1.consul' } } : {}),
      ...(maxConnections === undefined ? {} : { maxConnections }),
    },
    haproxy: { runDir },
    listen: { http: `127.0.0.1:${http}`, stats: `127.0.0.1:${stats}`, admin: `127.0.0.1:${admin}` },
    limits: { services: services + 100 },
  };
  const config = parseConfig(configInput);
  const configFile = path.join(world.dir, 'ipx.yaml');
  await writeFile(configFile, stringify(configInput));
  const logFile = path.join(world.dir, 'ipx.log');
  const log = await import('node:fs').then((fs) => fs.openSync(logFile, 'w'));
  const started = Date.now();
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'scripts/ipx.mjs'), 'watch', '--config', configFile], { stdio: ['ignore', log, log] });
  try {
    // Sync: until HAProxy runs a configuration with every service (ipx logs the apply when it is
    // done); then every service is probed through HAProxy to confirm that each one answers.
    const syncMs = (await appliedAll(logFile, services, started)) - started;
    const confirmedMs = (await allRoutable(`http://127.0.0.1:${http}`, services, started)) - started;
    console.error(`bench: ipx sync ${services}: ${syncMs} ms (all ${services} confirmed routable by probing at ${confirmedMs} ms)`);
    const idle = await window(proxy, world.agent.pid, async () => sleep(idleMs));
    const probe = createServersProbe(path.join(runDir, 'admin.sock'));
    const latencies: Record<string, number[]> = { first: [], middle: [], last: [] };
    const bySteps: Record<string, number[]> = {};
    const missed: Record<string, number> = { first: 0, middle: 0, last: 0 };
    const positions = { first: serviceName(0), middle: serviceName(Math.floor(services / 2)), last: serviceName(services - 1) };
    const churn = await window(proxy, world.agent.pid, async () => {
      for (let i = 0; i < changeCount; i++) {
        const tick = Date.now();
        const position = (['first', 'middle', 'last'] as const)[i % 3]!;
        const step = PROBE_STEPS[Math.floor(i / 3) % PROBE_STEPS.length]!;
        const service = positions[position];
        const at = Date.now();
        await probeChange(world.agent.address, service, world.probePort, step);
        const ms = await probe.waitFor(service, world.probePort, step === 'added' || step === 'passing' ? 'ready' : 'gone', at, PROPAGATION_TIMEOUT_MS);
        if (ms === undefined) missed[position]! += 1;
        else {
          latencies[position]!.push(ms);
          (bySteps[step] ??= []).push(ms);
        }
        await sleep(Math.max(0, 1000 - (Date.now() - tick)));
      }
    });
    const burst = await registrationBurst(world.agent.address, probe, world.probePort, services);
    // A new service is a new backend: a reload, timed by ipx's own log.
    await probeChange(world.agent.address, serviceName(services), world.probePort, 'added');
    await waitFor(async () => (await readFile(logFile, 'utf8')).includes('"action":"reload"'), 30_000);
    const reloadMs = lastLogged(await readFile(logFile, 'utf8'), 'reload', 'reload');
    const rssMb = await peakRssMb(child.pid ?? 0);
    const timings = await modelRenderAndCheck(world.agent.address, config, world.dir);
    return {
      approach: IPX_APPROACH,
      services,
      instances,
      syncMs,
      read: `${services}/${services}`,
      ...timings,
      ...(reloadMs === undefined ? {} : { reloadMs }),
      rssMb,
      propagation: Object.fromEntries(Object.entries(latencies).map(([k, v]) => [k, { ...distribution(v), missed: missed[k] ?? 0 }])),
      bySteps: Object.fromEntries(Object.entries(bySteps).map(([k, v]) => [k, distribution(v)])),
      burst,
      peakConnections: proxy.counters().peakOpen,
      maxConnections: config.consul.maxConnections,
      idle,
      churn,
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    await proxy.close();
    await world.stop();
  }
}

const BURST = 100;

/**
 * A deploy as it looks from the catalog: BURST registrations written one after another as fast as
 * the agent takes them, each a new instance of another service (on node 0, away from the services the
 * churn probes); then the time from the last write until HAProxy has every one of them in service.
 */
async function registrationBurst(address: string, probe: ReturnType<typeof createServersProbe>, port: number, services: number) {
  const names = Array.from({ length: BURST }, (_, k) => serviceName(Math.floor((k * services) / BURST) + 1));
  const started = Date.now();
  for (const name of names) await probeChange(address, name, port, 'added');
  const written = Date.now();
  // The last one written first: once it is in, the others are checked (they are in by then, or waited for).
  for (const name of [...names].reverse()) {
    if ((await probe.waitFor(name, port, 'ready', written, PROPAGATION_TIMEOUT_MS)) === undefined) return { writtenMs: written - started };
  }
  return { writtenMs: written - started, settledMs: Date.now() - written };
}

async function measurePerService(services: number): Promise<Row> {
  const world = await startWorld(services);
  const proxy = await startCountingProxy(world.agent.httpPort);
  const names = Array.from({ length: services }, (_, i) => serviceName(i));
  const watch = startPerServiceWatch(proxy.address, names);
  let refusedWrites = 0;
  try {
    const started = Date.now();
    await waitFor(async () => watch.read() === services, 30_000).catch(() => undefined);
    const syncMs = watch.read() === services ? Date.now() - started : undefined;
    const idle = await window(proxy, world.agent.pid, async () => sleep(idleMs));
    const middle = serviceName(Math.floor(services / 2));
    const churn = await window(proxy, world.agent.pid, async () => {
      for (let i = 0; i < changeCount; i++) {
        // This approach holds the agent's whole per-client budget: other clients on the host
        // (here, the benchmark's own writes) are refused. Counted, not retried.
        await probeChange(world.agent.address, middle, world.probePort, PROBE_STEPS[i % PROBE_STEPS.length]!).catch(() => {
          refusedWrites += 1;
        });
        await sleep(1000);
      }
    });
    return {
      approach: 'one blocking query per service',
      services,
      instances,
      ...(syncMs === undefined ? {} : { syncMs }),
      read: `${watch.read()}/${services}`,
      peakConnections: proxy.counters().peakOpen,
      idle,
      churn,
      errors: { ...watch.errors(), ...(refusedWrites ? { 'writes by other clients refused': refusedWrites } : {}) },
    };
  } finally {
    await watch.stop();
    await proxy.close();
    await world.stop();
  }
}

/** When ipx logged the first apply done with every service in it (its own clock, the same host). */
async function appliedAll(logFile: string, services: number, started: number): Promise<number> {
  const deadline = started + SYNC_TIMEOUT_MS;
  for (;;) {
    const text = await readFile(logFile, 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      if (!line.includes('"action":"start"') && !line.includes('"action":"reload"')) continue;
      const entry = JSON.parse(line) as { time?: string; services?: number };
      if (entry.services === services && entry.time) return Date.parse(entry.time);
    }
    if (Date.now() > deadline) throw new Error(`bench: ipx did not apply all ${services} services within ${SYNC_TIMEOUT_MS} ms`);
    await sleep(100);
  }
}

/** Resolves with Date.now() once every service has answered 200 through HAProxy at least once. */
async function allRoutable(base: string, services: number, started: number): Promise<number> {
  const pending = new Set(Array.from({ length: services }, (_, i) => serviceName(i)));
  let last = started;
  while (pending.size > 0) {
    if (Date.now() - started > SYNC_TIMEOUT_MS) throw new Error(`bench: ${pending.size} of ${services} services not routable after ${SYNC_TIMEOUT_MS} ms`);
    const batch = [...pending];
    let next = 0;
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (next < batch.length) {
        const service = batch[next++]!;
        const status = await get(`${base}/`, { host: `${service}.${DOMAIN}` }, 2000).then((r) => r.status, () => 0);
        if (status === 200) {
          pending.delete(service);
          last = Date.now();
        }
      }
    }));
    if (pending.size > 0) await sleep(50);
  }
  return last;
}

/** What a watcher costs the agent: requests and bytes through the relay, and the agent's CPU time, per second. */
interface Load {
  readonly requests: number;
  readonly bytes: number;
  readonly agentCpuMsPerS?: number;
}

/** The load while `during` runs. */
async function window(proxy: CountingProxy, agentPid: number, during: () => Promise<unknown>): Promise<Load> {
  const before = proxy.counters();
  const cpuBefore = await cpuMs(agentPid);
  const at = Date.now();
  await during();
  const ms = Date.now() - at;
  const cpuAfter = await cpuMs(agentPid);
  const agentCpu = cpuBefore === undefined || cpuAfter === undefined ? {} : { agentCpuMsPerS: ((cpuAfter - cpuBefore) * 1000) / ms };
  return { ...ratesBetween(before, proxy.counters(), ms), ...agentCpu };
}

/** What the daemon does per change, timed in this process on the same data: median of three. */
async function modelRenderAndCheck(address: string, config: ReturnType<typeof parseConfig>, dir: string) {
  const client = createConsulClient(parseConfig({ consul: { address } }).consul);
  const snapshot = await readSnapshot(client, config.consul, { limits: config.limits, timeout: 60_000 }).finally(() => client.close());
  const kit = await loadRenderKit();
  const times: number[] = [];
  let rendered;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    rendered = renderSnapshot(snapshot, config, kit).rendered;
    times.push(performance.now() - t);
  }
  const checkDir = await mkdtemp(path.join(dir, 'check-'));
  for (const [name, text] of Object.entries(rendered!.files)) await writeFile(path.join(checkDir, name), text);
  const { durationMs } = await checkConfig({ binary: config.haproxy.binary, dir: checkDir, configFile: 'haproxy.cfg' });
  return { modelRenderMs: Math.round(times.sort((a, b) => a - b)[1]!), checkMs: durationMs };
}

async function peakRssMb(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  return kb ? Math.round(Number(kb) / 1024) : undefined;
}

/** A step's milliseconds (`stepsMs`) in the last apply of `action` that ipx logged. */
function lastLogged(text: string, action: string, step: string): number | undefined {
  const lines = text.split('\n').filter((line) => line.includes(`"action":"${action}"`) && line.includes('"stepsMs"'));
  const steps = lines.length ? (JSON.parse(lines.at(-1)!) as { stepsMs?: Record<string, unknown> }).stepsMs : undefined;
  const value = steps?.[step];
  return typeof value === 'number' ? Math.round(value) : undefined;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`bench: timed out after ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** Propagation p50/p99 by kind of change, for the rows that measured it. */
function formatSteps(rows: readonly Row[]): string {
  const kinds = PROBE_STEPS;
  const cell = (d: Distribution | undefined) => (d === undefined ? '–' : `${d.p50}/${d.p99}`);
  const burst = (b: Row['burst']) => (b === undefined ? '–' : `${b.writtenMs} / ${b.settledMs === undefined ? `not all within ${PROPAGATION_TIMEOUT_MS} ms` : b.settledMs}`);
  return table([
    ['propagation p50/p99 ms by change', ...kinds.map((k) => (k === 'added' || k === 'removed' ? `instance ${k}` : `check ${k}`)), `${BURST} registrations: written in / all in service after the last, ms`],
    ...rows.filter((r) => r.bySteps).map((r) => [`${r.approach} ${r.services}×${r.instances}`, ...kinds.map((k) => cell(r.bySteps?.[k])), burst(r.burst)]),
  ]);
}

function formatRows(rows: readonly Row[]): string {
  const ms = (v: number | undefined) => (v === undefined ? '–' : `${v}`);
  // Through the relay, TLS hides the request lines: only bytes are counted then.
  const rate = (r: Load) => `${TLS ? '–' : r.requests.toFixed(1)} req/s, ${(r.bytes / 1024).toFixed(0)} KiB/s${r.agentCpuMsPerS === undefined ? '' : `, agent CPU ${r.agentCpuMsPerS.toFixed(0)} ms/s`}`;
  const prop = (d: (Distribution & { missed: number }) | undefined) =>
    d === undefined ? '–' : `${ms(d.p50)}/${ms(d.p99)}${d.missed ? ` (${d.missed} missed)` : ''}`;
  const header = ['approach', 'services', 'sync ms', 'read', 'model+render ms', 'haproxy -c ms', 'reload ms', 'RSS MB', 'prop. p50/p99 ms first', 'middle', 'last', 'conns (max)', 'idle', '1 change/s'];
  return table([
    header,
    ...rows.map((r) => [
      r.approach,
      `${r.services}×${r.instances}`,
      r.syncMs === undefined ? 'never' : `${r.syncMs}`,
      r.read ?? '–',
      ms(r.modelRenderMs),
      ms(r.checkMs),
      ms(r.reloadMs),
      ms(r.rssMb),
      prop(r.propagation?.first),
      prop(r.propagation?.middle),
      prop(r.propagation?.last),
      `${r.peakConnections}${r.maxConnections ? ` (${r.maxConnections})` : ''}`,
      rate(r.idle),
      rate(r.churn),
    ]),
  ]);
}

await runBenchmark(main);

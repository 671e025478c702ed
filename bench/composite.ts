/**
 * bench:composite — the composite engine measured: ipx's aggregator (a node
 * process behind HAProxy) next to an HAProxy Lua fan-out (bench/lib/composite-fanout.lua)
 * on the same HAProxy, both calling the same two parts back through the frontend,
 * against calling one part directly. Prints added latency, throughput, CPU per
 * request and what a hung part and a killed aggregator do.
 *
 *   node --import tsx bench/composite.ts [--delay 20] [--seconds 8] [--concurrency 32]
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { AggregatorSupervisor, stateMessage } from '../src/composites/index.ts';
import { parseConfig } from '../src/config/index.ts';
import { findFreePorts } from '../src/consul/free-ports.ts';
import { EMPTY_SERVER_STATE } from '../src/haproxy/runtime/servers-state.ts';
import { buildModel } from '../src/model/index.ts';
import { render } from '../src/render/index.ts';
import { loadRenderKit } from '../src/runner/assets.ts';
import { cpuMs, load, type LoadResult, type LoadTarget } from './lib/composite-load.ts';
import { describeProvenance, formatCounts, provenance, saveResults, table } from './lib/report.ts';
import { REPO_ROOT } from './lib/stack.ts';
import type { Snapshot } from '../src/consul/snapshot.ts';

const { values: args } = parseArgs({
  options: { delay: { type: 'string', default: '20' }, seconds: { type: 'string', default: '8' }, concurrency: { type: 'string', default: '32' }, json: { type: 'boolean', default: false } },
});
const DELAY = Number(args.delay);
const SECONDS = Number(args.seconds);
const CONCURRENCY = Number(args.concurrency);
const GATEWAY_HOST = 'api.gateway.internal';
const HANG_TIMEOUT_MS = 100;

const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const dir = await mkdtemp(path.join(tmpdir(), 'ipx-bench-composite-'));
const children: ChildProcess[] = [];
const supervisor = new AggregatorSupervisor(pino({ level: 'warn' }));

try {
  const backendsPort = await startBackends();
  const [httpPort, statsPort, adminPort, aggregatorPort] = (await findFreePorts(4)) as [number, number, number, number];
  const config = parseConfig({
    haproxy: { runDir: dir },
    listen: { http: `127.0.0.1:${httpPort}`, stats: `127.0.0.1:${statsPort}`, admin: `127.0.0.1:${adminPort}` },
    aggregator: { listen: `127.0.0.1:${aggregatorPort}` },
    composites: {
      pair: { path: '/c/{id}', deadline: '1s', parts: { a: { service: 'a', path: `/d/${DELAY}/a/{id}`, required: true }, b: { service: 'b', path: `/d/${DELAY}/b/{id}`, required: true } } },
      hung: {
        path: '/h/{id}',
        deadline: '300ms',
        parts: { a: { service: 'a', path: `/d/${DELAY}/a/{id}`, required: true }, h: { service: 'b', path: '/hang/{id}', timeout: `${HANG_TIMEOUT_MS}ms` } },
      },
    },
  });
  const instance = (id: string) => ({ id, node: 'bench', address: '127.0.0.1', port: backendsPort, tags: [], meta: {}, status: 'passing' as const, weight: 1 });
  const snapshot: Snapshot = { services: [{ name: 'a', instances: [instance('a-1')] }, { name: 'b', instances: [instance('b-1')] }], kv: [] };
  const model = buildModel({ snapshot, config });
  const { files } = render({ model, ...(await loadRenderKit()) });
  for (const [name, content] of Object.entries(files)) await writeFile(path.join(dir, name), withLua(name, content));
  await writeFile(path.join(dir, 'server-state'), EMPTY_SERVER_STATE);

  await supervisor.update(stateMessage(config, model));
  const haproxy = spawn('haproxy', ['-f', path.join(dir, 'haproxy.cfg'), '-db'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'ignore'],
    env: {
      ...process.env,
      IPX_BENCH_GATEWAY: config.listen.http,
      IPX_BENCH_DEADLINE_MS: '1000',
      IPX_BENCH_PARTS: `a=a.service.internal/d/${DELAY}/a/1@1000,b=b.service.internal/d/${DELAY}/b/1@1000`,
      IPX_BENCH_HANG_PARTS: `a=a.service.internal/d/${DELAY}/a/1@1000,h=b.service.internal/hang/1@${HANG_TIMEOUT_MS}`,
    },
  });
  children.push(haproxy);
  const direct: LoadTarget = { port: httpPort, host: 'a.service.internal', path: `/d/${DELAY}/a/1` };
  const node: LoadTarget = { port: httpPort, host: GATEWAY_HOST, path: '/c/1' };
  const lua: LoadTarget = { port: httpPort, host: GATEWAY_HOST, path: '/lua/c/1' };
  await waitFor(direct);
  await waitFor(node);
  await waitFor(lua);

  const processes = { haproxy: haproxy.pid as number, aggregator: (): number => supervisor.pid ?? 0 };
  const measured = async (target: LoadTarget, options: { concurrency: number; durationMs?: number; count?: number }) => {
    const aggregatorPid = processes.aggregator();
    const before = { haproxy: cpuMs(processes.haproxy), aggregator: cpuMs(aggregatorPid) };
    const result = await load(target, options);
    const cpu = { haproxy: cpuMs(processes.haproxy) - before.haproxy, aggregator: cpuMs(aggregatorPid) - before.aggregator };
    return { ...result, cpuMsPerRequest: round((cpu.haproxy + cpu.aggregator) / Math.max(1, result.requests), 3), cpu };
  };

  // 1. Added latency, one request at a time.
  const sequential = { concurrency: 1, count: 300 };
  const latency = { direct: await measured(direct, sequential), node: await measured(node, sequential), lua: await measured(lua, sequential) };
  // 2. Throughput and CPU per request under load.
  const loaded = { concurrency: CONCURRENCY, durationMs: SECONDS * 1000 };
  const throughput = { direct: await measured(direct, loaded), node: await measured(node, loaded), lua: await measured(lua, loaded) };
  // 3. A part that never answers (optional, 100 ms timeout), while other traffic goes on.
  const hung = async (target: LoadTarget) => {
    const [composite, others] = await Promise.all([measured(target, { concurrency: 8, durationMs: 4000 }), load(direct, { concurrency: 2, durationMs: 4000 })]);
    return { composite, others };
  };
  const hangs = { node: await hung({ ...node, path: '/h/1' }), lua: await hung({ ...lua, path: '/lua/h/1' }) };
  // 4. The aggregator killed under load: what the other traffic sees, and how long composites fail.
  const crash = await killAggregatorUnderLoad(supervisor.pid as number, direct, node);

  const results = { delayMs: DELAY, concurrency: CONCURRENCY, seconds: SECONDS, latency, throughput, hangs, crash, provenance: provenance(REPO_ROOT) };
  const file = await saveResults(REPO_ROOT, 'composite', results);
  if (args.json) console.log(JSON.stringify(results, null, 2));
  else console.log(report(results, file));
} finally {
  await supervisor.stop();
  for (const child of children) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
}

function report(r: { latency: Record<string, LoadResult & { cpuMsPerRequest: number }>; throughput: Record<string, LoadResult & { cpuMsPerRequest: number }>; hangs: Record<string, { composite: LoadResult; others: LoadResult }>; crash: Awaited<ReturnType<typeof killAggregatorUnderLoad>>; provenance: ReturnType<typeof provenance> }, file: string): string {
  const p50 = (x: LoadResult) => x.latency.p50 ?? 0;
  const lat = (x: LoadResult) => `${x.latency.p50}/${x.latency.p95}/${x.latency.p99} ms`;
  const rows = [
    ['', 'latency p50/p95/p99 (c=1)', 'added p50', `req/s (c=${CONCURRENCY})`, 'CPU ms/req (HAProxy+aggregator)', 'non-2xx'],
    ...(['direct', 'node', 'lua'] as const).map((k) => [
      k === 'direct' ? 'one part, direct' : k === 'node' ? 'composite, ipx aggregator' : 'composite, HAProxy Lua',
      lat(r.latency[k]!),
      k === 'direct' ? '–' : `${round(p50(r.latency[k]!) - p50(r.latency.direct!), 1)} ms`,
      String(r.throughput[k]!.perSecond),
      String(r.throughput[k]!.cpuMsPerRequest),
      formatCounts(Object.fromEntries(Object.entries(r.throughput[k]!.statuses).filter(([s]) => !s.startsWith('2')))),
    ]),
  ];
  const hangRows = [
    ['hung optional part (timeout 100 ms)', 'composite p50/p99', 'other traffic p99', 'other traffic non-2xx'],
    ...(['node', 'lua'] as const).map((k) => [k, `${r.hangs[k]!.composite.latency.p50}/${r.hangs[k]!.composite.latency.p99} ms`, `${r.hangs[k]!.others.latency.p99} ms`, formatCounts(Object.fromEntries(Object.entries(r.hangs[k]!.others.statuses).filter(([s]) => !s.startsWith('2'))))]),
  ];
  return [
    `bench:composite: two parts of ${DELAY} ms each, called through HAProxy's frontend`,
    table(rows),
    '',
    table(hangRows),
    '',
    `aggregator killed under load: other traffic ${r.crash.others.requests} requests, non-2xx ${formatCounts(Object.fromEntries(Object.entries(r.crash.others.statuses).filter(([s]) => !s.startsWith('2'))))}; composites failed for ${r.crash.outageMs} ms (${formatCounts(r.crash.composite.statuses)})`,
    `results: ${path.relative(REPO_ROOT, file)}; ${describeProvenance(r.provenance)}`,
  ].join('\n');
}

async function killAggregatorUnderLoad(pid: number, direct: LoadTarget, node: LoadTarget) {
  const others = load(direct, { concurrency: 4, durationMs: 3000 });
  const statuses: Record<string, number> = {};
  let firstFail: number | undefined;
  let recovered: number | undefined;
  const probe = (async () => {
    const end = performance.now() + 3000;
    while (performance.now() < end) {
      const res = await load(node, { concurrency: 1, count: 1 });
      const status = Object.keys(res.statuses)[0] ?? 'error';
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status !== '200') firstFail ??= performance.now();
      else if (firstFail !== undefined) recovered ??= performance.now();
      await sleep(10);
    }
  })();
  await sleep(500);
  process.kill(pid, 'SIGKILL');
  const [otherResult] = await Promise.all([others, probe]);
  const outageMs = firstFail === undefined ? 0 : Math.round((recovered ?? performance.now()) - firstFail);
  return { others: otherResult, composite: { statuses }, outageMs };
}

/** The Lua candidate on the same HAProxy: loaded in global, routed on /lua/ before the host check. */
function withLua(name: string, content: string): string {
  if (name !== 'haproxy.cfg') return content;
  const luaFile = path.join(REPO_ROOT, 'bench/lib/composite-fanout.lua');
  return content
    .replace(/^global\n/m, `global\n    lua-load ${luaFile}\n`)
    .replace(/^(frontend http\n    bind .*\n)/m, `$1    http-request use-service lua.composite if { path_beg /lua/c/ }\n    http-request use-service lua.composite_hang if { path_beg /lua/h/ }\n`);
}

async function startBackends(): Promise<number> {
  const child = fork(path.join(REPO_ROOT, 'bench/lib/composite-backends.ts'), [], { execArgv: ['--import', tsx], stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout?.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    child.once('exit', (code) => reject(new Error(`composite backends exited (${code})`)));
  });
}

async function waitFor(target: LoadTarget): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const res = await load(target, { concurrency: 1, count: 1 });
    if (res.statuses['200']) return;
    await sleep(100);
  }
  throw new Error(`${target.host}${target.path} did not answer 200`);
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

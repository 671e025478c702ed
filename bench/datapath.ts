/**
 * npm run bench:datapath — what ipx's HAProxy adds to a request: an open loop
 * at --rate requests/s straight to a backend, then the same through ipx to a
 * service with default policies, then to a policy-rich one (versions 90/10
 * with a pin header, retries on 503, circuit breaker with an active check,
 * access log). Added latency p50/p99 against direct, and HAProxy's CPU per
 * 10,000 requests (utime + stime of its processes, from /proc).
 *
 *   node --import tsx bench/datapath.ts [--rate 2000] [--duration 20] [--rounds 1] [--threads N] [--json]
 *
 * --threads sets haproxy.threads (default: ipx's, HAProxy's one thread per CPU).
 * --rounds N takes the rows in turn N times, --duration seconds each: a row's
 * latency is then the median over rounds, and its added latency the median of
 * its difference to the direct row of the same round, so that a machine whose
 * load drifts during the run shifts every row alike.
 * --cycles N then takes the rows in turn request by request, one request in
 * flight (bench/lib/paired-worker.ts): the added latency without queueing,
 * the figure that configurations can be compared by on a shared machine.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createMasterCli } from '../src/haproxy/index.ts';
import { startWorker } from './lib/rpc.ts';
import { describeProvenance, provenance, saveResults, table } from './lib/report.ts';
import { DOMAIN, REPO_ROOT, registerInstance, runBenchmark, startStack } from './lib/stack.ts';
import { putKv } from '../test/helpers/consul.ts';
import { eventually } from '../test/helpers/http.ts';
import { findFreePorts } from '../test/helpers/ports.ts';
import { request } from '../test/helpers/policy-http.ts';
import { nowSeconds, rsaKeys, sha256Hex, signers, token } from '../test/helpers/jwt.ts';
import type { OpenLoopPlan, OpenLoopResult } from './lib/open-loop-worker.ts';
import type { PairedPlan, PairedRowResult } from './lib/paired-worker.ts';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '2000' },
    duration: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '1' },
    threads: { type: 'string' },
    cycles: { type: 'string', default: '20000' },
    json: { type: 'boolean', default: false },
  },
});
const RATE = Number(args.rate);
const DURATION_MS = Number(args.duration) * 1000;
const ROUNDS = Math.max(1, Number(args.rounds));
const THREADS = args.threads === undefined ? undefined : Number(args.threads);
const CYCLES = Math.max(0, Number(args.cycles));
const CLK_TCK = 100;

const RICH_POLICY = {
  versions: { split: { v1: 90, v2: 10 }, pinHeader: 'X-Version' },
  retries: { attempts: 2, on: ['conn-failure', 'empty-response', '503'] },
  circuitBreaker: { maxConnsPerInstance: 200, maxQueuePerInstance: 100, consecutiveErrors: 5, slowStart: '10s' },
  healthCheck: { path: '/', interval: '2s' },
};

// Auth plus rate limiting: a caller that must authenticate, on an allow list, under a per-caller
// limit, a service total and a gateway-wide per-caller limit (all three trackers), set high enough
// that nothing is refused: the bench measures their cost, not their answers.
const JWT_KEYS = rsaKeys();
const API_KEY = 'bench-api-key-0123456789abcdef';
const CALLER_CONFIG = {
  identity: { jwt: { algorithm: 'RS256' as const, key: JWT_KEYS.publicPem, issuer: 'https://idp.bench', audience: 'ipx' }, apiKeys: {} },
  rateLimit: { perCaller: '100000000/m' },
};
const GUARDED_POLICY = { auth: { required: true }, access: { allow: ['bench'] }, rateLimit: { perCaller: '1000000/s', total: '1000000/s' } };
const BENCH_JWT = token({ alg: 'RS256', typ: 'JWT' }, { sub: 'bench', iss: 'https://idp.bench', aud: 'ipx', exp: nowSeconds() + 3600 }, signers.rsa(JWT_KEYS.privateKey));

async function cpuTicks(pids: readonly number[]): Promise<number> {
  let ticks = 0;
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    // Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  }
  return ticks;
}

async function inWorker<T>(file: string, plan: OpenLoopPlan | PairedPlan): Promise<T> {
  const worker = startWorker(new URL(file, import.meta.url));
  try {
    return await worker.call<T>('run', plan);
  } finally {
    await worker.terminate();
  }
}

/** A row's answers as the tables show them: `200:20000`, then any socket errors. */
function statusCell(statuses: Record<string, number>, errors: Record<string, number>): string {
  return Object.entries(statuses).map(([k, v]) => `${k}:${v}`).join(' ') + (Object.keys(errors).length ? ` errors ${JSON.stringify(errors)}` : '');
}

/** Each row's added p50/p90 against the first (direct) row, and as a multiple of the second's (default policies). */
function pairedSummary(names: readonly string[], results: readonly PairedRowResult[]) {
  const direct = results[0]!.latencyUs;
  const added = (r: PairedRowResult) => ({ p50: r.latencyUs.p50 - direct.p50, p90: r.latencyUs.p90 - direct.p90 });
  const base = results[1] ? added(results[1]) : undefined;
  return results.map((r, i) => ({
    name: names[i]!,
    latencyUs: r.latencyUs,
    addedUs: i === 0 ? undefined : added(r),
    againstDefault: i < 2 || !base || base.p50 <= 0 || base.p90 <= 0 ? undefined : { p50: added(r).p50 / base.p50, p90: added(r).p90 / base.p90 },
    statuses: r.statuses,
    errors: r.errors,
  }));
}

await runBenchmark(async () => {
  const [sync] = (await findFreePorts(1)) as [number];
  const stack = await startStack({ waitMin: '20ms', waitMax: '200ms', threads: THREADS, caller: { ...CALLER_CONFIG, rateLimit: { ...CALLER_CONFIG.rateLimit, syncBind: `127.0.0.1:${sync}` } } });
  try {
    const direct = await stack.backends.start('direct-1');
    await stack.addInstance('plain', 'plain-1');
    await registerInstance(stack.client, 'rich', 'rich-v1', await stack.backends.start('rich-v1'), { 'ipx-version': 'v1' });
    await registerInstance(stack.client, 'rich', 'rich-v2', await stack.backends.start('rich-v2'), { 'ipx-version': 'v2' });
    await putKv(stack.consul.address, 'ipx/services/rich', JSON.stringify(RICH_POLICY));
    await stack.addInstance('guarded', 'guarded-1');
    await stack.waitRoutable(['plain', 'rich', 'guarded']);
    await putKv(stack.consul.address, 'ipx/services/guarded', JSON.stringify(GUARDED_POLICY));
    await putKv(stack.consul.address, 'ipx/apikeys/bench', sha256Hex(API_KEY));
    const guarded = (headers: Record<string, string>) => request(`http://127.0.0.1:${stack.ipx.httpPort}`, { headers: { host: `guarded.${DOMAIN}`, ...headers } }).then((r) => r.status);
    await eventually(async () => ((await guarded({})) === 401 && (await guarded({ 'x-api-key': API_KEY })) === 200 && (await guarded({ authorization: `Bearer ${BENCH_JWT}` })) === 200 ? true : undefined), 15_000, 'guarded to need credentials');
    // The split is a new kind of rule: let its reload finish before reading which processes to measure.
    await sleep(3000);
    const proc = await createMasterCli({ socketPath: path.join(stack.ipx.config.haproxy.runDir, 'master.sock') }).showProc({ waitMs: 5000 });
    const pids = [proc.master.pid, ...proc.workers.map((w) => w.pid)];

    const phases: Array<{ name: string; port: number; host: string; headers?: Record<string, string> }> = [
      { name: 'direct', port: direct, host: 'direct' },
      { name: 'ipx, default policies', port: stack.ipx.httpPort, host: `plain.${DOMAIN}` },
      { name: 'ipx, policy-rich', port: stack.ipx.httpPort, host: `rich.${DOMAIN}` },
      { name: 'ipx, API key + access + 3 limits', port: stack.ipx.httpPort, host: `guarded.${DOMAIN}`, headers: { 'x-api-key': API_KEY } },
      { name: 'ipx, RS256 JWT + access + 3 limits', port: stack.ipx.httpPort, host: `guarded.${DOMAIN}`, headers: { authorization: `Bearer ${BENCH_JWT}` } },
    ];
    const rounds: Array<Array<{ result: OpenLoopResult; ticks: number }>> = [];
    for (let round = 0; round < ROUNDS; round++) {
      const row: Array<{ result: OpenLoopResult; ticks: number }> = [];
      for (const phase of phases) {
        const before = await cpuTicks(pids);
        const result = await inWorker<OpenLoopResult>('./lib/open-loop-worker.ts', { port: phase.port, host: phase.host, headers: phase.headers, rate: RATE, durationMs: DURATION_MS, warmup: Math.min(2000, RATE) });
        row.push({ result, ticks: (await cpuTicks(pids)) - before });
      }
      rounds.push(row);
    }
    const median = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      const mid = Math.floor(sorted.length / 2);
      return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    };
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    const merged = (counts: Array<Record<string, number>>) => {
      const out: Record<string, number> = {};
      for (const c of counts) for (const [k, v] of Object.entries(c)) out[k] = (out[k] ?? 0) + v;
      return out;
    };
    const summary = phases.map(({ name }, i) => {
      const taken = rounds.map((row) => row[i]!);
      const directs = rounds.map((row) => row[0]!.result.latencyUs);
      const latency = (q: 'p50' | 'p90' | 'p99' | 'max') => median(taken.map((t) => t.result.latencyUs[q])) / 1000;
      const addedBy = (q: 'p50' | 'p99') => median(taken.map((t, r) => t.result.latencyUs[q] - directs[r]![q])) / 1000;
      const sent = sum(taken.map((t) => t.result.sent));
      return {
        name,
        sent,
        statuses: merged(taken.map((t) => t.result.statuses)),
        errors: merged(taken.map((t) => t.result.errors)),
        lateStarts: sum(taken.map((t) => t.result.lateStarts)),
        latencyMs: { p50: latency('p50'), p90: latency('p90'), p99: latency('p99'), max: latency('max') },
        addedMs: i === 0 ? undefined : { p50: addedBy('p50'), p99: addedBy('p99') },
        haproxyCpuMsPer10k: i === 0 ? undefined : Math.round(((sum(taken.map((t) => t.ticks)) * 1000) / CLK_TCK / sent) * 10_000),
      };
    });
    const paired =
      CYCLES === 0
        ? undefined
        : pairedSummary(
            phases.map((p) => p.name),
            await inWorker<PairedRowResult[]>('./lib/paired-worker.ts', { rows: phases, cycles: CYCLES, warmup: Math.min(1000, CYCLES) }),
          );
    const data = { rate: RATE, durationS: DURATION_MS / 1000, rounds: ROUNDS, threads: THREADS ?? 'default', phases: summary, cycles: CYCLES, paired, provenance: provenance(REPO_ROOT) };
    const file = await saveResults(REPO_ROOT, 'datapath', data);
    if (args.json) {
      console.log(JSON.stringify(data, null, 2));
      return;
    }
    const fmt = (n: number | undefined) => (n === undefined ? '—' : n.toFixed(3));
    const taking = ROUNDS === 1 ? `${DURATION_MS / 1000} s per row` : `${ROUNDS} rounds of ${DURATION_MS / 1000} s per row, taken in turn (latency: medians over rounds; added: median of the difference to the same round's direct row)`;
    console.log(`Data path, open loop at ${RATE} requests/s, ${taking} (latency from each request's due time), HAProxy threads: ${THREADS ?? 'default'}\n`);
    console.log(
      table([
        ['', 'p50 ms', 'p99 ms', 'added p50', 'added p99', 'HAProxy CPU ms / 10k req', 'statuses', 'late starts'],
        ...summary.map((s) => [
          s.name,
          fmt(s.latencyMs.p50),
          fmt(s.latencyMs.p99),
          fmt(s.addedMs?.p50),
          fmt(s.addedMs?.p99),
          s.haproxyCpuMsPer10k === undefined ? '—' : String(s.haproxyCpuMsPer10k),
          statusCell(s.statuses, s.errors),
          String(s.lateStarts),
        ]),
      ]),
    );
    if (paired) {
      const us = (n: number | undefined) => (n === undefined ? '—' : n.toFixed(0));
      console.log(`\nThe same rows taken in turn request by request, one request in flight, ${CYCLES} each (microseconds):\n`);
      console.log(
        table([
          ['', 'p50 µs', 'p90 µs', 'p99 µs', 'added p50', 'added p90', "added p50 / p90 against the default's", 'statuses'],
          ...paired.map((s) => [
            s.name,
            us(s.latencyUs.p50),
            us(s.latencyUs.p90),
            us(s.latencyUs.p99),
            us(s.addedUs?.p50),
            us(s.addedUs?.p90),
            s.againstDefault === undefined ? '—' : `${s.againstDefault.p50.toFixed(2)}× / ${s.againstDefault.p90.toFixed(2)}×`,
            statusCell(s.statuses, s.errors),
          ]),
        ]),
      );
    }
    console.log(`\nTargets: added p50 ≤ 0.3 ms and p99 ≤ 2 ms with default policies; policy-rich and auth + rate limiting at most 1.5× those.`);
    console.log(`${describeProvenance(data.provenance)}\nSaved ${path.relative(REPO_ROOT, file)}`);
  } finally {
    await stack.stop();
  }
});

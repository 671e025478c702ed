/**
 * Worker thread generating the benchmark's traffic: for each target proxy,
 * paced clients that reuse one keep-alive connection and clients that open a
 * new connection per request, spread over the steady services' Host names,
 * plus every `probeEvery`-th request to the services being added or removed.
 * It counts every status and socket error and never retries.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { workerData } from 'node:worker_threads';
import { Http1Client, type Outcome } from './http1-client.ts';
import { serveCalls } from './rpc.ts';
import { VIA_HEADER } from './backends.ts';
import type { LoadPlan, LoadResult, ProbeSeen, ViaLoad } from './load.ts';

const plan = workerData as LoadPlan;
const MAX_FAILURES_KEPT = 20;
const LATENCY_BUCKETS = 10_001;

interface ViaState {
  readonly port: number;
  requests: number;
  keepAlive: number;
  fresh: number;
  readonly statuses: Record<string, number>;
  readonly probeStatuses: Record<string, number>;
  readonly errors: Record<string, number>;
  readonly latencyMs: Uint32Array;
  readonly perSecond: number[];
  readonly probes: Record<string, ProbeSeen>;
  readonly failures: ViaLoad['failures'];
}

const states = new Map<string, ViaState>(
  plan.targets.map((target) => [
    target.via,
    {
      port: target.port,
      requests: 0,
      keepAlive: 0,
      fresh: 0,
      statuses: {},
      probeStatuses: {},
      errors: {},
      latencyMs: new Uint32Array(LATENCY_BUCKETS),
      perSecond: [],
      probes: {},
      failures: [],
    },
  ]),
);
let probeHosts: readonly string[] = [];
let stopped = false;
let startedAt = 0;
let running: Promise<void> | undefined;

function record(state: ViaState, host: string, probe: boolean, outcome: Outcome, sentAt: number, latency: number): void {
  const now = Date.now();
  state.requests++;
  const second = Math.floor((now - startedAt) / 1000);
  state.perSecond[second] = (state.perSecond[second] ?? 0) + 1;
  state.latencyMs[Math.min(LATENCY_BUCKETS - 1, Math.round(latency))]!++;
  const what = outcome.error ?? String(outcome.status);
  if (outcome.error !== undefined) bump(state.errors, outcome.error);
  else bump(probe ? state.probeStatuses : state.statuses, what);
  if (probe) {
    const seen = (state.probes[host] ??= { first200: undefined, last200: undefined, ok: 0, other: 0 });
    if (outcome.status === 200) {
      // Stamped when the request was sent: a 200 proves the route existed by then.
      seen.first200 ??= sentAt;
      seen.last200 = sentAt;
      seen.ok++;
    } else seen.other++;
  } else if ((outcome.error !== undefined || !what.startsWith('2')) && state.failures.length < MAX_FAILURES_KEPT) {
    state.failures.push({ at: now, host, what });
  }
}

async function client(via: string, index: number, keepAlive: boolean, clientsPerTarget: number): Promise<void> {
  const state = states.get(via)!;
  const connection = new Http1Client(state.port, keepAlive, plan.timeoutMs);
  const headers = `${VIA_HEADER}: ${via}\r\n`;
  const intervalMs = (clientsPerTarget * 1000) / plan.ratePerTarget;
  const deadline = startedAt + plan.maxDurationMs;
  let next = performance.now() + (intervalMs * index) / clientsPerTarget;
  for (let n = 0; !stopped && Date.now() < deadline; n++) {
    const wait = next - performance.now();
    if (wait > 0) await sleep(wait);
    if (stopped) break;
    const probe = probeHosts.length > 0 && n % plan.probeEvery === 0;
    const host = probe ? probeHosts[Math.floor(n / plan.probeEvery) % probeHosts.length]! : plan.hosts[(n + index) % plan.hosts.length]!;
    const sentAt = Date.now();
    const t0 = performance.now();
    const outcome = await connection.request(host, headers);
    record(state, host, probe, outcome, sentAt, performance.now() - t0);
    if (keepAlive) state.keepAlive++;
    else state.fresh++;
    next += intervalMs;
    // A client that fell behind (a slow answer) catches up at most one second of backlog.
    next = Math.max(next, performance.now() - 1000);
  }
  connection.close();
}

function run(): Promise<void> {
  startedAt = Date.now();
  const perTarget = plan.keepAliveClients + plan.freshClients;
  const clients = plan.targets.flatMap((target) => Array.from({ length: perTarget }, (_, i) => client(target.via, i, i < plan.keepAliveClients, perTarget)));
  return Promise.all(clients).then(() => undefined);
}

function percentile(histogram: Uint32Array, total: number, q: number): number {
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let ms = 0; ms < histogram.length; ms++) {
    seen += histogram[ms]!;
    if (seen >= rank && rank > 0) return ms;
  }
  return 0;
}

function result(): LoadResult {
  const durationMs = Date.now() - startedAt;
  const vias: Record<string, ViaLoad> = {};
  for (const [via, s] of states) {
    let max = 0;
    for (let ms = 0; ms < s.latencyMs.length; ms++) if (s.latencyMs[ms]) max = ms;
    vias[via] = {
      requests: s.requests,
      keepAlive: s.keepAlive,
      fresh: s.fresh,
      statuses: s.statuses,
      probeStatuses: s.probeStatuses,
      errors: s.errors,
      latencyMs: { p50: percentile(s.latencyMs, s.requests, 0.5), p99: percentile(s.latencyMs, s.requests, 0.99), max },
      perSecond: Array.from(s.perSecond, (n) => n ?? 0),
      probes: s.probes,
      failures: s.failures,
    };
  }
  return { durationMs, ratePerTarget: plan.ratePerTarget, vias };
}

function bump(record: Record<string, number>, key: string): void {
  record[key] = (record[key] ?? 0) + 1;
}

serveCalls({
  start: () => {
    running ??= run();
  },
  probe: (hosts: string[]) => {
    probeHosts = hosts;
  },
  stop: async () => {
    stopped = true;
    await running;
    return result();
  },
});

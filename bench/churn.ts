/**
 * npm run bench:churn — propagation under churn, ipx next to HAProxy's own
 * Consul DNS discovery, with the same load on both.
 *
 *   node --import tsx bench/churn.ts [--duration 60] [--services 6] [--instances 3] [--rate 2]
 *        [--load-rate 1000] [--clients 8] [--structural-every 10] [--json] [--keep]
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { createChurn, LATE_AFTER_MS, seedInstances, type Change, type ChangeKind } from './lib/churn-driver.ts';
import { describeHaproxySettings, summarizeApplies, type AppliesSummary } from './lib/ipx.ts';
import { achievedRate, startLoad, type LoadResult, type ViaLoad } from './lib/load.ts';
import { sampleProcs, type ProcSummary } from './lib/proc-sampler.ts';
import { formatPropagation, propagation, type Propagation } from './lib/propagation.ts';
import {
  cpuBusySince,
  cpuTimes,
  describeProvenance,
  formatCounts,
  formatDistribution,
  non2xx,
  provenance,
  saveResults,
  table,
} from './lib/report.ts';
import { DOMAIN, REPO_ROOT, runBenchmark, startStack, type Stack } from './lib/stack.ts';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    services: { type: 'string', default: '6' },
    instances: { type: 'string', default: '3' },
    rate: { type: 'string', default: '2' },
    'load-rate': { type: 'string', default: '1000' },
    clients: { type: 'string', default: '8' },
    'structural-every': { type: 'string', default: '10' },
    'wait-min': { type: 'string', default: '20ms' },
    'wait-max': { type: 'string', default: '200ms' },
    json: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});

const positive = (name: string, value: string | undefined): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`bench: --${name} must be a positive number (got ${value})`);
  return n;
};

const options = {
  durationMs: positive('duration', args.duration) * 1000,
  services: Math.round(positive('services', args.services)),
  instances: Math.round(positive('instances', args.instances)),
  rate: positive('rate', args.rate),
  loadRate: positive('load-rate', args['load-rate']),
  clients: Math.round(positive('clients', args.clients)),
  structuralEveryMs: positive('structural-every', args['structural-every']) * 1000,
  waitMin: args['wait-min'] ?? '20ms',
  waitMax: args['wait-max'] ?? '200ms',
};
/** Load keeps running after the last change, so late effects (DNS) are still seen. */
const TAIL_MS = 5000;
const VIAS = ['ipx', 'dns'] as const;
/** One request in PROBE_EVERY goes to the service being added or removed. */
const PROBE_EVERY = 10;

const services = Array.from({ length: options.services }, (_, i) => `svc-${i + 1}`);
// One service added every other structural tick: enough names for the whole run.
const extras = Array.from({ length: Math.ceil(options.durationMs / options.structuralEveryMs / 2) + 1 }, (_, i) => `new-${i + 1}`);
// Churn adds an instance before it removes one, and critical instances stay registered.
const slots = options.instances + 5;

const KINDS: ReadonlyArray<readonly [ChangeKind, string]> = [
  ['instance-added', 'instance registered → its first request'],
  ['instance-passing', 'check passing again → its first request'],
  ['instance-removed', 'instance deregistered → its last request'],
  ['instance-critical', 'check critical → its last request'],
  ['service-added', 'service added → its first 200'],
  ['service-removed', 'service removed → its last 200'],
];

async function main(): Promise<void> {
  const origin = provenance(REPO_ROOT);
  const stack = await startStack({ waitMin: options.waitMin, waitMax: options.waitMax, peer: { services: [...services, ...extras], slots } });
  if (args.keep) console.error(`bench: keeping ${stack.dir} (ipx.log, consul.log, haproxy configs)`);
  try {
    const seeded = await seedInstances(stack, services, options.instances);
    await stack.waitRoutable(services);
    const load = await startLoad({
      targets: stack.targets,
      hosts: services.map((s) => `${s}.${DOMAIN}`),
      keepAliveClients: options.clients,
      freshClients: options.clients,
      ratePerTarget: options.loadRate,
      probeEvery: PROBE_EVERY,
      timeoutMs: 5000,
      maxDurationMs: options.durationMs + 120_000,
    });
    await waitAllReached(stack, seeded.map((s) => s.id));
    const churn = createChurn({ stack, load, vias: VIAS, services, instances: options.instances, rate: options.rate, structuralEveryMs: options.structuralEveryMs, extras, seeded });
    const ipxProcs = await sampleProcs(stack.ipx.manager.status().masterSocket);
    const dnsProcs = await sampleProcs(stack.peer!.process.cli.socketPath);
    const appliesBefore = stack.ipx.applies.length;
    const cpuBefore = await cpuTimes();
    const mainElu = performance.eventLoopUtilization();

    await churn.run(options.durationMs);
    await sleep(TAIL_MS);

    const procs = { ipx: await ipxProcs.stop(), dns: await dnsProcs.stop() };
    const utilization = {
      load: load.utilization(),
      backends: stack.backends.utilization(),
      ipxEventLoop: performance.eventLoopUtilization(mainElu).utilization,
      cpuBusy: await cpuBusySince(cpuBefore),
    };
    const loadStoppedAt = Date.now();
    const result = await load.stop();
    const changes = await churn.measure(result, loadStoppedAt);
    const summary = summarize(result, changes, procs, summarizeApplies(stack.ipx.applies.slice(appliesBefore)));
    const data = { benchmark: 'churn', at: new Date().toISOString(), provenance: origin, options, peer: stack.peer!.settings, utilization, summary, changes };
    const file = await saveResults(REPO_ROOT, 'churn', data);
    if (args.json) console.log(JSON.stringify(data, null, 2));
    else console.log(render(summary, utilization, stack, origin, result));
    console.error(`bench: results written to ${file}`);
  } finally {
    if (args.keep) console.error(`bench: kept ${stack.dir}`);
    await stack.stop({ keepDir: args.keep });
  }
}

/** Every seeded instance has answered through every proxy: the measured run starts from a settled state. */
async function waitAllReached(stack: Stack, ids: readonly string[], timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const id of ids) {
    for (;;) {
      const seen = await stack.backends.read(id);
      if (VIAS.every((via) => (seen[via]?.count ?? 0) > 0)) break;
      if (Date.now() > deadline) throw new Error(`bench: instance ${id} got no request through ${VIAS.filter((via) => !seen[via]).join(', ')} within ${timeoutMs} ms`);
      await sleep(100);
    }
  }
}

/** What the load saw through one proxy (its per-second counts and probe details stay in the load result), plus the proxy's side. */
type ViaSummary = Omit<ViaLoad, 'perSecond' | 'probes' | 'statuses'> & {
  readonly ratePerSecond: number;
  readonly slowestSecond: number;
  readonly non2xx: Record<string, number>;
  readonly procs: ProcSummary;
  readonly propagation: Record<ChangeKind, Propagation>;
};

function summarize(result: LoadResult, changes: readonly Change[], procs: Record<string, ProcSummary>, ipxApplies: AppliesSummary) {
  const vias = Object.fromEntries(
    VIAS.map((via) => {
      const { perSecond, probes, statuses, ...load } = result.vias[via]!;
      const rate = achievedRate(result.vias[via]!, result.durationMs);
      const summary: ViaSummary = {
        ...load,
        ratePerSecond: rate.perSecond,
        slowestSecond: rate.slowestSecond,
        non2xx: non2xx(statuses),
        procs: procs[via]!,
        propagation: Object.fromEntries(KINDS.map(([kind]) => [kind, propagation(changes, kind, via)])) as Record<ChangeKind, Propagation>,
      };
      return [via, summary];
    }),
  ) as Record<(typeof VIAS)[number], ViaSummary>;
  const counted = (kind: ChangeKind) => changes.filter((c) => c.kind === kind).length;
  return { loadDurationMs: result.durationMs, targetRatePerProxy: result.ratePerTarget, ipxApplies, changes: Object.fromEntries(KINDS.map(([kind]) => [kind, counted(kind)])), vias };
}

function render(summary: ReturnType<typeof summarize>, utilization: Record<string, number | undefined>, stack: Stack, origin: ReturnType<typeof provenance>, result: LoadResult): string {
  const { ipx, dns } = summary.vias;
  const both = (label: string, cell: (v: ViaSummary) => string): string[] => [label, cell(ipx), cell(dns)];
  const afterRemoval = (kind: ChangeKind) => (v: ViaSummary) => `${v.propagation[kind].afterRemoval} (${v.propagation[kind].late} after >${LATE_AFTER_MS / 1000} s)`;
  const rows: string[][] = [
    ['', 'ipx', 'DNS SRV peer'],
    both('requests sent', (v) => `${v.requests} (${v.keepAlive} keep-alive, ${v.fresh} new conn.)`),
    both(`achieved rate (target ${summary.targetRatePerProxy}/s)`, (v) => `${v.ratePerSecond}/s, slowest second ${v.slowestSecond}`),
    both('non-2xx, steady services', (v) => formatCounts(v.non2xx)),
    both('connection errors', (v) => formatCounts(v.errors)),
    both('probes of added/removed services (404/503 while absent)', (v) => formatCounts(v.probeStatuses)),
    both('request latency p50/p99/max ms', (v) => `${v.latencyMs.p50}/${v.latencyMs.p99}/${v.latencyMs.max}`),
    both('reloads (master show proc)', (v) => `${v.procs.reloads}${v.procs.failedAtEnd ? ` (${v.procs.failedAtEnd} failed)` : ''}`),
    ['runtime updates (ipx apply results)', `${summary.ipxApplies.byAction.runtime?.n ?? 0} applies; ops ${formatCounts(summary.ipxApplies.runtimeOps)}`, 'n/a (servers follow DNS)'],
    ...Object.entries(summary.ipxApplies.byAction).map(([action, d]) => [`  ipx ${action} applies, ms p50/p95/p99${action === 'reload' ? ' (incl. reloadFloor wait)' : ''}`, formatDistribution(d), '']),
    both('old workers at end / max seen', (v) => `${v.procs.oldWorkersAtEnd} / ${v.procs.maxOldWorkers}`),
    ['propagation, ms p50/p95/p99', '', ''],
    [' instance changes (ipx: runtime path where it has one)', '', ''],
    ...KINDS.slice(0, 4).map(([kind, label]) => both(`  ${label}`, (v) => formatPropagation(v.propagation[kind]))),
    [' structural changes (ipx: reload path)', '', ''],
    ...KINDS.slice(4).map(([kind, label]) => both(`  ${label}`, (v) => formatPropagation(v.propagation[kind]))),
    both('requests reaching deregistered instances', afterRemoval('instance-removed')),
    both('requests reaching critical instances', afterRemoval('instance-critical')),
  ];
  const changes = Object.entries(summary.changes).map(([kind, n]) => `${n} ${kind}`).join(', ');
  const pct = (x: number | undefined) => (x === undefined ? '?' : `${Math.round(x * 100)}%`);
  const peer = stack.peer!.settings;
  const gapMs = Math.round((1000 * options.services * options.instances) / (options.loadRate * (1 - 1 / PROBE_EVERY)));
  return [
    `ipx churn benchmark: ${options.durationMs / 1000} s of churn, ${options.services} services × ${options.instances} instances, ${options.rate} instance changes/s, a service added or removed every ${options.structuralEveryMs / 1000} s`,
    `changes: ${changes}`,
    `load: the same paced load on each proxy (${options.loadRate}/s each, ${options.clients} keep-alive + ${options.clients} new-connection clients per proxy, 1 in ${PROBE_EVERY} requests to the service being added/removed) for ${(result.durationMs / 1000).toFixed(1)} s`,
    '',
    table(rows),
    '',
    `ipx: in-process daemon, watch.waitMin ${options.waitMin}, waitMax ${options.waitMax}, every other setting default (haproxy: ${describeHaproxySettings(stack.ipx)})`,
    ...(Object.keys(summary.ipxApplies.reloadReasons).length ? [`ipx reload reasons: ${Object.entries(summary.ipxApplies.reloadReasons).map(([reason, n]) => `${n}× ${reason}`).join('; ')}`] : []),
    'DNS peer: HAProxy resolvers on the Consul agent\'s DNS port; every service it routes, added ones included, declared up front',
    `  server-template s 1-${peer.slots} _<svc>._tcp.service.consul ${peer.server}`,
    `  resolvers consul: ${peer.resolvers.join(', ')}`,
    '  same defaults as ipx renders (idle-close-on-response, retries 2, redispatch); no HAProxy health checks on either',
    `busy: load generator ${pct(utilization.load)} of its thread, backends ${pct(utilization.backends)}, ipx's event loop ${pct(utilization.ipxEventLoop)}, all CPUs ${pct(utilization.cpuBusy)}`,
    `timing resolution: each instance gets a request from each proxy about every ${gapMs} ms (${options.loadRate}/s over about ${options.services * options.instances} instances)`,
    describeProvenance(origin),
  ].join('\n');
}

await runBenchmark(main);

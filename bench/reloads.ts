/**
 * npm run bench:reloads — 100 structural reloads through ipx under load:
 * a new service registered and the previous one deregistered, each change confirmed by
 * the master's reload counter before the next; requests, errors and the old
 * workers left behind.
 *
 *   node --import tsx bench/reloads.ts [--reloads 100] [--load-rate 1000] [--clients 8] [--json] [--keep]
 */
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { deregisterService } from '../src/consul/index.ts';
import { describeHaproxySettings, summarizeApplies } from './lib/ipx.ts';
import { achievedRate, startLoad } from './lib/load.ts';
import { sampleProcs } from './lib/proc-sampler.ts';
import { describeProvenance, formatCounts, formatDistribution, non2xx, provenance, saveResults, table } from './lib/report.ts';
import { DOMAIN, registerInstance, REPO_ROOT, runBenchmark, startStack } from './lib/stack.ts';

const { values: args } = parseArgs({
  options: {
    reloads: { type: 'string', default: '100' },
    'load-rate': { type: 'string', default: '1000' },
    clients: { type: 'string', default: '8' },
    json: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const RELOADS = Number(args.reloads);
const LOAD_RATE = Number(args['load-rate']);
const CLIENTS = Number(args.clients);
const SERVICES = ['svc-1', 'svc-2', 'svc-3', 'svc-4'];
/** Longest one change may take to show up as a reload. */
const RELOAD_WAIT_MS = 10_000;
/** Changes that never showed up as a reload before the benchmark gives up. */
const MAX_STALLS = 3;
/** Keep-alive clients that send one request every IDLE_EVERY_MS, as pooled clients do. */
const IDLE_CLIENTS = 4;
const IDLE_EVERY_MS = 3000;
/** The target for old workers once the reloads are over. */
const OLD_WORKERS_TARGET = 2;

async function main(): Promise<void> {
  const origin = provenance(REPO_ROOT);
  const stack = await startStack({ waitMin: '20ms', waitMax: '200ms' });
  try {
    for (const service of SERVICES) for (const i of [1, 2]) await stack.addInstance(service, `${service}-i${i}`);
    await stack.waitRoutable(SERVICES);
    const spinPort = await stack.backends.start('spin');
    const load = await startLoad({
      targets: stack.targets,
      hosts: SERVICES.map((s) => `${s}.${DOMAIN}`),
      keepAliveClients: CLIENTS,
      freshClients: CLIENTS,
      ratePerTarget: LOAD_RATE,
      probeEvery: 10,
      timeoutMs: 5000,
      maxDurationMs: RELOADS * RELOAD_WAIT_MS,
    });
    // Connection pools: keep-alive connections that sit idle most of the time. An old worker
    // keeps each until its next request (idle-close-on-response) or hard-stop-after.
    const idle = await startLoad({
      targets: stack.targets,
      hosts: SERVICES.map((s) => `${s}.${DOMAIN}`),
      keepAliveClients: IDLE_CLIENTS,
      freshClients: 0,
      ratePerTarget: IDLE_CLIENTS / (IDLE_EVERY_MS / 1000),
      probeEvery: 10,
      timeoutMs: 5000,
      maxDurationMs: RELOADS * RELOAD_WAIT_MS,
    });
    await sleep(1000);
    const procs = await sampleProcs(stack.ipx.manager.status().masterSocket, 100);
    const appliesBefore = stack.ipx.applies.length;
    const started = Date.now();
    // Each change registers a service never seen before and deregisters the previous one, so
    // no change can cancel another out, whatever the watcher coalesces. Changes go one at a
    // time, each waited for on the master's counter, until the master has counted RELOADS.
    let changes = 0;
    let stalls = 0;
    for (let reloads = 0; reloads < RELOADS && stalls < MAX_STALLS; ) {
      changes++;
      await registerInstance(stack.client, `spin-${changes}`, `spin-${changes}`, spinPort);
      if (changes > 1) await deregisterService(stack.client, `spin-${changes - 1}`);
      const deadline = Date.now() + RELOAD_WAIT_MS;
      let now = reloads;
      while ((now = await procs.reloadsNow()) === reloads && Date.now() < deadline) await sleep(10);
      if (now === reloads) stalls++;
      reloads = now;
    }
    const reloadsMs = Date.now() - started;
    await sleep(1000);
    const summary = await procs.stop();
    const result = await load.stop();
    const idleResult = await idle.stop();
    const ipx = result.vias.ipx!;
    const pooled = idleResult.vias.ipx!;
    const applies = summarizeApplies(stack.ipx.applies.slice(appliesBefore));
    const data = { benchmark: 'reloads', at: new Date().toISOString(), provenance: origin, reloadsAsked: RELOADS, changes, stalls, reloadsMs, procs: summary, applies, load: result, idleLoad: idleResult };
    const file = await saveResults(REPO_ROOT, 'reloads', data);
    if (args.json) {
      console.log(JSON.stringify(data, null, 2));
    } else {
      const rate = achievedRate(ipx, result.durationMs);
      console.log(
        [
          `ipx reloads under load: ${RELOADS} structural reloads, each from a Consul change (a new service registered, the previous one deregistered) waited for on the master's reload counter`,
          `load: ${LOAD_RATE}/s paced, ${CLIENTS} keep-alive + ${CLIENTS} new-connection clients, over ${SERVICES.length} services × 2 instances`,
          '',
          table([
            ['reloads (master show proc)', `${summary.reloads} in ${(reloadsMs / 1000).toFixed(1)} s, from ${changes} Consul changes${summary.failedAtEnd ? `; ${summary.failedAtEnd} failed` : ''}`],
            ...(stalls ? [['changes never seen as a reload', `${stalls} (waited ${RELOAD_WAIT_MS / 1000} s each)`]] : []),
            ...Object.entries(applies.byAction).map(([action, d]) => [`ipx ${action} applies, ms p50/p95/p99${action === 'reload' ? ' (incl. reloadFloor wait)' : ''}`, formatDistribution(d)]),
            ['requests sent', `${ipx.requests} (${ipx.keepAlive} keep-alive, ${ipx.fresh} new conn.); ${rate.perSecond}/s, slowest second ${rate.slowestSecond}`],
            ['non-2xx', formatCounts(non2xx(ipx.statuses))],
            ['connection errors', formatCounts(ipx.errors)],
            ['request latency p50/p99/max ms', `${ipx.latencyMs.p50}/${ipx.latencyMs.p99}/${ipx.latencyMs.max}`],
            [
              `pooled clients (${IDLE_CLIENTS} keep-alive, 1 request per ${IDLE_EVERY_MS / 1000} s)`,
              `${pooled.requests} requests, non-2xx ${formatCounts(non2xx(pooled.statuses))}, errors ${formatCounts(pooled.errors)}`,
            ],
            [`old workers 1 s after the last reload (target ≤ ${OLD_WORKERS_TARGET})`, `${summary.oldWorkersAtEnd}${summary.oldWorkersAtEnd > OLD_WORKERS_TARGET ? '  ← over target' : ''}`],
            ['old workers, most seen at once', `${summary.maxOldWorkers} (${summary.samples} samples of show proc)`],
          ]),
          '',
          `ipx: in-process daemon, watch.waitMin 20ms, waitMax 200ms, every other setting default (haproxy: ${describeHaproxySettings(stack.ipx)})`,
          describeProvenance(origin),
        ].join('\n'),
      );
    }
    console.error(`bench: results written to ${file}`);
  } finally {
    if (args.keep) console.error(`bench: kept ${stack.dir} (ipx.log, consul.log, haproxy configs)`);
    await stack.stop({ keepDir: args.keep });
  }
}

await runBenchmark(main);

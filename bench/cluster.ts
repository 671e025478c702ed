/**
 * npm run bench:cluster — the leader of a real Consul cluster (3 servers and a
 * client agent on loopback, Consul's production raft timers) killed with SIGKILL
 * while ipx watches the client agent, a load runs through HAProxy and instances
 * come and go. Each run starts a fresh cluster and ipx: how long until a new
 * leader, until ipx applies a change made after the election, and how many
 * requests went through HAProxy meanwhile and how many failed.
 *
 *   node --import tsx bench/cluster.ts [--runs 5] [--json]
 */
import { parseArgs } from 'node:util';
import { runLeaderStop, startClusterStack, type LeaderStopResult } from '../test/helpers/leader-stop.ts';
import { describeProvenance, distribution, formatCounts, formatDistribution, provenance, saveResults, table } from './lib/report.ts';
import { REPO_ROOT, runBenchmark } from './lib/stack.ts';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    json: { type: 'boolean', default: false },
  },
});
const runs = Number(args.runs);

async function main(): Promise<void> {
  const results: LeaderStopResult[] = [];
  for (let i = 0; i < runs; i++) {
    const stack = await startClusterStack('bench-cluster');
    try {
      results.push(await runLeaderStop(stack, { churnBeforeMs: 3_000, churnAfterMs: 2_000, timeoutMs: 60_000 }));
    } finally {
      await stack.stop();
    }
  }
  const about = provenance(REPO_ROOT);
  const file = await saveResults(REPO_ROOT, 'cluster', { provenance: about, results });
  if (args.json) {
    console.log(JSON.stringify({ provenance: about, results }, null, 2));
    return;
  }
  const failed = (r: LeaderStopResult) => r.load.errorCount + r.load.non2xx + r.probeFailures;
  const rows = results.map((r, i) => [
    `${i + 1}`,
    `${r.electionMs} ms`,
    `${r.appliedMs} ms`,
    `${r.changeMs} ms (${r.catalogMs} ms)`,
    `${r.load.requests + r.probeRequests} / ${failed(r)}`,
    `${r.load.durationMs} ms`,
    `${r.steps}`,
    `${r.consulErrors}${r.viaLeader ? ' (reads via the leader)' : ''}`,
    r.status.some((s) => s.stale) ? `stale in ${r.status.filter((s) => s.stale).length} of ${r.status.length}` : `fresh in all ${r.status.length}`,
  ]);
  const of = (pick: (r: LeaderStopResult) => number) => formatDistribution(distribution(results.map(pick)), ' ms');
  console.log(table([
    ['run', 'kill → new leader', 'kill → change served', 'change: registered → served (in catalog)', 'requests / failed', 'load window', 'churn steps', 'ipx\'s failed Consul reads', 'ipx /status samples'],
    ...rows,
  ]));
  console.log(`kill → new leader p50/p95/p99: ${of((r) => r.electionMs)}; kill → change served: ${of((r) => r.appliedMs)}`);
  console.log(`failed requests over every run: ${formatCounts({ failed: results.reduce((n, r) => n + failed(r), 0) })}`);
  console.log(`${describeProvenance(about)}; figures in ${file}`);
}

await runBenchmark(main);

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLeaderStop, startClusterStack, type ClusterStack } from '../helpers/leader-stop.ts';

describe('a real Consul cluster (3 servers, a client agent) with ipx watching the client agent', () => {
  let stack: ClusterStack | undefined;

  beforeAll(async () => {
    stack = await startClusterStack('cluster');
  }, 45_000);

  afterAll(async () => {
    await stack?.stop();
  }, 30_000);

  it('the leader killed under instance churn: no request lost through HAProxy, a new leader, and ipx applies the next change', async () => {
    if (!stack) throw new Error('the cluster did not start');
    const result = await runLeaderStop(stack, { churnBeforeMs: 2_000, churnAfterMs: 1_500, timeoutMs: 20_000 });
    const { load } = result;
    console.log(
      [
        `leader ${result.stopped} killed (SIGKILL; the client agent had a connection to it: ${result.viaLeader}); ${result.elected} elected after ${result.electionMs} ms`,
        `an instance registered after the election served through HAProxy ${result.appliedMs} ms after the kill (${result.changeMs} ms after its registration, in the catalog after ${result.catalogMs} ms)`,
        `churn: ${result.steps} steps (${result.churnErrors} failed calls); load: ${load.requests} requests in ${load.durationMs} ms, statuses ${JSON.stringify(load.statuses)}, errors ${JSON.stringify(load.errors)}`,
        `ipx: ${result.consulErrors} failed Consul reads from the kill to the change served; /status meanwhile: ${JSON.stringify(result.status.filter((s) => s.stale || s.lastError))}`,
      ].join('\n'),
    );
    expect(result.elected).not.toBe(result.stopped);
    expect(load.errorCount).toBe(0);
    expect(load.non2xx).toBe(0);
    expect(result.probeFailures).toBe(0);
    expect(load.requests).toBeGreaterThan(100);
    // Instances came and went on both sides of the kill, and traffic reached many of them.
    expect(result.steps).toBeGreaterThan(4);
    expect(Object.keys(load.bodies).length).toBeGreaterThan(4);
    // Generous bounds, not targets (npm run bench:cluster measures): with Consul's
    // production timers an election takes a few seconds.
    expect(result.electionMs).toBeLessThan(15_000);
    expect(result.appliedMs).toBeLessThan(20_000);
    expect(result.appliedMs).toBeGreaterThanOrEqual(result.electionMs);
    // Reads that failed while the servers changed are reported as the servers' trouble, not
    // blamed on ipx's address or on the agent's connection limit.
    for (const sample of result.status) expect(sample.lastError ?? '').not.toMatch(/CONSUL_HTTP_ADDR|http_max_conns_per_client/);
  }, 60_000);
});

/**
 * The node scan against a fake client: triggers during a scan coalesce into one
 * more scan, a failed scan is retried with backoff and never reported as data,
 * and no more than two node reads are in flight.
 */
import pLimit from 'p-limit';
import { describe, expect, it } from 'vitest';
import { DEFAULT_VIEW_TIMING, REAL_EFFECTS } from '../../src/consul/blocking-view.ts';
import type { InstanceSignal } from '../../src/consul/change-signals.ts';
import type { ConsulClient, ReadResult } from '../../src/consul/client.ts';
import { createNodeScan } from '../../src/consul/node-scan.ts';
import { ConsulError } from '../../src/errors.ts';
import { waitUntil } from '../helpers/consul.ts';

function fakeClient(nodes: number) {
  const state = { index: 1, failing: false, inFlight: 0, peak: 0, nodeReads: 0, release: [] as Array<() => void>, hold: false };
  const answer = (body: unknown): ReadResult => ({ body, index: String(state.index) });
  const client = {
    catalogNodes: async () => {
      if (state.failing) throw new ConsulError('consul: GET /v1/catalog/nodes failed (fake outage)');
      return answer(Array.from({ length: nodes }, (_, i) => ({ Node: `n${i}` })));
    },
    catalogNode: async (node: string) => {
      state.nodeReads += 1;
      state.inFlight += 1;
      state.peak = Math.max(state.peak, state.inFlight);
      if (state.hold) await new Promise<void>((resolve) => state.release.push(resolve));
      await new Promise((resolve) => setTimeout(resolve, 2));
      state.inFlight -= 1;
      return answer({ Node: { Node: node }, Services: { [`web-${node}`]: { ID: `web-${node}`, Service: 'web', ModifyIndex: state.index } } });
    },
  } as unknown as ConsulClient;
  return { client, state };
}

function scanWith(client: ConsulClient) {
  const scans: InstanceSignal[] = [];
  const errors: number[] = [];
  const scan = createNodeScan({
    client,
    limit: pLimit(13),
    signal: new AbortController().signal,
    timing: { ...DEFAULT_VIEW_TIMING, backoffBaseMs: 5, backoffMaxMs: 20, jitterMs: 0 },
    effects: REAL_EFFECTS,
    timeoutMs: 1000,
    onScan: (signal) => scans.push(signal),
    onSuccess: () => {},
    onError: (_error, attempt) => errors.push(attempt),
  });
  return { scan, scans, errors };
}

describe('createNodeScan', () => {
  it('reads every node with at most two reads in flight and sums up their instances', async () => {
    const { client, state } = fakeClient(10);
    const { scan, scans } = scanWith(client);
    scan.trigger();
    await scan.done();
    expect(scans).toHaveLength(1);
    expect(scans[0]?.services.get('web')?.keys.split('\n')).toHaveLength(10);
    expect(state.peak).toBeLessThanOrEqual(2);
  });

  it('coalesces triggers during a scan into one more scan', async () => {
    const { client, state } = fakeClient(2);
    state.hold = true;
    const { scan, scans } = scanWith(client);
    scan.trigger();
    await waitUntil(() => state.release.length > 0, 'a node read in flight');
    for (let i = 0; i < 5; i++) scan.trigger();
    state.hold = false;
    for (const release of state.release.splice(0)) release();
    await scan.done();
    expect(scans).toHaveLength(2);
  });

  it('retries a failed scan with backoff and reports no data from it', async () => {
    const { client, state } = fakeClient(2);
    state.failing = true;
    const { scan, scans, errors } = scanWith(client);
    scan.trigger();
    await waitUntil(() => errors.length >= 3, 'three failed scans');
    expect(errors.slice(0, 3)).toEqual([1, 2, 3]);
    expect(scans).toEqual([]);
    state.failing = false;
    await waitUntil(() => scans.length === 1, 'a scan once the agent answers');
    await scan.done();
  });
});

/**
 * The watcher's list of services: the catalog's, or the node views' while they
 * follow every node, with the node list watched instead; back to the catalog's
 * (and a scan at its next index) when the nodes no longer fit.
 */
import { describe, expect, it } from 'vitest';
import { createCatalogSource } from '../../src/consul/catalog-source.ts';
import type { NodeViews } from '../../src/consul/node-views.ts';
import type { Slot } from '../../src/consul/signal-slot.ts';

function harness() {
  const started: Array<{ key: string; stopped: boolean; onData: (data: readonly string[]) => void; onIndex?: (index: string) => void }> = [];
  const refreshed: boolean[] = [];
  const listed: Array<readonly string[]> = [];
  let fits = true;
  const views = { refresh: async (first: boolean) => void refreshed.push(first), follow: () => fits, slots: () => (fits ? [{}] : []) } as unknown as NodeViews;
  const source = createCatalogSource({
    start: (query, onData, onIndex) => {
      const entry = { key: query.key, stopped: false, onData, ...(onIndex ? { onIndex } : {}) };
      started.push(entry);
      // retire: the query's call in flight answers, then it ends.
      const end = async () => void (entry.stopped = true);
      return { key: query.key, done: Promise.resolve(), data: undefined, failures: 0, failingSince: undefined, stop: end, retire: end } as unknown as Slot<readonly string[]>;
    },
    views: () => views,
    onNames: (names) => void listed.push(names),
  });
  return { source, started, refreshed, listed, setFits: (value: boolean) => void (fits = value) };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('createCatalogSource', () => {
  it('lists from the catalog first, and has its indexes follow the nodes (the first without a scan)', () => {
    const t = harness();
    t.source.start();
    expect(t.source.listed()).toBe(false);
    expect(t.started.map((s) => s.key)).toEqual(['catalog.services']);
    t.started[0]!.onData(['web']);
    t.started[0]!.onIndex?.('5');
    t.started[0]!.onIndex?.('5');
    t.started[0]!.onIndex?.('6');
    expect(t.listed).toEqual([['web']]);
    expect(t.source.listed()).toBe(true);
    expect(t.refreshed).toEqual([true, false]);
  });

  it('takes the views\' list once they have one, watching the node list instead of the catalog\'s once its query has answered', async () => {
    const t = harness();
    t.source.start();
    t.source.fromViews(['api', 'web']);
    t.source.fromViews(['web']);
    expect(t.started.map((s) => s.key)).toEqual(['catalog.services']);
    await flush();
    expect(t.started.map((s) => [s.key, s.stopped])).toEqual([['catalog.services', true], ['catalog.nodes', false]]);
    expect(t.source.slot()?.key).toBe('catalog.nodes');
    expect(t.listed).toEqual([['api', 'web'], ['web']]);
  });

  it('keeps the catalog\'s list when the views stopped while its last call was answering', async () => {
    const t = harness();
    t.source.start();
    t.source.fromViews(['web']);
    // That call's index found more nodes than fit: the views stopped, and a scan follows its next index.
    t.setFits(false);
    await flush();
    expect(t.started.map((s) => [s.key, s.stopped])).toEqual([['catalog.services', true], ['catalog.services', false]]);
    expect(t.source.slot()?.key).toBe('catalog.services');
    t.started[1]!.onIndex?.('9');
    expect(t.refreshed).toEqual([false]);
  });

  it('goes back to the catalog\'s list when the nodes no longer fit, and scans at its next index', async () => {
    const t = harness();
    t.source.start();
    t.started[0]!.onIndex?.('5');
    t.source.fromViews(['web']);
    await flush();
    t.started[1]!.onData(['n1', 'n2']);
    expect(t.started[1]!.stopped).toBe(false);
    t.setFits(false);
    t.started[1]!.onData(Array.from({ length: 20 }, (_, i) => `n${i}`));
    await flush();
    expect(t.started.map((s) => [s.key, s.stopped])).toEqual([['catalog.services', true], ['catalog.nodes', true], ['catalog.services', false]]);
    t.started[2]!.onIndex?.('9');
    expect(t.refreshed).toEqual([true, false]);
  });
});

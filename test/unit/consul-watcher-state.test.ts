import { describe, expect, it } from 'vitest';
import { isBackwards, watcherState, type WatcherStateInput } from '../../src/consul/watcher-state.ts';

const base: WatcherStateInput = {
  running: true,
  basisRead: true,
  signals: [
    { key: 'catalog.services', answered: true, failingSince: undefined },
    { key: 'kv.recurse("ipx/")', answered: true, failingSince: undefined },
  ],
  scan: { key: 'catalog.node-scan', failingSince: undefined },
  records: [
    { name: 'web', data: { instances: [] } as never, failingSince: undefined },
    { name: 'api', data: { instances: [] } as never, failingSince: undefined },
  ],
  queuedReads: 0,
  lastSuccessAt: 5,
  lastError: undefined,
  indexes: ['7', '12', '9'],
};

describe('watcherState', () => {
  it('is ready and fresh when the basis and every service are read; counts views and the highest index', () => {
    expect(watcherState(base)).toMatchObject({ ready: true, stale: false, failing: [], services: 2, views: 4, viewsRead: 4, lastIndex: '12' });
  });

  it('is not ready while a service has no first answer, nor before the catalog and KV have answered', () => {
    const unread = { ...base, records: [...base.records as never[], { name: 'new', data: undefined, failingSince: undefined }] };
    expect(watcherState(unread)).toMatchObject({ ready: false, services: 3, viewsRead: 4 });
    expect(watcherState({ ...base, basisRead: false }).ready).toBe(false);
    expect(watcherState({ ...base, running: false }).ready).toBe(false);
  });

  it('is stale since the oldest failure, naming every failing read, sorted', () => {
    const failing = {
      ...base,
      signals: [{ key: 'kv.recurse("ipx/")', answered: true, failingSince: 30 }],
      scan: { key: 'catalog.node-scan', failingSince: 20 },
      records: [{ name: 'web', data: { instances: [] } as never, failingSince: 40 }],
    };
    expect(watcherState(failing)).toMatchObject({
      ready: true,
      stale: true,
      staleSince: 20,
      failing: ['catalog.node-scan', 'health.service("web")', 'kv.recurse("ipx/")'],
    });
  });

  it('counts a failing node view as failing, and says how registrations are followed', () => {
    const following = { by: 'scans', nodes: 100, maxConnectionsForViews: 106 } as const;
    const state = watcherState({ ...base, nodeViews: { slots: [{ key: 'catalog.node-services("n1")', failingSince: 50 }], following } });
    expect(state).toMatchObject({ stale: true, failing: ['catalog.node-services("n1")'], registrations: following });
    expect(watcherState(base)).not.toHaveProperty('registrations');
  });
});

describe('isBackwards', () => {
  it.each([
    ['10', '9', true],
    ['10', '10', false],
    ['10', '11', false],
    ['18446744073709551615', '1', true],
    ['', '1', false],
    ['x', '1', false],
  ])('%s → %s: %s', (previous, index, expected) => expect(isBackwards(previous, index)).toBe(expected));
});

import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { buildModel } from '../../src/model/index.ts';
import { formatSummaryLine, isEmptySummary, summarizeChange } from '../../src/daemon/change-summary.ts';
import { startFirstSyncProgress } from '../../src/daemon/first-sync-progress.ts';
import { restartOnlyChanges } from '../../src/daemon/restart-only.ts';
import { countEstablished } from '../../src/daemon/consul-connections.ts';
import { formatTable } from '../../src/cli/table.ts';
import { config, instance, service, snapshot } from '../helpers/model-fakes.ts';

const model = (...services: ReturnType<typeof service>[]) => buildModel({ snapshot: snapshot(...services), config: config() });
const a1 = instance({ id: 'a-1', address: '10.0.0.1', port: 80 });
const a2 = instance({ id: 'a-2', address: '10.0.0.2', port: 80 });

describe('summarizeChange', () => {
  it('names services, routes and servers added, removed and changed', () => {
    const before = model(service('a', [a1, a2]), service('gone', [a1]));
    const after = model(service('a', [{ ...a1, weight: 3 }]), service('new', [a2]));
    const summary = summarizeChange(before, after);
    expect(summary.services).toEqual({ added: ['new'], removed: ['gone'], changed: ['a'] });
    expect(summary.routes).toEqual({ added: ['new.service.internal → svc_new'], removed: ['gone.service.internal → svc_gone'], changed: [] });
    expect(summary.servers.changed).toEqual(['a/a-1 weight 1→3']);
    expect(summary.servers.removed).toEqual(['a/a-2 10.0.0.2:80', 'gone/a-1 10.0.0.1:80']);
    expect(summary.servers.added).toEqual(['new/a-2 10.0.0.2:80']);
    expect(formatSummaryLine(summary, 2)).toBe(
      'services +1 -1 ~1 (+new; -gone; 1 more), routes +1 -1 (+new.service.internal → svc_new; -gone.service.internal → svc_gone), servers +1 -2 ~1 (+new/a-2 10.0.0.2:80; -a/a-2 10.0.0.2:80; 2 more)',
    );
  });

  it('is empty for equal models and names changed global settings', () => {
    expect(isEmptySummary(summarizeChange(model(service('a', [a1])), model(service('a', [a1]))))).toBe(true);
    const other = buildModel({ snapshot: snapshot(), config: config({ haproxy: { maxconn: 3000 } }) });
    expect(summarizeChange(model(), other).global).toEqual(['maxconn']);
    expect(formatSummaryLine(summarizeChange(model(), other))).toBe('global maxconn');
  });
});

describe('restartOnlyChanges', () => {
  it('lets through what the model and templates read, and names what needs a restart', () => {
    const running = config();
    expect(restartOnlyChanges(running, config({ haproxy: { maxconn: 3000 }, routing: { domain: 'svc.example' }, templates: { dir: '/x' }, log: { level: 'debug' } }))).toEqual([]);
    expect(restartOnlyChanges(running, config({ consul: { wait: '7s' }, listen: { admin: '127.0.0.1:1' }, watch: { waitMin: '1s' } }))).toEqual(['consul.wait', 'listen.admin', 'watch.waitMin']);
  });
});

describe('first sync progress', () => {
  function run(tty: boolean) {
    const stream = Object.assign(new PassThrough(), { isTTY: tty });
    let text = '';
    stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
    let now = 0;
    let read = 10;
    const progress = startFirstSyncProgress({ state: () => ({ views: 1002, viewsRead: read, services: 1000 }), stream, intervalMs: 1, quietMs: 1000, now: () => now });
    return { progress, text: () => text, advance: (ms: number, views: number) => ((now += ms), (read = views)) };
  }

  it('stays quiet for a quick sync and prints how long it took', async () => {
    const r = run(false);
    await new Promise((resolve) => setTimeout(resolve, 20));
    r.advance(400, 1002);
    r.progress.done();
    expect(r.text()).toBe('consul: first sync done: 1000 services (1002 views) read in 0.4 s\n');
  });

  it('redraws one line on a terminal during a long sync', async () => {
    const r = run(true);
    r.advance(1500, 300);
    await new Promise((resolve) => setTimeout(resolve, 20));
    r.advance(500, 1002);
    r.progress.done();
    expect(r.text()).toBe('\r\x1b[Kconsul: first sync: 300 of 1002 views read\r\x1b[Kconsul: first sync done: 1000 services (1002 views) read in 2.0 s\n');
  });
});

describe('countEstablished', () => {
  const table = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:A1B2 0100007F:2134 01 00000000:00000000 00:00000000 00000000     0        0 111 1',
    '   1: 0100007F:A1B3 0100007F:2134 01 00000000:00000000 00:00000000 00000000     0        0 222 1',
    '   2: 0100007F:A1B4 0100007F:2134 06 00000000:00000000 00:00000000 00000000     0        0 333 1',
    '   3: 0100007F:A1B5 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 444 1',
  ].join('\n');
  it('counts this process\'s established sockets to the port', () => {
    expect(countEstablished(table, 0x2134, new Set(['111', '333', '444']))).toBe(1);
    expect(countEstablished(table, 0x2134, new Set(['111', '222']))).toBe(2);
  });
});

describe('formatTable', () => {
  it('pads columns to the widest cell', () => {
    expect(formatTable(['A', 'BB', 'C'], [['xxx', 'y', 'z'], ['', 'long', '']])).toEqual(['A    BB    C', 'xxx  y     z', '     long']);
  });
});

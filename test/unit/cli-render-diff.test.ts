import { describe, expect, it } from 'vitest';
import { formatDiffSummary, unifiedDiff } from '../../src/cli/render-diff.ts';
import { summarizeChange } from '../../src/daemon/change-summary.ts';
import { buildModel } from '../../src/model/index.ts';
import { config, instance, service, snapshot } from '../helpers/model-fakes.ts';

describe('unifiedDiff', () => {
  const live = { label: '/run', files: { 'haproxy.cfg': 'global\n    maxconn 100\nuse hosts-aaaaaaaaaaaa.map\n', 'hosts-aaaaaaaaaaaa.map': 'a.internal svc_a\n' } };

  it('pairs the host map with the next one even though its name (a content hash) changed', () => {
    const next = { 'haproxy.cfg': 'global\n    maxconn 100\nuse hosts-bbbbbbbbbbbb.map\n', 'hosts-bbbbbbbbbbbb.map': 'a.internal svc_a\nb.internal svc_b\n' };
    expect(unifiedDiff(live, next)).toBe(
      [
        '--- live/haproxy.cfg',
        '+++ next/haproxy.cfg',
        '@@ -1,3 +1,3 @@',
        ' global',
        '     maxconn 100',
        '-use hosts-aaaaaaaaaaaa.map',
        '+use hosts-bbbbbbbbbbbb.map',
        '--- live/hosts-aaaaaaaaaaaa.map',
        '+++ next/hosts-bbbbbbbbbbbb.map',
        '@@ -1,1 +1,2 @@',
        ' a.internal svc_a',
        '+b.internal svc_b',
        '',
      ].join('\n'),
    );
  });

  it('is empty for the same files, and compares only the main file with a single given file', () => {
    expect(unifiedDiff(live, live.files)).toBe('');
    const given = { label: 'x.cfg', files: { 'haproxy.cfg': live.files['haproxy.cfg'] } };
    expect(unifiedDiff(given, { ...live.files, 'hosts-cccccccccccc.map': 'other\n' })).toBe('');
  });
});

describe('formatDiffSummary', () => {
  const model = (weight: number) => buildModel({ snapshot: snapshot(service('a', [instance({ id: 'a-1', address: '10.0.0.1', port: 80, weight })])), config: config() });

  it('lists what changes and names the runtime operations', () => {
    const text = formatDiffSummary(summarizeChange(model(1), model(2)), { kind: 'runtime', ops: [{ kind: 'weight', backend: 'svc_a', server: 'a-1', weight: 2 }] });
    expect(text).toBe('summary: services ~1, servers ~1\n  services changed: a\n  servers changed: a/a-1 weight 1→2\napply: runtime API, no reload (1 operations: weight 1)\n');
  });

  it('says why the summary is unknown and a reload is the only way without a model', () => {
    expect(formatDiffSummary(undefined, { kind: 'reload', reasons: ['HAProxy is not running'] }, 'no ipx watch answers')).toBe(
      'summary: services, routes and servers unknown: no ipx watch answers\napply: seamless reload (HAProxy is not running)\n',
    );
  });
});

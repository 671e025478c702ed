import { describe, expect, it } from 'vitest';
import { formatTargets, scaleTargets, type TargetRow } from '../../bench/lib/scale-targets.ts';

const quick = { n: 12, p50: 40, p99: 90 };
const row: TargetRow = {
  approach: 'ipx',
  services: 5000,
  instances: 10,
  syncMs: 6900,
  modelRenderMs: 447,
  rssMb: 291,
  propagation: { first: { ...quick, missed: 0 }, middle: { ...quick, missed: 0 }, last: { ...quick, missed: 0 } },
  bySteps: { added: quick, removed: quick, critical: quick, passing: quick },
  peakConnections: 17,
  maxConnections: 18,
};

describe('bench:scale targets', () => {
  it('meets every target when every figure is within its limit', () => {
    const checks = scaleTargets(row);
    expect(checks.every((c) => c.met)).toBe(true);
    expect(formatTargets(checks)).toBe(`Targets: ${checks.length} of ${checks.length} met`);
  });

  it('names each target a row misses, with its figure and limit', () => {
    const slow: TargetRow = { ...row, rssMb: 309, bySteps: { ...row.bySteps, added: { n: 12, p50: 137, p99: 232 } }, peakConnections: 19 };
    const text = formatTargets(scaleTargets(slow));
    expect(text).toContain('missed:');
    expect(text).toContain('ipx 5000×10: peak RSS 309 MB > 300 MB');
    expect(text).toContain('ipx 5000×10: instance added, p50 137 ms > 100 ms');
    expect(text).toContain('ipx 5000×10: connections 19 > 18');
    expect(text).not.toContain('instance removed');
  });

  it('counts a sync that never finished and a change never seen as missed', () => {
    const never: TargetRow = { ...row, syncMs: undefined, propagation: { ...row.propagation, middle: { ...quick, missed: 1 } } };
    const missed = scaleTargets(never).filter((c) => !c.met).map((c) => c.what);
    expect(missed).toEqual(['sync', 'change to the middle service, p99']);
  });

  it('holds the one-query-per-service baseline to nothing', () => {
    expect(scaleTargets({ ...row, approach: 'per-service', maxConnections: undefined })).toEqual([]);
  });
});

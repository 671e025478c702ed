/**
 * Pure: bench:scale's rows against the targets it is held to, so that the printed table says which
 * target a row misses instead of leaving it to whoever reads the figures. The targets: every service
 * routable within 10 s of the start, model + render within 1 s, peak RSS within 300 MB, and a change
 * (by position in the catalog and by kind) reaching HAProxy within 100 ms p50 and 1 s p99, with the
 * connections to the agent within consul.maxConnections. Rows of the one-query-per-service peer are
 * the baseline, not held to them.
 */
import type { Distribution } from './report.ts';

export interface TargetRow {
  readonly approach: string;
  readonly services: number;
  readonly instances: number;
  readonly syncMs?: number;
  readonly modelRenderMs?: number;
  readonly rssMb?: number;
  readonly propagation?: Readonly<Record<string, Distribution & { readonly missed: number }>>;
  readonly bySteps?: Readonly<Record<string, Distribution>>;
  readonly peakConnections: number;
  readonly maxConnections?: number;
}

export interface TargetCheck {
  readonly row: string;
  readonly what: string;
  /** undefined: never measured (a sync that never finished, a change never seen), which misses. */
  readonly value: number | undefined;
  readonly limit: number;
  readonly unit: string;
  readonly met: boolean;
}

export const TARGETS = { syncMs: 10_000, modelRenderMs: 1_000, rssMb: 300, p50Ms: 100, p99Ms: 1_000 } as const;

export function scaleTargets(row: TargetRow): TargetCheck[] {
  if (row.maxConnections === undefined) return [];
  const name = `${row.approach} ${row.services}×${row.instances}`;
  const checks: TargetCheck[] = [];
  const add = (what: string, value: number | undefined, limit: number, unit: string) =>
    checks.push({ row: name, what, value, limit, unit, met: value !== undefined && value <= limit });
  add('sync', row.syncMs, TARGETS.syncMs, 'ms');
  add('model + render', row.modelRenderMs, TARGETS.modelRenderMs, 'ms');
  add('peak RSS', row.rssMb, TARGETS.rssMb, 'MB');
  const changes = [
    ...Object.entries(row.propagation ?? {}).map(([position, d]) => [`change to the ${position} service`, d, d.missed] as const),
    ...Object.entries(row.bySteps ?? {}).map(([kind, d]) => [`${kind === 'added' || kind === 'removed' ? 'instance' : 'check'} ${kind}`, d, 0] as const),
  ];
  for (const [what, d, missed] of changes) {
    add(`${what}, p50`, d.p50, TARGETS.p50Ms, 'ms');
    // A change never seen within the window counts against p99 even when the others were quick.
    add(`${what}, p99`, missed > 0 ? undefined : d.p99, TARGETS.p99Ms, 'ms');
  }
  add('connections', row.peakConnections, row.maxConnections, '');
  return checks;
}

export function formatTargets(checks: readonly TargetCheck[]): string {
  const missed = checks.filter((c) => !c.met);
  const head = `Targets: ${checks.length - missed.length} of ${checks.length} met`;
  if (missed.length === 0) return head;
  const shown = (c: TargetCheck) => (c.value === undefined ? 'not measured' : `${c.value}${c.unit ? ` ${c.unit}` : ''}`);
  return [`${head}; missed:`, ...missed.map((c) => `  ${c.row}: ${c.what} ${shown(c)} > ${c.limit}${c.unit ? ` ${c.unit}` : ''}`)].join('\n');
}

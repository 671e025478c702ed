/** Propagation times of one kind of change through one proxy, from the churn's records. */
import type { Change, ChangeKind } from './churn-driver.ts';
import { distribution, formatDistribution, type Distribution } from './report.ts';

export interface Propagation extends Distribution {
  /** Changes with no measurement for this proxy, by reason. */
  readonly unobserved: Record<string, number>;
  /** Requests that reached an instance after its removal, and more than LATE_AFTER_MS after it. */
  readonly afterRemoval: number;
  readonly late: number;
}

export function propagation(changes: readonly Change[], kind: ChangeKind, via: string): Propagation {
  const ofKind = changes.filter((c) => c.kind === kind);
  const unobserved: Record<string, number> = {};
  for (const c of ofKind) {
    const reason = c.unobserved[via]?.replace(/after [\d.]+ s/, 'when the window closed');
    if (reason && c.latencyMs[via] === undefined) unobserved[reason] = (unobserved[reason] ?? 0) + 1;
  }
  return {
    ...distribution(ofKind.flatMap((c) => (c.latencyMs[via] === undefined ? [] : [c.latencyMs[via]]))),
    unobserved,
    afterRemoval: ofKind.reduce((total, c) => total + (c.afterRemoval[via] ?? 0), 0),
    late: ofKind.reduce((total, c) => total + (c.late[via] ?? 0), 0),
  };
}

export function formatPropagation(p: Propagation): string {
  const missing = Object.entries(p.unobserved).map(([reason, n]) => `${n} ${reason}`);
  return [formatDistribution(p), ...missing].join('; ');
}

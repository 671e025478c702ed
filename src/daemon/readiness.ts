import type { WatcherState } from '../consul/index.ts';
import type { Readiness } from './admin-server.ts';
import type { LoopState } from './apply-loop.ts';

/**
 * Pure. Ready once this process has read Consul and applied a configuration
 * from it, and while the last apply succeeded. A Consul outage after that, or
 * a held drop, is reported in `warnings` but keeps the pair ready: every ipx
 * pair sees the same outage, and taking all of them out of rotation would
 * turn a Consul problem into a traffic outage.
 */
export function readiness(consul: WatcherState, loop: LoopState, haproxyRunning: boolean): Readiness {
  const reasons: string[] = [];
  const warnings: string[] = [];
  // Judged by what was applied, not by consul.ready: that turns false for a moment whenever a
  // new service appears (its health not read yet), and readiness must not flap with it.
  if (!loop.applied) {
    if (!consul.ready) reasons.push(consul.lastError ? `consul not read yet: ${consul.lastError.message}` : 'consul not read yet');
    else reasons.push('no configuration applied from Consul yet');
  }
  if (loop.lastFailure) reasons.push(`last apply failed at ${loop.lastFailure.at}: ${loop.lastFailure.message}`);
  if (!haproxyRunning) reasons.push('haproxy is not running');
  if (loop.applied && consul.stale) {
    warnings.push(`consul data stale since ${new Date(consul.staleSince ?? 0).toISOString()}: ${consul.lastError?.message ?? 'unknown error'}`);
  }
  if (loop.guard.held) {
    warnings.push(`guard: holding back a change that removes ${loop.guard.dropped} of ${loop.guard.total} instances until ${loop.guard.releaseAt}; ipx confirm applies it now`);
  }
  return { ready: reasons.length === 0, reasons, warnings };
}

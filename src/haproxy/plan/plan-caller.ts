import { callerMapEntries } from '../../render/caller-maps.ts';
import type { Model } from '../../model/types.ts';

/** Policy keys whose change only rewrites caller maps (the rules read their values from them). */
export const CALLER_RUNTIME_KEYS = ['auth.required', 'access.allow', 'rateLimit.perCaller', 'rateLimit.total', 'rateLimit.bytesPerCaller'] as const;

export interface MapReplaceOp {
  readonly kind: 'replace-map';
  readonly map: string;
  readonly entries: readonly (readonly [string, string])[];
}

/**
 * Pure: what the caller features need to go from `applied` to `next`. New
 * rules (a feature on, a new tracker unit, a JWT setting) reload; new values
 * (API keys, allow lists, limits) replace the maps whose lines changed.
 */
export function planCaller(applied: Model, next: Model): { readonly reasons: readonly string[]; readonly ops: readonly MapReplaceOp[] } {
  if (JSON.stringify(applied.caller.rules) !== JSON.stringify(next.caller.rules)) return { reasons: ['caller rules (identity, access or rate-limit kinds) changed'], ops: [] };
  if (!next.caller.rules.enabled) return { reasons: [], ops: [] };
  const before = callerMapEntries(applied.caller);
  const ops: MapReplaceOp[] = [];
  for (const [map, entries] of Object.entries(callerMapEntries(next.caller))) {
    if (JSON.stringify(before[map]) !== JSON.stringify(entries)) ops.push({ kind: 'replace-map', map, entries });
  }
  return { reasons: [], ops };
}

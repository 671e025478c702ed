import { compareStrings } from '../../compare.ts';
import { isPolicyGroup, type PolicyDocument } from './schema.ts';
import type { PolicyLayer } from './parse-layer.ts';

/** Every value a service runs with. Groups are always present; optional keys are absent when no layer sets them. */
export interface EffectivePolicy extends Omit<PolicyDocument, 'balance' | 'timeouts' | 'retries' | 'healthCheck' | 'protocol'> {
  readonly balance: string;
  readonly timeouts: { readonly connect: number; readonly server: number; readonly queue: number };
  readonly retries: { readonly attempts: number; readonly on: readonly string[] };
  readonly healthCheck: { readonly path?: string; readonly interval: number; readonly rise: number; readonly fall: number };
  readonly protocol: NonNullable<PolicyDocument['protocol']>;
}

/** Dotted key (`timeouts.server`, `balance`) → the layer its effective value came from. */
export type PolicyOrigins = Readonly<Record<string, PolicyLayer>>;

export interface MergedPolicy {
  readonly policy: EffectivePolicy;
  readonly origins: PolicyOrigins;
}

/**
 * Key by key, later layers win: a group's sub-keys merge one by one, every
 * other key (lists and maps included) is replaced whole. `layers` come lowest
 * first and the first one (built-in) must set every required key.
 */
export function mergeLayers(layers: readonly { readonly layer: PolicyLayer; readonly document: PolicyDocument }[]): MergedPolicy {
  const merged: Record<string, unknown> = {};
  const origins: Record<string, PolicyLayer> = {};
  for (const { layer, document } of layers) {
    for (const [key, value] of Object.entries(document)) {
      if (value === undefined) continue;
      if (isPolicyGroup(key)) {
        const group = (merged[key] ??= {}) as Record<string, unknown>;
        for (const [sub, subValue] of Object.entries(value as Record<string, unknown>)) {
          if (subValue === undefined) continue;
          group[sub] = subValue;
          origins[`${key}.${sub}`] = layer;
        }
      } else {
        merged[key] = value;
        origins[key] = layer;
      }
    }
  }
  const sorted: Record<string, PolicyLayer> = {};
  for (const key of Object.keys(origins).sort(compareStrings)) sorted[key] = origins[key] as PolicyLayer;
  return { policy: merged as unknown as EffectivePolicy, origins: sorted };
}

/** The effective policy as dotted key → value, sorted by key: what `ipx explain` lists. */
export function flattenPolicy(policy: EffectivePolicy): [string, unknown][] {
  const rows: [string, unknown][] = [];
  for (const [key, value] of Object.entries(policy)) {
    if (isPolicyGroup(key)) for (const [sub, subValue] of Object.entries(value as Record<string, unknown>)) rows.push([`${key}.${sub}`, subValue]);
    else rows.push([key, value]);
  }
  return rows.sort(([a], [b]) => compareStrings(a, b));
}

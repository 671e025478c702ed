/**
 * Layer 4: `ipx-*` meta on a service's instances, turned into a policy
 * document. Meta is per instance but these keys are per service, so when the
 * instances disagree one rule picks the value: the one held by the most
 * instances that set the key; a tie goes to the lowest value in code-unit
 * order. Instances without the key do not vote. The disagreement is reported.
 */
import { compareStrings } from '../../compare.ts';
import { quoteForLog } from '../rejections.ts';
import type { InstanceEntry } from '../../consul/snapshot.ts';

/** Service-level meta keys and the document each value becomes. `ipx-version` is per instance (versions.ts). */
export const META_KEYS: Readonly<Record<string, (value: string) => Record<string, unknown>>> = {
  'ipx-balance': (v) => ({ balance: v }),
  'ipx-timeout': (v) => ({ timeouts: { server: v } }),
  'ipx-connect-timeout': (v) => ({ timeouts: { connect: v } }),
  'ipx-retries': (v) => ({ retries: { attempts: v } }),
  'ipx-health-path': (v) => ({ healthCheck: { path: v } }),
  'ipx-max-conns': (v) => ({ circuitBreaker: { maxConnsPerInstance: v } }),
  'ipx-protocol': (v) => ({ protocol: v }),
  'ipx-tcp-port': (v) => ({ tcpPort: v }),
  'ipx-rate-limit': (v) => ({ rateLimit: { perCaller: v } }),
  'ipx-auth': (v) => ({ auth: { required: v } }),
  'ipx-allow': (v) => ({ access: { allow: v.split(',').map((part) => part.trim()) } }),
};

/** Read together into one `routes` entry. */
const PATH_PREFIX_KEY = 'ipx-path-prefix';
const STRIP_PREFIX_KEY = 'ipx-strip-prefix';

/** Which document key each meta key feeds, for reports (`ipx-timeout` → `timeouts.server`). */
export const META_KEY_TARGETS: Readonly<Record<string, string>> = {
  'ipx-balance': 'balance',
  'ipx-timeout': 'timeouts.server',
  'ipx-connect-timeout': 'timeouts.connect',
  'ipx-retries': 'retries.attempts',
  'ipx-health-path': 'healthCheck.path',
  'ipx-max-conns': 'circuitBreaker.maxConnsPerInstance',
  'ipx-protocol': 'protocol',
  'ipx-tcp-port': 'tcpPort',
  'ipx-rate-limit': 'rateLimit.perCaller',
  'ipx-auth': 'auth.required',
  'ipx-allow': 'access.allow',
  [PATH_PREFIX_KEY]: 'routes',
  [STRIP_PREFIX_KEY]: 'routes',
};

export interface MetaDocument {
  /** A policy document in input form, to be parsed like any layer. */
  readonly document: Record<string, unknown>;
  /** One line per meta key the instances disagree on. */
  readonly disagreements: readonly { readonly key: string; readonly reason: string }[];
}

/** Pure; the same instances in any order give the same document. */
export function metaDocument(instances: readonly InstanceEntry[]): MetaDocument {
  const document: Record<string, unknown> = {};
  const disagreements: { key: string; reason: string }[] = [];
  const pick = (key: string): string | undefined => {
    const chosen = chooseValue(instances, key);
    if (chosen?.disagreement) disagreements.push({ key, reason: chosen.disagreement });
    return chosen?.value;
  };
  for (const key of Object.keys(META_KEYS).sort(compareStrings)) {
    const value = pick(key);
    if (value !== undefined) mergeInto(document, (META_KEYS[key] as (v: string) => Record<string, unknown>)(value));
  }
  const prefix = pick(PATH_PREFIX_KEY);
  const strip = pick(STRIP_PREFIX_KEY);
  if (prefix !== undefined) {
    const route: Record<string, unknown> = { pathPrefix: prefix };
    if (strip !== undefined) route.stripPrefix = strip === 'true' ? true : strip === 'false' ? false : strip;
    document.routes = [route];
  }
  return { document, disagreements };
}

interface Chosen {
  readonly value: string;
  readonly disagreement?: string;
}

/** Most instances win; a tie goes to the lowest value. */
export function chooseValue(instances: readonly InstanceEntry[], key: string): Chosen | undefined {
  const votes = new Map<string, number>();
  for (const instance of instances) {
    const value = Object.hasOwn(instance.meta, key) ? instance.meta[key] : undefined;
    if (value !== undefined) votes.set(value, (votes.get(value) ?? 0) + 1);
  }
  if (votes.size === 0) return undefined;
  const ranked = [...votes.entries()].sort(([va, ca], [vb, cb]) => cb - ca || compareStrings(va, vb));
  const [value, count] = ranked[0] as [string, number];
  if (ranked.length === 1) return { value };
  const others = ranked.slice(1, 4).map(([v, c]) => `${quoteForLog(v)} on ${c}`).join(', ');
  const more = ranked.length > 4 ? ` and ${ranked.length - 4} more values` : '';
  return {
    value,
    disagreement: `instances disagree on ${key}: using ${quoteForLog(value)} (on ${count} of them) over ${others}${more}; the value held by most instances wins, a tie goes to the lowest; register every instance with the same value`,
  };
}

function mergeInto(target: Record<string, unknown>, part: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(part)) {
    const existing = target[key];
    if (typeof existing === 'object' && existing !== null && !Array.isArray(existing) && typeof value === 'object' && value !== null && !Array.isArray(value)) {
      Object.assign(existing, value);
    } else {
      target[key] = value;
    }
  }
}

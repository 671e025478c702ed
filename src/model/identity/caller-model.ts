import { compareStrings } from '../../compare.ts';
import { apiKeyEntries } from './api-keys.ts';
import { intentionLines } from './intentions.ts';
import { sourceAddressLines } from './source-addresses.ts';
import { parseByteRate, parseRate, UNIT_SECONDS, type RateUnit } from './rates.ts';
import type { CallerModel, CallerRules, JwtModel } from './types.ts';
import type { Config } from '../../config/schema.ts';
import type { IntentionEntry } from '../../consul/intentions.ts';
import type { KvEntry, ServiceEntry } from '../../consul/snapshot.ts';
import type { EffectivePolicy } from '../policy/merge.ts';
import type { Rejection } from '../types.ts';

export type CallerConfig = Pick<Config, 'identity' | 'access' | 'rateLimit'> & { readonly consul: Pick<Config['consul'], 'kvPrefix'> };

export interface CallerService {
  readonly name: string;
  readonly backend: string;
  readonly policy: EffectivePolicy;
}

/** Per-service settings as policy-map lines; `units` collects the tracker tables they need. */
function serviceLines(service: CallerService, accessDefault: 'allow' | 'deny', units: { perCaller: Set<string>; total: Set<RateUnit> }) {
  const b = service.backend;
  const { auth, access, rateLimit } = service.policy;
  const policy: [string, string][] = [];
  const limits: [string, string][] = [];
  const allowed: string[] = [];
  if (auth?.required === true) policy.push([`${b}/auth`, '1']);
  if (access?.allow !== undefined || accessDefault === 'deny') {
    policy.push([`${b}/access`, '1']);
    for (const caller of access?.allow ?? []) allowed.push(`${b}/${caller}`);
  }
  const requests = parseRate(rateLimit?.perCaller);
  const bytes = parseByteRate(rateLimit?.bytesPerCaller);
  if (requests || bytes) {
    const combo = `${requests?.unit ?? bytes?.unit}${bytes?.unit ?? requests?.unit}`;
    units.perCaller.add(combo);
    policy.push([`${b}/pcu`, combo]);
    if (requests) limits.push([`${b}/pc`, String(requests.count)], [`${b}/pcra`, String(UNIT_SECONDS[requests.unit])]);
    if (bytes) limits.push([`${b}/pcb`, String(bytes.count)], [`${b}/pcbra`, String(UNIT_SECONDS[bytes.unit])]);
  }
  const total = parseRate(rateLimit?.total);
  if (total) {
    units.total.add(total.unit);
    policy.push([`${b}/tu`, total.unit]);
    limits.push([`${b}/t`, String(total.count)], [`${b}/tra`, String(UNIT_SECONDS[total.unit])]);
  }
  // One line that says the service has one of these or more: the frontend skips the per-service rules without it.
  if (policy.length > 0) policy.push([`${b}/on`, '1']);
  return { policy, limits, allowed };
}

/**
 * Pure: who may call what, and how often, as the frontend rules (a change
 * reloads) and three maps (a change is applied through the runtime API).
 * Untrusted inputs (KV API keys, meta allow lists) reach the maps only in the
 * caller grammar, checked by the policy schema and apiKeyEntries.
 */
export function buildCallerModel(
  config: CallerConfig,
  services: readonly CallerService[],
  kv: readonly KvEntry[],
  intentions: readonly IntentionEntry[] = [],
  /** Every service read from Consul, routed here or not: callers for identity.sourceAddress. */
  registered: readonly ServiceEntry[] = [],
): { caller: CallerModel; rejections: readonly Rejection[] } {
  const units = { perCaller: new Set<string>(), total: new Set<RateUnit>() };
  const policy: [string, string][] = [];
  const limits: [string, string][] = [];
  const access: string[] = [];
  for (const service of services) {
    const lines = serviceLines(service, config.access.default, units);
    policy.push(...lines.policy);
    limits.push(...lines.limits);
    access.push(...lines.allowed);
  }
  const globalPerCaller = parseRate(config.rateLimit.perCaller);
  if (globalPerCaller) limits.push(['*/pc', String(globalPerCaller.count)], ['*/pcra', String(UNIT_SECONDS[globalPerCaller.unit])]);
  const global = parseRate(config.rateLimit.global);
  if (global) limits.push(['*/global', String(global.count)]);
  const keys = config.identity.apiKeys ? apiKeyEntries(kv, config.consul.kvPrefix) : { entries: [], rejections: [] };
  const consul = config.access.consulIntentions ? intentionLines(intentions, new Map(services.map((s) => [s.name, s.backend]))) : { lines: [], rejections: [] };
  const tracked = units.perCaller.size > 0 || units.total.size > 0 || globalPerCaller !== undefined;
  const jwt = jwtModel(config.identity.jwt);
  const rules: CallerRules = {
    enabled: jwt !== null || config.identity.apiKeys !== undefined || config.identity.sourceAddress || policy.length > 0 || limits.length > 0 || config.access.consulIntentions,
    jwt,
    apiKeyHeader: config.identity.apiKeys?.header.toLowerCase() ?? null,
    sourceAddress: config.identity.sourceAddress,
    perCallerTables: [...units.perCaller].sort(compareStrings),
    totalTables: [...units.total].sort(compareStrings),
    intentions: config.access.consulIntentions,
    globalPerCaller: globalPerCaller?.unit ?? null,
    global: global !== undefined,
    syncBind: tracked ? config.rateLimit.syncBind : null,
  };
  const rejections: Rejection[] = [...keys.rejections, ...consul.rejections];
  const byKey = ([a]: readonly [string, string], [b]: readonly [string, string]) => compareStrings(a, b);
  access.sort(compareStrings);
  return { caller: { rules, apiKeys: keys.entries, policy: policy.sort(byKey), limits: limits.sort(byKey), access: [...new Set(access)], sources: config.identity.sourceAddress ? sourceAddressLines(registered) : [], intentions: consul.lines }, rejections };
}

function jwtModel(jwt: CallerConfig['identity']['jwt']): JwtModel | null {
  if (!jwt || jwt.key === '') return null;
  return {
    algorithm: jwt.algorithm,
    key: jwt.key,
    issuer: jwt.issuer,
    audience: jwt.audience,
    callerClaim: jwt.callerClaim,
    skewSeconds: Math.ceil(jwt.clockSkew / 1000),
  };
}

/** The model for a config with no caller features: the client's X-Ipx-Caller is still removed. */
export const NO_CALLER: CallerModel = {
  rules: { enabled: false, jwt: null, apiKeyHeader: null, sourceAddress: false, perCallerTables: [], totalTables: [], intentions: false, globalPerCaller: null, global: false, syncBind: null },
  apiKeys: [],
  policy: [],
  limits: [],
  access: [],
  sources: [],
  intentions: [],
};

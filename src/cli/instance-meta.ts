import { z } from 'zod';
import { parseDuration } from '../config/index.ts';

/** One reason an instance's meta would be refused, by key. */
export interface MetaProblem {
  readonly key: string;
  readonly reason: string;
}

/**
 * What `ipx register` checks `ipx-*` meta against before anything reaches
 * Consul. The policy model's schema plugs in here once it lands (one zod
 * schema for every policy layer, POLICIES.md); until then this holds the
 * instance meta keys of POLICIES.md with their value grammars.
 */
export interface InstanceMetaSchema {
  check(meta: Readonly<Record<string, string>>): MetaProblem[];
}

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const nameList = (what: string, allowStar = false) =>
  z.string().refine((v) => v.split(',').every((n) => NAME.test(n.trim()) || (allowStar && n.trim() === '*')), `a comma-separated list of ${what} (lower-case DNS labels${allowStar ? ', or *' : ''})`);
const int = (min: number, max: number) =>
  z.string().regex(/^\d+$/, 'a whole number').refine((v) => Number(v) >= min && Number(v) <= max, `from ${min} to ${max}`);
const durationText = z.string().refine((v) => parseDuration(v) !== undefined, 'a duration such as 500ms, 5s or 1m');

/** POLICIES.md "Instance meta": the keys, and what each value must look like. */
const IPX_META: Readonly<Record<string, z.ZodType<string>>> = {
  'ipx-version': z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'a version label of letters, digits, ".", "_" and "-" (at most 64)'),
  'ipx-path-prefix': z.string().regex(/^\/[A-Za-z0-9._~\/-]*$/, 'a path starting with / (letters, digits, . _ ~ - and /)'),
  'ipx-strip-prefix': z.enum(['true', 'false'], 'true or false'),
  'ipx-protocol': z.enum(['http', 'h2c', 'grpc', 'tcp'], 'http, h2c, grpc or tcp'),
  'ipx-tcp-port': int(1, 65535),
  'ipx-gateways': nameList('gateway names'),
  'ipx-balance': z.string().regex(/^(roundrobin|leastconn|random|first|hash-source|hash-header:[A-Za-z0-9-]{1,64})$/, 'roundrobin, leastconn, random, first, hash-source or hash-header:<header>'),
  'ipx-timeout': durationText,
  'ipx-connect-timeout': durationText,
  'ipx-retries': int(0, 10),
  'ipx-health-path': z.string().regex(/^\/[\x21-\x7e]*$/, 'a path starting with / and no spaces'),
  'ipx-max-conns': int(1, 1_000_000),
  'ipx-rate-limit': z.string().regex(/^[1-9]\d{0,8}\/(s|m|h)$/, 'a rate such as 100/s, 600/m or 10000/h'),
  'ipx-auth': z.enum(['required', 'none'], 'required or none'),
  'ipx-allow': nameList('caller service names', true),
};

export const IPX_META_KEYS: readonly string[] = Object.keys(IPX_META).sort();

/** Consul's own rules for meta (it refuses more than 64 pairs, keys beyond 128 characters, values beyond 512). */
const CONSUL_KEY = /^[A-Za-z0-9_-]{1,128}$/;

export const builtInMetaSchema: InstanceMetaSchema = {
  check(meta) {
    const problems: MetaProblem[] = [];
    const entries = Object.entries(meta);
    if (entries.length > 64) problems.push({ key: '(all)', reason: `${entries.length} meta entries; Consul allows at most 64` });
    for (const [key, value] of entries) {
      if (!CONSUL_KEY.test(key)) problems.push({ key, reason: 'Consul meta keys are 1-128 letters, digits, "_" and "-"' });
      else if (value.length > 512) problems.push({ key, reason: `value is ${value.length} characters; Consul allows 512` });
      else if (key.startsWith('ipx-')) {
        const schema = IPX_META[key];
        if (!schema) {
          problems.push({ key, reason: `not an ipx meta key; known: ${IPX_META_KEYS.join(', ')}` });
          continue;
        }
        const parsed = schema.safeParse(value);
        if (!parsed.success) problems.push({ key, reason: `${JSON.stringify(value)} is not ${parsed.error.issues[0]?.message ?? 'valid'}` });
      }
    }
    return problems;
  },
};

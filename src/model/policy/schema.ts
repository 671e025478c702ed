/**
 * The policy document (POLICIES.md): one zod schema for every layer, built-in
 * to KV. Values come from Consul meta and KV, which are untrusted: every string
 * that may later reach HAProxy's configuration is held to a grammar here that
 * leaves nothing for HAProxy's parser to misread; the renderer encodes again.
 */
import { z } from 'zod';
import { parseDuration } from '../../config/duration.ts';
import { CALLER_NAME } from '../identity/caller-name.ts';

const HOUR_MS = 3_600_000;

/** A duration as "250ms", "2s", "1m" or whole milliseconds, resolved to ms within [min, max]. */
function duration(minMs: number, maxMs: number) {
  return z.union([z.number(), z.string()]).transform((value, ctx) => {
    const ms = typeof value === 'number' ? value : parseDuration(value);
    if (ms === undefined || !Number.isSafeInteger(ms)) {
      ctx.addIssue({ code: 'custom', message: 'must be a duration such as 250ms, 2s or 1m' });
      return z.NEVER;
    }
    if (ms < minMs || ms > maxMs) {
      ctx.addIssue({ code: 'custom', message: `must be from ${minMs}ms to ${maxMs}ms` });
      return z.NEVER;
    }
    return ms;
  });
}

/** An integer within bounds; meta values arrive as strings, so digits are accepted too. */
function integer(min: number, max: number) {
  return z
    .union([z.number(), z.string().regex(/^\d{1,9}$/, 'must be a whole number').transform(Number)])
    .pipe(z.number().int(`must be a whole number from ${min} to ${max}`).min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
}

/** An HTTP header name HAProxy can read in a sample fetch without quoting. */
export const HEADER_NAME = /^[A-Za-z][A-Za-z0-9-]{0,63}$/;
/** A path prefix: one or more /segment, unreserved characters only, no trailing slash. */
export const PATH_PREFIX = /^(\/[A-Za-z0-9._~-]+){1,16}$/;
/** A health-check path: what HAProxy sends after GET, unreserved and sub-delimiter-free characters. */
export const HEALTH_PATH = /^\/[A-Za-z0-9._~\/-]{0,127}(\?[A-Za-z0-9._~=&-]{0,127})?$/;
/** A version label (ipx-version): also part of a backend name. */
export const VERSION_LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;
/** A Consul service name that can route (service-names.ts). */
export const SERVICE_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const RATE = /^[1-9]\d{0,8}\/(s|m|h)$/;
const BYTE_RATE = /^[1-9]\d{0,8}(B|KB|MB|GB)\/(s|m|h)$/;

export const BALANCE_ALGORITHMS = ['roundrobin', 'leastconn', 'random', 'first', 'hash-source'] as const;
export const BALANCE_HEADER = /^hash-header:([A-Za-z][A-Za-z0-9-]{0,63})$/;

/** The conditions HAProxy 2.6 `retry-on` accepts that make sense per service. */
export const RETRY_CONDITIONS = [
  'conn-failure',
  'empty-response',
  'junk-response',
  'response-timeout',
  '0rtt-rejected',
  '401',
  '403',
  '404',
  '408',
  '425',
  '500',
  '501',
  '502',
  '503',
  '504',
  'all-retryable-errors',
] as const;

export const PROTOCOLS = ['http', 'h2c', 'grpc', 'tcp'] as const;

const balance = z.string().refine((value) => (BALANCE_ALGORITHMS as readonly string[]).includes(value) || BALANCE_HEADER.test(value), {
  message: `must be one of ${BALANCE_ALGORITHMS.join(', ')} or hash-header:<header name>`,
});

const split = z
  .record(z.string().regex(VERSION_LABEL, 'version labels are letters, digits, ".", "_" and "-", up to 32 characters'), integer(0, 100))
  .refine((shares) => Object.keys(shares).length >= 1 && Object.keys(shares).length <= 16, { message: 'must name 1 to 16 versions' })
  .refine((shares) => Object.values(shares).reduce((sum, share) => sum + share, 0) === 100, { message: 'shares must add up to 100' });

const route = z.strictObject({
  pathPrefix: z.string().regex(PATH_PREFIX, 'must be /segment[/segment…] of letters, digits, ".", "_", "~" and "-", no trailing slash'),
  stripPrefix: z.boolean().default(false),
});

/**
 * Groups are merged key by key (timeouts.server from one layer, timeouts.connect
 * from another); every other top-level key, lists and maps included, is one value.
 */
export const policySchema = z
  .strictObject({
    balance,
    timeouts: z.strictObject({ connect: duration(1, HOUR_MS), server: duration(1, HOUR_MS), queue: duration(1, HOUR_MS) }).partial(),
    retries: z
      .strictObject({
        attempts: integer(0, 10),
        on: z.array(z.enum(RETRY_CONDITIONS)).min(1, 'must list at least one condition').max(RETRY_CONDITIONS.length),
      })
      .partial(),
    circuitBreaker: z
      .strictObject({
        maxConnsPerInstance: integer(1, 100_000),
        maxQueuePerInstance: integer(0, 100_000),
        consecutiveErrors: integer(1, 100),
        slowStart: duration(0, HOUR_MS),
      })
      .partial(),
    healthCheck: z
      .strictObject({
        path: z.string().regex(HEALTH_PATH, 'must be an absolute path of letters, digits, ".", "_", "~", "/" and "-", with an optional simple query'),
        interval: duration(100, HOUR_MS),
        rise: integer(1, 100),
        fall: integer(1, 100),
      })
      .partial(),
    versions: z
      .strictObject({
        split,
        pinHeader: z.string().regex(HEADER_NAME, 'must be a header name: a letter, then letters, digits and "-", up to 64 characters'),
      })
      .partial(),
    failover: z.strictObject({ service: z.string().regex(SERVICE_NAME, 'must be a service name (a DNS label)') }).partial(),
    routes: z.array(route).max(16, 'at most 16 routes per service'),
    protocol: z.enum(PROTOCOLS),
    tcpPort: integer(1, 65535),
    // Identity, access and rate limits: parsed and layered now; rendered by a later release.
    auth: z.strictObject({ required: z.union([z.boolean(), z.enum(['required', 'optional']).transform((v) => v === 'required')]) }).partial(),
    access: z
      .strictObject({
        allow: z.array(z.string().refine((v) => v === '*' || CALLER_NAME.test(v), { message: 'callers are "*" or names of letters, digits, ".", "_" and "-"' })).max(256),
      })
      .partial(),
    rateLimit: z
      .strictObject({
        perCaller: z.string().regex(RATE, 'must be <count>/s, /m or /h, e.g. 100/s'),
        total: z.string().regex(RATE, 'must be <count>/s, /m or /h, e.g. 1000/s'),
        bytesPerCaller: z.string().regex(BYTE_RATE, 'must be <count><B|KB|MB|GB>/<s|m|h>, e.g. 10MB/m'),
      })
      .partial(),
  })
  .partial();

/** What a layer holds once parsed: durations in milliseconds, every key optional. */
export type PolicyDocument = z.output<typeof policySchema>;
export type PolicyDocumentInput = z.input<typeof policySchema>;

/** The top-level keys whose sub-keys merge one by one. */
export const POLICY_GROUPS = ['timeouts', 'retries', 'circuitBreaker', 'healthCheck', 'versions', 'failover', 'auth', 'access', 'rateLimit'] as const;
export type PolicyGroup = (typeof POLICY_GROUPS)[number];

export function isPolicyGroup(key: string): key is PolicyGroup {
  return (POLICY_GROUPS as readonly string[]).includes(key);
}

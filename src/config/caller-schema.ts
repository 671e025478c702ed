import { z } from 'zod';
import { duration } from './duration.ts';

/**
 * Who is calling (identity), what callers may do (access) and how much
 * (rateLimit), gateway-wide; and which gateway this ipx is (gateway). Values
 * here reach HAProxy's configuration, so each string is held to a grammar
 * with nothing HAProxy's parser reads specially (quotes, commas, parentheses,
 * spaces, `#`); the renderer checks again.
 */

export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** An issuer or audience: URL characters without quotes, commas, parentheses, spaces or `#`. */
export const CLAIM_VALUE = /^[A-Za-z0-9._~:/?=&%+@-]{1,256}$/;
/** A top-level claim name, as jwt_payload_query('$.<name>') reads it. */
export const CLAIM_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** A request rate: `<count>/s`, `/m` or `/h`. */
export const RATE = /^[1-9]\d{0,8}\/(s|m|h)$/;

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const LOOPBACK_PORT = new RegExp(`^${OCTET}(\\.${OCTET}){3}:\\d{1,5}$`);

export const jwtSchema = z
  .strictObject({
    algorithm: z.enum(JWT_ALGORITHMS).describe('The only algorithm accepted; never taken from the token'),
    publicKeyFile: z.string().default('').describe('RS*/ES*: a PEM file holding "BEGIN PUBLIC KEY" (not a certificate); read and checked at start'),
    secretFile: z.string().default('').describe('HS*: a file holding the shared secret (32 to 512 characters of A-Z a-z 0-9 . _ ~ + / = -)'),
    issuer: z.string().regex(CLAIM_VALUE, 'must be a URL or name without quotes, commas, parentheses, spaces or #').describe('Required value of the iss claim'),
    audience: z.string().regex(CLAIM_VALUE, 'must be a URL or name without quotes, commas, parentheses, spaces or #').describe('Value the aud claim must hold (a string, or one of the first four entries of an array)'),
    callerClaim: z.string().regex(CLAIM_NAME, 'must be a top-level claim name such as sub or client_id').default('sub').describe('Claim that names the caller'),
    clockSkew: duration('Leeway on exp and nbf, for clocks that disagree a little', '30s'),
    /** Filled at load from publicKeyFile or secretFile: the PEM text or the secret. */
    key: z.string().default(''),
  })
  .refine((jwt) => (jwt.algorithm.startsWith('HS') ? jwt.secretFile !== '' || jwt.key !== '' : jwt.publicKeyFile !== '' || jwt.key !== ''), {
    message: 'RS*/ES* need publicKeyFile, HS* need secretFile',
  })
  .describe('Callers identified by a JWT that HAProxy verifies');

export const identitySchema = z
  .strictObject({
    jwt: jwtSchema.optional(),
    apiKeys: z
      .strictObject({
        header: z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,63}$/, 'must be a header name').default('X-Api-Key').describe('Header that carries the key'),
      })
      .optional()
      .describe('Callers identified by an API key; keys live in KV <kvPrefix>apikeys/<caller> as SHA-256 hex'),
    sourceAddress: z
      .boolean()
      .default(false)
      .describe('A caller without credentials is the Consul service registered at its IP, where that IP has exactly one service (weaker: an address is not a credential)'),
  })
  .prefault({})
  .describe('Who is calling: JWT, then API key, then source address, else anonymous');

export const accessSchema = z
  .strictObject({
    default: z.enum(['allow', 'deny']).default('allow').describe('For services without access.allow: allow every caller, or deny'),
    consulIntentions: z.boolean().default(false).describe("Also enforce Consul's Connect intentions, read with a blocking query (a deny wins)"),
  })
  .prefault({})
  .describe('Access policy defaults');

export const gatewayRateLimitSchema = z
  .strictObject({
    global: z.string().regex(/^[1-9]\d{0,8}\/s$/, 'must be <count>/s (the frontend request rate HAProxy keeps per second)').optional().describe('All requests together'),
    perCaller: z.string().regex(RATE, 'must be <count>/s, /m or /h, e.g. 1000/s').optional().describe("Each caller's budget across all services"),
    syncBind: z
      .string()
      .regex(LOOPBACK_PORT, 'must be <ipv4>:<port>, e.g. 127.0.0.1:8407')
      .default('127.0.0.1:8407')
      .describe('Where the old and new HAProxy workers hand rate-limit counters over at a reload (peers)'),
  })
  .prefault({})
  .describe('Gateway-wide rate limits');

export const gatewaySchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^([a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?)?$/, 'must be a lower-case name such as internal or mobile-bff')
      .default('')
      .describe('This gateway; services opt in with ipx-gateways; empty: every service'),
    exposeAll: z.boolean().default(false).describe('Also expose services without ipx-gateways'),
  })
  .prefault({})
  .describe('Several gateways from one Consul');

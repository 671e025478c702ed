import { CLAIM_NAME, CLAIM_VALUE, JWT_ALGORITHMS } from '../config/caller-schema.ts';
import { quoteSingle } from './haproxy-quote.ts';

/** What jwt_verify's key argument may be: a key file ipx wrote, or a secret (the same grammar as identity.jwt.secretFile). */
const JWT_KEY = /^[A-Za-z0-9._~+/=-]{1,512}$/;

function fail(helper: string, value: unknown, what: string): never {
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 60)) : typeof value;
  throw new Error(`${helper}: ${shown} is not ${what}`);
}

/**
 * Encoders for the caller rules (identity, access, rate limits); merged into
 * helpers.ts. Each value is held to a grammar with nothing HAProxy's parser
 * reads inside a sample expression's arguments (quotes, commas, parentheses).
 */
export const callerHelpers = {
  /** An issuer or audience, as a quoted ACL pattern. */
  claim(value: unknown): string {
    if (typeof value !== 'string' || !CLAIM_VALUE.test(value)) fail('claim', value, 'an issuer or audience without quotes, commas, parentheses, spaces or #');
    return quoteSingle(value);
  },
  /** A top-level claim as a quoted JSON path: `'$.sub'`. */
  jsonPath(value: unknown): string {
    if (typeof value !== 'string' || !CLAIM_NAME.test(value)) fail('jsonPath', value, 'a claim name');
    return quoteSingle(`$.${value}`);
  },
  /** A pinned JWT algorithm. */
  jwtAlg(value: unknown): string {
    if (typeof value !== 'string' || !(JWT_ALGORITHMS as readonly string[]).includes(value)) fail('jwtAlg', value, 'an algorithm HAProxy 2.6 verifies');
    return value;
  },
  /** jwt_verify's key: a key file name or a secret, quoted. */
  jwtKey(value: unknown): string {
    if (typeof value !== 'string' || !JWT_KEY.test(value)) fail('jwtKey', value, 'a key file name or a secret of A-Z a-z 0-9 . _ ~ + / = -');
    return quoteSingle(value);
  },
  /** A tracker-table suffix: one or two of s, m, h. */
  unit(value: unknown): string {
    if (typeof value !== 'string' || !/^[smh]{1,2}$/.test(value)) fail('unit', value, 'a rate unit (s, m or h)');
    return value;
  },
  /** A peer address `ipv4:port`. */
  peerAddr(value: unknown): string {
    if (typeof value !== 'string' || !/^\d{1,3}(\.\d{1,3}){3}:\d{1,5}$/.test(value)) fail('peerAddr', value, 'an ipv4:port address');
    return value;
  },
};

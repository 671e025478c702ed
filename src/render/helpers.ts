import { errorMessage } from '../errors.ts';
import { SAFE_NAME } from '../model/identifiers.ts';
import { parseIpLiteral } from '../model/ip-literal.ts';
import { PATH_PREFIX } from '../model/policy/schema.ts';
import { callerHelpers } from './caller-helpers.ts';
import { quoteSingle } from './haproxy-quote.ts';

/**
 * The only way a value reaches the configuration text: every `{{…}}` in the
 * templates calls one of these (compile-templates.ts refuses bare values).
 * The model should already hold only safe values; checking again here keeps a
 * hand-built or future model from writing something HAProxy would misread.
 * Pure; a failure throws and the renderer names the template.
 */
export const helpers = {
  ...callerHelpers,
  /** A name from the allow-list, written as is: backends, servers, map files. */
  ident(value: unknown): string {
    if (typeof value !== 'string' || !SAFE_NAME.test(value)) throw new Error(`ident: ${describe(value)} is not a safe HAProxy name`);
    return value;
  },
  /** Any text as one single-quoted word (error bodies, paths). */
  quote(value: unknown): string {
    if (typeof value !== 'string') throw new Error(`quote: ${describe(value)} is not a string`);
    try {
      return quoteSingle(value);
    } catch (err) {
      throw new Error(`quote: ${describe(value)} ${errorMessage(err)}`);
    }
  },
  /** A non-negative integer (maxconn, milliseconds). */
  int(value: unknown): string {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new Error(`int: ${describe(value)} is not a non-negative integer`);
    return String(value);
  },
  /** A `balance` algorithm: a fixed name, or `hdr(<header>)` with a header-name token. */
  balance(value: unknown): string {
    if (typeof value !== 'string' || !BALANCE.test(value)) throw new Error(`balance: ${describe(value)} is not a balance algorithm ipx renders`);
    return value;
  },
  /**
   * Keywords from the model (`check inter 2000ms rise 2`, `conn-failure 503`):
   * lower-case words of letters, digits, `.` and `-` only, so nothing can
   * quote, comment or expand. Written after a leading space, or nothing when empty.
   */
  keywords(value: unknown): string {
    if (value === '') return '';
    if (typeof value !== 'string' || !KEYWORDS.test(value)) throw new Error(`keywords: ${describe(value)} is not a list of plain keywords`);
    return ` ${value}`;
  },
  /** A path prefix of a route: `/segment[/segment…]` of unreserved characters only (nothing HAProxy or a regex would read specially but `.`). */
  path(value: unknown): string {
    if (typeof value !== 'string' || !PATH_PREFIX.test(value)) throw new Error(`path: ${describe(value)} is not a route prefix`);
    return value;
  },
  /** A lower-case HTTP header name, as a sample-fetch argument and a map-key part. */
  header(value: unknown): string {
    if (typeof value !== 'string' || !/^[a-z][a-z0-9-]{0,63}$/.test(value)) throw new Error(`header: ${describe(value)} is not a lower-case header name`);
    return value;
  },
  /**
   * A server's admin state as the end of its `server` line: ` disabled` for
   * maintenance, nothing for ready (the leading space keeps the line tidy).
   */
  serverState(state: unknown): string {
    if (state === 'maint') return ' disabled';
    if (state === 'ready') return '';
    throw new Error(`serverState: ${describe(state)} is not ready or maint`);
  },
  /** A server address: `ip:port`, IPv6 in brackets. */
  addr(address: unknown, port: unknown): string {
    if (typeof address !== 'string' || parseIpLiteral(address) === undefined) throw new Error(`addr: ${describe(address)} is not an IP literal`);
    if (!isPort(port)) throw new Error(`addr: ${describe(port)} is not a port`);
    return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  },
  /** A bind address as the config holds it: `ip:port` or `[ipv6]:port`. */
  bind(value: unknown): string {
    const match = typeof value === 'string' ? /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value) : null;
    const ip = match?.[1] ?? match?.[2];
    const literal = ip === undefined ? undefined : parseIpLiteral(ip);
    const bracketsFit = literal !== undefined && (literal.family === 'ipv6') === (match?.[1] !== undefined);
    if (!bracketsFit || !isPort(Number(match?.[3]))) throw new Error(`bind: ${describe(value)} is not <ip>:<port> or [<ipv6>]:<port>`);
    return value as string;
  },
};

const BALANCE = /^(roundrobin|leastconn|random|first|source|hdr\([A-Za-z][A-Za-z0-9-]{0,63}\))$/;
const KEYWORDS = /^[a-z0-9][a-z0-9.-]*( [a-z0-9][a-z0-9.-]*)*$/;

export type HelperName = keyof typeof helpers;

function isPort(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535;
}

function describe(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (typeof value !== 'string') return `a value of type ${typeof value}`;
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}

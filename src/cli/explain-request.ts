import { ConfigError } from '../errors.ts';

/** The request `ipx explain` reasons about, as HAProxy would see it. */
export interface ExplainRequest {
  /** The Host header (from -H, else the URL's host, else the argument itself). */
  readonly host: string;
  readonly path: string;
  /** Header names as given (other than Host), for "not read by any rule". */
  readonly headers: ReadonlyMap<string, string>;
  /** How the request was written, for the first line of the explanation. */
  readonly display: string;
  /** Given as a URL or with headers: worth restating; a bare name or Host is not. */
  readonly restate: boolean;
}

/**
 * Pure: `hello`, `hello.service.internal:8080`, `http://127.0.0.1:8080/orders/1`
 * with `-H 'Host: hello.service.internal'`, as curl takes them. A bare name or
 * Host keeps meaning what it always did.
 */
export function parseExplainRequest(target: string, headerArgs: readonly string[]): ExplainRequest {
  const headers = new Map<string, string>();
  let hostHeader: string | undefined;
  for (const arg of headerArgs) {
    const at = arg.indexOf(':');
    const name = at > 0 ? arg.slice(0, at).trim() : '';
    if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) throw new ConfigError(`explain: -H ${JSON.stringify(arg)} must be 'Name: value', e.g. -H 'X-Version: v2'`);
    const value = arg.slice(at + 1).trim();
    if (name.toLowerCase() === 'host') hostHeader = value;
    else headers.set(name, value);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      throw new ConfigError(`explain: ${JSON.stringify(target)} is not a URL; write it as curl takes it, e.g. http://orders.service.internal/orders/1`);
    }
    const host = hostHeader ?? url.host;
    return { host, path: url.pathname, headers, display: `GET ${url.pathname}${url.search} Host: ${host}`, restate: true };
  }
  const host = hostHeader ?? target;
  return { host, path: '/', headers, display: `GET / Host: ${host}`, restate: headerArgs.length > 0 };
}

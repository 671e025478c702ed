import { ConsulError, errorMessage } from '../errors.ts';

/** What a failed request was, for the message; never the token. */
export interface FailedRequest {
  readonly method: 'GET' | 'PUT' | 'DELETE';
  /** Path without the query string, e.g. /v1/health/service/web. */
  readonly path: string;
  /** Base URL of the agent, e.g. http://127.0.0.1:8500. */
  readonly address: string;
}

interface ErrorFacts {
  readonly code: string | undefined;
  readonly statusCode: number | undefined;
  readonly isTimeout: boolean;
  readonly isAbort: boolean;
  /** Node's "socket hang up": the server closed the connection before any answer. */
  readonly hangUp: boolean;
}

/**
 * Pure: turns whatever node-consul (papi) threw into a ConsulError that names
 * the request and a likely fix. papi prefixes messages with "consul: <name>: ";
 * that part is dropped because the method and path say it better.
 */
export function toConsulError(err: unknown, request: FailedRequest, timeoutMs?: number): ConsulError {
  const facts = errorFacts(err);
  const reason = facts.isTimeout && timeoutMs !== undefined
    ? `no answer within ${timeoutMs} ms`
    : errorMessage(err).replace(/^consul: [\w.]+: /, '');
  const status = facts.statusCode !== undefined && !reason.includes(String(facts.statusCode)) ? `HTTP ${facts.statusCode} ` : '';
  return new ConsulError(
    `consul: ${request.method} ${request.path} failed (${status}${reason}); ${hintFor(facts, request.address, reason)}`,
    { cause: err },
  );
}

function hintFor(facts: ErrorFacts, address: string, reason: string): string {
  if (facts.isAbort) return 'the request was cancelled because ipx is stopping';
  if (facts.statusCode === 403 || facts.statusCode === 401) {
    return 'does the ACL token (consul.token / CONSUL_HTTP_TOKEN) allow reading services, nodes and the KV prefix?';
  }
  if (facts.statusCode === 500 || facts.statusCode === 503) return serverSideHint(reason);
  if (facts.statusCode === 429) return connectionLimitHint(address, 'answered 429');
  if (facts.statusCode !== undefined) return `Consul at ${address} refused the request; check consul.datacenter and the Consul version`;
  if (facts.isTimeout) return `is Consul at ${address} overloaded or unreachable? ipx retries with backoff`;
  if (facts.code === 'ENOTFOUND' || facts.code === 'EAI_AGAIN') return `the host in ${address} does not resolve; is CONSUL_HTTP_ADDR right?`;
  // An agent that accepted the connection and then dropped it without a word: up to 1.8 that is how
  // it enforces its per-client connection limit (a restart looks the same, and then the retry heals it).
  if (facts.code === 'ECONNRESET' || facts.hangUp) return connectionLimitHint(address, 'closed the connection without an answer');
  return `is CONSUL_HTTP_ADDR right? ipx uses ${address}`;
}

/** The agent answered but its servers could not: the agent's own words tell which case it is. */
function serverSideHint(reason: string): string {
  const retry = 'ipx keeps the last good data and retries';
  if (/no cluster leader/i.test(reason)) {
    return `the Consul servers have no leader (an election is under way, or most servers are down); ${retry}`;
  }
  // What a client agent answers when the server it forwarded the read to went away mid-request.
  if (/rpc error/i.test(reason)) {
    return `the agent lost its connection to a Consul server (one stopped or restarted; if it led, an election follows); ${retry}`;
  }
  return `Consul is up but cannot answer (no cluster leader?); ${retry}`;
}

/**
 * The agent allows limits.http_max_conns_per_client (200 by default) connections per client
 * IP, shared by every process on the host; over it, 1.8 closes the socket and 1.9+ answers 429.
 */
function connectionLimitHint(address: string, what: string): string {
  return (
    `the Consul agent at ${address} ${what}, as it does when this host holds more connections than its ` +
    'limits.http_max_conns_per_client (default 200, shared by every process on the host); lower consul.maxConnections, ' +
    'find the other processes holding connections (ss -tn dst <agent>), or raise the agent\'s limits.http_max_conns_per_client; ' +
    'ipx keeps the last good data and retries with backoff'
  );
}

function errorFacts(err: unknown): ErrorFacts {
  const record = typeof err === 'object' && err !== null ? (err as Record<string, unknown>) : {};
  const response = typeof record.response === 'object' && record.response !== null
    ? (record.response as Record<string, unknown>)
    : undefined;
  const statusCode = typeof response?.statusCode === 'number' ? response.statusCode : undefined;
  return {
    code: typeof record.code === 'string' ? record.code : undefined,
    statusCode: record.isResponse === true ? statusCode : undefined,
    isTimeout: record.isTimeout === true,
    isAbort: record.isAbort === true,
    hangUp: typeof record.message === 'string' && /socket hang up/i.test(record.message),
  };
}

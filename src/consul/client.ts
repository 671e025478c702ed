import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import Consul from 'consul';
import type { Config } from '../config/index.ts';
import { ConfigError, ConsulError, errorMessage } from '../errors.ts';
import { createHttp2Reads, readOverHttp2, type Http2Reads } from './http2-reads.ts';
import { toConsulError, type FailedRequest } from './request-error.ts';

/** Options of one read; every read can block, be cancelled and time out. */
export interface ReadOptions {
  /** X-Consul-Index to block on; absent or "0" answers at once. */
  readonly index?: string;
  /** How long Consul may hold a blocking read, in ms. */
  readonly wait?: number;
  readonly signal?: AbortSignal;
  /** Gives up on the request after this many ms (the whole exchange). */
  readonly timeout?: number;
}

/** A raw answer: the body is untrusted JSON, validated by the query that asked. */
export interface ReadResult {
  readonly body: unknown;
  /** X-Consul-Index as sent by Consul (a uint64 in decimal), or "" when absent. */
  readonly index: string;
}

export type CheckStatus = 'passing' | 'warning' | 'critical';

/** Body of PUT /v1/agent/service/register in node-consul's lower-case spelling. */
export interface AgentServiceRegistration {
  readonly name: string;
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly tags: readonly string[];
  readonly meta: Readonly<Record<string, string>>;
  readonly check?: Readonly<Record<string, string>>;
}

/**
 * The part of Consul ipx uses, with node-consul hidden behind it so that
 * queries, tests and errors do not depend on its loose typings.
 */
export interface ConsulClient {
  /** Base URL, for messages (never carries the token). */
  readonly address: string;
  catalogServices(options: ReadOptions): Promise<ReadResult>;
  healthService(service: string, options: ReadOptions): Promise<ReadResult>;
  /**
   * Every check in the datacenter in one state (GET /v1/health/state/<state>): the critical and
   * the warning ones are the watcher's change signal for health. Small while the datacenter is healthy.
   */
  healthState(state: 'critical' | 'warning', options: ReadOptions): Promise<ReadResult>;
  /** Every node (GET /v1/catalog/nodes). */
  catalogNodes(options: ReadOptions): Promise<ReadResult>;
  /** One node and its service instances with their ModifyIndex (GET /v1/catalog/node/<node>). */
  catalogNode(node: string, options: ReadOptions): Promise<ReadResult>;
  /**
   * One node's instances (GET /v1/catalog/node-services/<node>, Consul 1.7+): a blocking read
   * of it wakes only for that node's registrations, though its index is the whole catalog's.
   */
  catalogNodeServices(node: string, options: ReadOptions): Promise<ReadResult>;
  /** Every check on one node, its own and its instances' (GET /v1/health/node/<node>). */
  healthNode(node: string, options: ReadOptions): Promise<ReadResult>;
  /** Recursive KV read; an empty prefix (HTTP 404) is an empty list, not an error. */
  kvRecurse(prefix: string, options: ReadOptions): Promise<ReadResult>;
  /** Every Connect intention (access.consulIntentions). */
  intentions(options: ReadOptions): Promise<ReadResult>;
  /** Creates a KV entry only if the key is absent (check-and-set 0); false when it already existed. */
  kvCreate(key: string, value: string): Promise<boolean>;
  kvDelete(key: string): Promise<void>;
  registerService(registration: AgentServiceRegistration): Promise<void>;
  deregisterService(id: string): Promise<void>;
  updateCheck(checkId: string, status: CheckStatus, note?: string): Promise<void>;
  /**
   * Streams per connection when reads share HTTP/2 connections (an agent reached over HTTPS):
   * then a blocking query costs a stream, not a connection. undefined over HTTP/1.1.
   */
  streamsPerConnection?(): number | undefined;
  /** Closes kept-alive sockets. */
  close(): void;
}

// node-consul's .d.ts omits the per-call options it does support (ctx,
// timeout, index, wait); this is the subset used here, typed honestly.
interface CallOptions {
  ctx?: EventEmitter;
  timeout?: number;
  index?: string;
  wait?: string;
  stale?: boolean;
  dc?: string;
}
type Answer = Promise<unknown>;
interface RawConsul {
  catalog: {
    service: { list(options: CallOptions): Answer };
    node: { list(options: CallOptions): Answer; services(options: CallOptions & { node: string }): Answer };
  };
  health: { service(options: CallOptions & { service: string }): Answer; state(options: CallOptions & { state: 'critical' | 'warning' }): Answer; node(options: CallOptions & { node: string }): Answer };
  kv: {
    get(options: CallOptions & { key: string; recurse: boolean }): Answer;
    set(options: CallOptions & { key: string; value: string; cas: string }): Answer;
    del(options: CallOptions & { key: string }): Answer;
  };
  agent: {
    service: {
      register(options: CallOptions & Omit<AgentServiceRegistration, 'tags'> & { tags: string[] }): Answer;
      deregister(options: CallOptions & { id: string }): Answer;
    };
    check: Record<'pass' | 'warn' | 'fail', (options: CallOptions & { id: string; note?: string }) => Answer>;
  };
  /** papi's request primitive, for the endpoints node-consul has no method for. */
  _get(request: RawRequest, handler: (exchange: RawExchange, next: (stop: boolean, err?: unknown, result?: unknown) => void) => void): Answer;
  destroy(): void;
}
interface RawRequest {
  name: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  ctx?: EventEmitter;
  timeout?: number;
}
interface RawExchange {
  err?: unknown;
  res?: { body?: unknown };
}

const WRITE_TIMEOUT_MS = 10_000;
const CHECK_VERB: Record<CheckStatus, 'pass' | 'warn' | 'fail'> = { passing: 'pass', warning: 'warn', critical: 'fail' };

export function createConsulClient(consulConfig: Config['consul']): ConsulClient {
  const url = new URL(consulConfig.address);
  const secure = url.protocol === 'https:';
  const address = `${url.protocol}//${url.host}`;
  const tls = secure ? tlsMaterial(consulConfig.tls) : undefined;
  const raw = new Consul({
    // URL keeps IPv6 hosts in brackets, which is what node-consul needs to build its base URL.
    host: url.hostname,
    port: url.port ? Number(url.port) : secure ? 443 : 80,
    secure,
    agent: tls ? new https.Agent({ ...keepAlive(consulConfig.maxConnections), ...tls }) : new http.Agent(keepAlive(consulConfig.maxConnections)),
    defaults: consulConfig.token ? { token: consulConfig.token } : {},
  }) as unknown as RawConsul;
  const readDefaults: CallOptions = {
    ...(consulConfig.datacenter ? { dc: consulConfig.datacenter } : {}),
    ...(consulConfig.stale ? { stale: true } : {}),
  };
  const h2: Http2Reads | undefined = tls
    ? createHttp2Reads({ origin: address, tls, headers: consulConfig.token ? { 'x-consul-token': consulConfig.token } : {}, maxConnections: consulConfig.maxConnections })
    : undefined;

  async function read(path: string, options: ReadOptions, call: (opts: CallOptions) => Answer, kv?: { readonly prefix: string }): Promise<ReadResult> {
    const request: FailedRequest = { method: 'GET', path, address };
    const callOptions = { ...readDefaults, ...blockingOptions(options) };
    const multiplexed = h2 && (await readOverHttp2(h2, request, options, queryOf(callOptions), kv));
    if (multiplexed) return multiplexed;
    const answer = await exchange(request, options, callOptions, call);
    const [res, body] = Array.isArray(answer) ? (answer as unknown[]) : [];
    return { body, index: consulIndex(res) };
  }

  async function write(path: string, call: (opts: CallOptions) => Answer, method: 'PUT' | 'DELETE' = 'PUT'): Promise<unknown> {
    const answer = await exchange({ method, path, address }, { timeout: WRITE_TIMEOUT_MS }, {}, call);
    return Array.isArray(answer) ? (answer as unknown[])[1] : undefined;
  }

  return {
    address,
    catalogServices: (options) => read('/v1/catalog/services', options, (opts) => raw.catalog.service.list(opts)),
    healthService: (service, options) =>
      read(`/v1/health/service/${encodeURIComponent(service)}`, options, (opts) => raw.health.service({ ...opts, service })),
    healthState: (state, options) => read(`/v1/health/state/${state}`, options, (opts) => raw.health.state({ ...opts, state })),
    catalogNodes: (options) => read('/v1/catalog/nodes', options, (opts) => raw.catalog.node.list(opts)),
    catalogNode: (node, options) =>
      read(`/v1/catalog/node/${encodeURIComponent(node)}`, options, (opts) => raw.catalog.node.services({ ...opts, node })),
    catalogNodeServices: (node, options) => {
      const path = `/catalog/node-services/${encodeURIComponent(node)}`;
      return read(`/v1${path}`, options, (opts) => raw._get(rawRequest('catalog.node-services', path, opts, consulConfig.token), withResponse));
    },
    healthNode: (node, options) => read(`/v1/health/node/${encodeURIComponent(node)}`, options, (opts) => raw.health.node({ ...opts, node })),
    kvRecurse: (prefix, options) =>
      read(`/v1/kv/${prefix}`, options, (opts) => raw.kv.get({ ...opts, key: prefix, recurse: true }), { prefix }),
    intentions: (options) => read('/v1/connect/intentions', options, (opts) => raw._get(rawRequest('connect.intentions', '/connect/intentions', opts, consulConfig.token), withResponse)),
    kvCreate: async (key, value) =>
      (await write(`/v1/kv/${key}?cas=0`, (opts) => raw.kv.set({ ...opts, key, value, cas: '0' }))) === true,
    kvDelete: async (key) => {
      await write(`/v1/kv/${key}`, (opts) => raw.kv.del({ ...opts, key }), 'DELETE');
    },
    registerService: async (registration) => {
      await write('/v1/agent/service/register', (opts) =>
        raw.agent.service.register({ ...opts, ...registration, tags: [...registration.tags] }));
    },
    deregisterService: async (id) => {
      await write(`/v1/agent/service/deregister/${encodeURIComponent(id)}`, (opts) => raw.agent.service.deregister({ ...opts, id }));
    },
    updateCheck: async (checkId, status, note) => {
      await write(`/v1/agent/check/${CHECK_VERB[status]}/${encodeURIComponent(checkId)}`, (opts) =>
        raw.agent.check[CHECK_VERB[status]]({ ...opts, id: checkId, ...(note ? { note } : {}) }));
    },
    streamsPerConnection: () => h2?.streamsPerConnection(),
    close: () => {
      h2?.close();
      raw.destroy();
    },
  };
}

/** A papi request as node-consul builds one from its options (token, dc, stale, blocking index and wait, cancel context, timeout). */
function rawRequest(name: string, path: string, opts: CallOptions, token: string): RawRequest {
  return { name, path, query: queryOf(opts), headers: token ? { 'x-consul-token': token } : {}, ...(opts.ctx ? { ctx: opts.ctx } : {}), ...(opts.timeout ? { timeout: opts.timeout } : {}) };
}

/** The query string of a read (datacenter, stale, blocking index and wait), as node-consul sends it. */
function queryOf({ dc, stale, index, wait }: CallOptions): Record<string, string> {
  return { ...(dc ? { dc } : {}), ...(stale ? { stale: '1' } : {}), ...(index !== undefined ? { index } : {}), ...(wait !== undefined ? { wait } : {}) };
}

/** [response, body], as node-consul answers with `includeResponse`. */
function withResponse(exchange: RawExchange, next: (stop: boolean, err?: unknown, result?: unknown) => void): void {
  if (exchange.err !== undefined && exchange.err !== null) next(false, exchange.err);
  else next(false, undefined, [exchange.res, exchange.res?.body]);
}

// Same as node-consul's parseQueryMeta().LastIndex, which its typings do not declare.
function consulIndex(res: unknown): string {
  const headers = (res as { headers?: Record<string, unknown> } | undefined)?.headers;
  const value = headers?.['x-consul-index'];
  return typeof value === 'string' ? value : '';
}

function blockingOptions(options: ReadOptions): CallOptions {
  if (!options.index || options.index === '0') return {};
  // Always send wait: without it Consul holds the request for 5 minutes, past our timeout.
  return { index: options.index, wait: `${Math.max(1, Math.round(options.wait ?? 0))}ms` };
}

/**
 * Runs one node-consul call with a cancel context: the AbortSignal cancels the
 * in-flight HTTP request (not only the promise), and every failure becomes a
 * ConsulError naming the request.
 */
async function exchange(
  request: FailedRequest,
  options: ReadOptions,
  callOptions: CallOptions,
  call: (opts: CallOptions) => Answer,
): Promise<unknown> {
  const { signal, timeout } = options;
  if (signal?.aborted) {
    throw new ConsulError(`consul: ${request.method} ${request.path} not sent; the watch was stopped`);
  }
  const ctx = Object.assign(new EventEmitter(), { includeResponse: true });
  const cancel = (): void => void ctx.emit('cancel');
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    return await call({ ...callOptions, ctx, ...(timeout ? { timeout } : {}) });
  } catch (err) {
    throw toConsulError(err, request, timeout);
  } finally {
    signal?.removeEventListener('abort', cancel);
  }
}

/**
 * Keep-alive agent options capped at consul.maxConnections sockets: the watcher keeps its own
 * requests under the cap (a queued blocking query would wait a whole `wait`), and the
 * cap makes the bound hold for every other caller of this client too.
 */
function keepAlive(maxConnections: number): http.AgentOptions {
  return { keepAlive: true, maxSockets: maxConnections, maxTotalSockets: maxConnections, maxFreeSockets: maxConnections };
}

/** What verifies Consul's certificate (and presents ours for mutual TLS), for HTTP/1.1 and HTTP/2 alike. */
function tlsMaterial(tls: Config['consul']['tls']): { ca?: Buffer; cert?: Buffer; key?: Buffer; servername?: string; rejectUnauthorized: boolean } {
  const read = (key: 'caFile' | 'certFile' | 'keyFile'): Buffer | undefined => {
    if (!tls[key]) return undefined;
    try {
      return readFileSync(tls[key]);
    } catch (err) {
      throw new ConfigError(`consul.tls.${key}: cannot read ${tls[key]} (${errorMessage(err)}); check the path and its permissions`, { cause: err });
    }
  };
  const ca = read('caFile');
  const cert = read('certFile');
  const key = read('keyFile');
  return {
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(tls.serverName ? { servername: tls.serverName } : {}),
    rejectUnauthorized: !tls.insecureSkipVerify,
  };
}

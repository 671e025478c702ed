/**
 * The aggregator's HTTP server: HAProxy sends it composite paths only (the
 * frontend's `ipx_composite` ACL); it matches the route, fans out, answers.
 * Its routes and settings are replaced whole on every applied model.
 */
import http from 'node:http';
import { aggregate, type AggregateContext } from './aggregate.ts';
import { PartCache } from './part-cache.ts';
import { matchRoute } from '../model/composites/path-template.ts';
import type { CompositeModel } from '../model/composites/types.ts';
import type { AddressInfo } from 'node:net';

export interface AggregatorSettings {
  /** HAProxy's frontend (`listen.http`); the parts are called through it. */
  readonly gateway: string;
  readonly maxPartBodyBytes: number;
  readonly cacheEntries: number;
  readonly forwardHeaders: readonly string[];
}

export interface AggregatorState {
  readonly settings: AggregatorSettings;
  readonly routes: readonly CompositeModel[];
}

export interface AggregatorServer {
  readonly address: string;
  update(state: AggregatorState): void;
  close(): Promise<void>;
}

export async function startAggregatorServer(listen: string, initial: AggregatorState): Promise<AggregatorServer> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  let state = initial;
  let cacheEntries = initial.settings.cacheEntries;
  let cache = new PartCache(cacheEntries);
  let ctx = contextOf(state.settings, agent, cache);

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://composite');
    if (url.pathname === '/healthz') return send(res, 200, {}, { status: 'ok', pid: process.pid, composites: state.routes.length });
    const found = findRoute(state.routes, url.pathname);
    if (!found) return send(res, 404, {}, { error: 'not_found', message: `no composite route matches ${url.pathname}` });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(res, 405, { allow: 'GET, HEAD' }, { error: 'method_not_allowed', message: `composite "${found.composite.name}" answers GET and HEAD only` });
    }
    aggregate(ctx, { composite: found.composite, params: found.params, query: url.searchParams, headers: req.headers }).then(
      (result) => send(res, result.status, result.headers, result.body, req.method === 'HEAD'),
      (err: unknown) => send(res, 500, {}, { error: 'internal_error', message: `composite "${found.composite.name}": ${String(err)}` }),
    );
  });
  server.keepAliveTimeout = 30_000;
  const [host, port] = splitAddress(listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const info = server.address() as AddressInfo;

  return {
    address: info.family === 'IPv6' ? `[${info.address}]:${info.port}` : `${info.address}:${info.port}`,
    update(next) {
      state = next;
      // The cache outlives route updates (a KV edit must not drop every fallback); only its size resets it.
      if (next.settings.cacheEntries !== cacheEntries) {
        cacheEntries = next.settings.cacheEntries;
        cache = new PartCache(cacheEntries);
      }
      ctx = contextOf(next.settings, agent, cache);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}

function contextOf(settings: AggregatorSettings, agent: http.Agent, cache: PartCache): AggregateContext {
  const [host, port] = splitAddress(settings.gateway);
  // A wildcard bind is reached on loopback.
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return {
    gateway: { host: reachable, port },
    agent,
    cache,
    maxBodyBytes: settings.maxPartBodyBytes,
    forwardHeaders: settings.forwardHeaders.map((name) => name.toLowerCase()),
  };
}

function findRoute(routes: readonly CompositeModel[], path: string): { composite: CompositeModel; params: Record<string, string> } | undefined {
  for (const composite of routes) {
    const params = matchRoute(composite.route, path);
    if (params) return { composite, params };
  }
  return undefined;
}

/** `ip:port` or `[ipv6]:port` → [host without brackets, port]. */
export function splitAddress(address: string): [string, number] {
  const at = address.lastIndexOf(':');
  return [address.slice(0, at).replace(/^\[|\]$/g, ''), Number(address.slice(at + 1))];
}

function send(res: http.ServerResponse, status: number, headers: Readonly<Record<string, string>>, body: unknown, headOnly = false): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(headOnly ? undefined : text);
}

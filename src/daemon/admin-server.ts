import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface Readiness {
  readonly ready: boolean;
  /** Why not ready (empty when ready). */
  readonly reasons: readonly string[];
  /** Degraded but still serving: Consul stale, a change held by the guard. */
  readonly warnings: readonly string[];
}

export interface AdminServerOptions {
  /** "ip:port"; IPv6 in brackets. */
  readonly listen: string;
  readonly registry: Registry;
  readiness(): Readiness;
  /** JSON for /status; `?service=<name>` narrows its backends. */
  status(query: URLSearchParams): unknown;
  /** JSON for /model: the model of the applied configuration (null before the first apply). */
  model(): unknown;
  /** POST /guard/confirm: apply a change held by the mass-deregistration guard. */
  confirmGuard(): boolean;
}

export interface AdminServer {
  readonly address: string;
  close(): Promise<void>;
}

/** ipx's own endpoints: /healthz (alive), /readyz (serving a good config from fresh data), /metrics, /status. */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const server = http.createServer((req, res) => {
    void route(req.method ?? 'GET', req.url ?? '/', options).then(({ status, type, body }) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    });
  });
  const { host, port } = splitAddress(options.listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  return {
    address: `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function route(method: string, url: string, options: AdminServerOptions): Promise<{ status: number; type: string; body: string }> {
  const [path, search = ''] = url.split('?') as [string, string?];
  const json = (status: number, value: unknown) => ({ status, type: 'application/json', body: JSON.stringify(value, null, 2) + '\n' });
  if (path === '/guard/confirm') {
    if (method !== 'POST') return json(405, { error: 'method_not_allowed', message: 'use POST (ipx confirm does)' });
    const held = options.confirmGuard();
    return json(held ? 200 : 409, held ? { confirmed: true } : { confirmed: false, message: 'nothing is held' });
  }
  switch (path) {
    case '/healthz':
      return json(200, { status: 'ok' });
    case '/readyz': {
      const readiness = options.readiness();
      return json(readiness.ready ? 200 : 503, readiness);
    }
    case '/metrics':
      return { status: 200, type: options.registry.contentType, body: await options.registry.metrics() };
    case '/status':
      return json(200, await options.status(new URLSearchParams(search)));
    case '/model':
      return json(200, options.model() ?? null);
    default:
      return json(404, { error: 'not_found', endpoints: ['/healthz', '/readyz', '/metrics', '/status', '/model', 'POST /guard/confirm'] });
  }
}

function splitAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(at + 1)) };
}

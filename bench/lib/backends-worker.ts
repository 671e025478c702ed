/**
 * Worker thread holding every upstream of a benchmark: tiny HTTP servers that
 * answer 200 with their name and note, per proxy (the `x-bench-via` header
 * the load generator sets), when their first and last request arrived.
 */
import { createServer, type Server } from 'node:http';
import { serveCalls } from './rpc.ts';
import { VIA_HEADER, type BackendSeen, type ViaSeen } from './backends.ts';

interface Backend {
  readonly server: Server;
  readonly seen: Map<string, ViaSeen>;
  /** When the instance was deregistered or turned critical (requests after it are counted). */
  removedAt: number;
  /** Requests later than removedAt + graceMs count as late. */
  graceMs: number;
}

const backends = new Map<string, Backend>();

function track(backend: Backend, via: string): void {
  const now = Date.now();
  let seen = backend.seen.get(via);
  if (!seen) backend.seen.set(via, (seen = { first: undefined, last: undefined, count: 0, afterRemoval: 0, late: 0 }));
  seen.first ??= now;
  seen.last = now;
  seen.count++;
  if (now > backend.removedAt) seen.afterRemoval++;
  if (now > backend.removedAt + backend.graceMs) seen.late++;
}

function snapshot(name: string): BackendSeen {
  const backend = backends.get(name);
  if (!backend) throw new Error(`bench: no backend named ${name}`);
  return Object.fromEntries([...backend.seen].map(([via, seen]) => [via, { ...seen }]));
}

serveCalls({
  start: async (name: string) => {
    const backend: Backend = {
      server: createServer((req, res) => {
        track(backend, String(req.headers[VIA_HEADER] ?? 'none'));
        req.resume();
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(name);
      }),
      seen: new Map(),
      removedAt: Number.POSITIVE_INFINITY,
      graceMs: 0,
    };
    // HAProxy, not the backend, closes idle server connections (a backend closing one as
    // HAProxy reuses it would be a 502 that has nothing to do with what is measured).
    backend.server.keepAliveTimeout = 65_000;
    backend.server.headersTimeout = 66_000;
    await new Promise<void>((resolve, reject) => {
      backend.server.once('error', reject);
      backend.server.listen(0, '127.0.0.1', () => resolve());
    });
    backends.set(name, backend);
    const address = backend.server.address();
    return address && typeof address === 'object' ? address.port : 0;
  },
  read: (name: string) => snapshot(name),
  /** Forgets first-request times (to time the next first request) and returns what was seen before. */
  rearm: (name: string) => {
    const before = snapshot(name);
    for (const seen of backends.get(name)?.seen.values() ?? []) seen.first = undefined;
    return before;
  },
  markRemoved: ({ name, at, graceMs }: { name: string; at: number; graceMs: number }) => {
    const backend = backends.get(name);
    if (!backend) throw new Error(`bench: no backend named ${name}`);
    backend.removedAt = at;
    backend.graceMs = graceMs;
    for (const seen of backend.seen.values()) seen.afterRemoval = seen.late = 0;
  },
  closeAll: async () => {
    await Promise.all(
      [...backends.values()].map(
        ({ server }) =>
          new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
          }),
      ),
    );
    backends.clear();
  },
});

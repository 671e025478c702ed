import { createServer, type Server } from 'node:http';

/** A tiny upstream answering 200 with its name, keep-alive on. */
export interface TestBackend {
  readonly name: string;
  readonly port: number;
  /** Requests it has answered. */
  requests(): number;
  close(): Promise<void>;
}

/** Requests for paths under /slow are held this long before the answer (a request in flight). */
export const SLOW_MS = 1000;

export async function startBackend(name: string, host = '127.0.0.1'): Promise<TestBackend> {
  let count = 0;
  const server: Server = createServer((req, res) => {
    count++;
    req.resume();
    const answer = () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'x-backend': name });
      res.end(name);
    };
    if (req.url?.startsWith('/slow')) setTimeout(answer, SLOW_MS);
    else answer();
  });
  // Longer than HAProxy keeps an idle server connection, so HAProxy, not the backend,
  // closes idle connections: a backend closing one as HAProxy reuses it would be a 502
  // that has nothing to do with reloads.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const address = server.address();
  const port = address && typeof address === 'object' ? address.port : 0;
  return {
    name,
    port,
    requests: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

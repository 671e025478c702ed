import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DemoService {
  readonly name: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * A tiny HTTP service for `ipx dev` and `ipx demo-service`: answers every
 * request with JSON naming itself, and /health with 200.
 */
export async function startDemoService(options: { name: string; host?: string; port?: number }): Promise<DemoService> {
  const host = options.host ?? '127.0.0.1';
  const server = http.createServer((req, res) => {
    const body = JSON.stringify({ service: options.name, port: (server.address() as AddressInfo).port, path: req.url }) + '\n';
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    name: options.name,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

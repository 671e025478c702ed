import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DemoService {
  readonly name: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface DemoServiceOptions {
  name: string;
  /** The Consul instance id and ipx-version label, echoed so a caller sees which instance and version answered. */
  instance?: string;
  version?: string;
  host?: string;
  port?: number;
}

/**
 * A tiny HTTP service for `ipx dev` and `ipx demo-service`: answers every
 * request with JSON naming itself (and the caller the gateway identified,
 * from X-Ipx-Caller), and /health with 200.
 */
export async function startDemoService(options: DemoServiceOptions): Promise<DemoService> {
  const host = options.host ?? '127.0.0.1';
  const server = http.createServer((req, res) => {
    const caller = req.headers['x-ipx-caller'];
    const answer = {
      service: options.name,
      ...(options.instance ? { instance: options.instance } : {}),
      ...(options.version ? { version: options.version } : {}),
      port: (server.address() as AddressInfo).port,
      path: req.url,
      ...(typeof caller === 'string' ? { caller } : {}),
    };
    const body = JSON.stringify(answer) + '\n';
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

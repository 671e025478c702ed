import { createServer, type Server } from 'node:net';

/**
 * Distinct free TCP ports on 127.0.0.1, found by binding port 0. All sockets
 * stay open until every port is known, so the same port is never handed out
 * twice; another process can still take one before it is used, which is why
 * the dev agent retries on "address already in use".
 */
export async function findFreePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      ports.push(await listen(server, host));
    }
    return ports;
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

function listen(server: Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      if (address && typeof address === 'object') resolve(address.port);
      else reject(new Error(`could not read the port bound on ${host}`));
    });
  });
}

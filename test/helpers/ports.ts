import { createServer, type Server } from 'node:net';
import { findFreePorts } from '../../src/consul/free-ports.ts';

export { findFreePorts };

/** One free TCP port on 127.0.0.1 (bound to :0, then released). */
export async function freePort(): Promise<number> {
  const [port] = await findFreePorts(1);
  return port as number;
}

/** A port held open by this process, so that HAProxy's bind on it fails. */
export interface HeldPort {
  readonly port: number;
  release(): Promise<void>;
}

export function holdPort(host = '127.0.0.1'): Promise<HeldPort> {
  return new Promise((resolve, reject) => {
    const server: Server = createServer();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = address && typeof address === 'object' ? address.port : 0;
      resolve({ port, release: () => new Promise<void>((done) => server.close(() => done())) });
    });
  });
}

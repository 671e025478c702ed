import { createServer, type Server } from 'node:net';
import { findFreePorts } from '../../src/consul/free-ports.ts';

export { findFreePorts };

/** One free TCP port on 127.0.0.1, from this worker's own ports (src/consul/free-ports.ts). */
export async function freePort(): Promise<number> {
  const [port] = await findFreePorts(1);
  return port as number;
}

/** A port held open by this process, so that HAProxy's bind on it fails. */
export interface HeldPort {
  readonly port: number;
  release(): Promise<void>;
}

/**
 * Holds one of this worker's free ports (not port 0: a test that releases the port
 * to use it later must not get one from the kernel's ephemeral range).
 */
export async function holdPort(host = '127.0.0.1'): Promise<HeldPort> {
  for (let attempt = 1; ; attempt++) {
    const [port] = (await findFreePorts(1, host)) as [number];
    try {
      return await listenOn(port, host);
    } catch (err) {
      // Another process took it since it was found free: take the next one.
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt === 3) throw err;
    }
  }
}

function listenOn(port: number, host: string): Promise<HeldPort> {
  return new Promise((resolve, reject) => {
    const server: Server = createServer();
    server.once('error', reject);
    server.listen({ port, host, exclusive: true }, () => {
      resolve({ port, release: () => new Promise<void>((done) => server.close(() => done())) });
    });
  });
}

import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { ConsulError } from '../errors.ts';
import { parseEphemeralRange, poolRange, workerIdOf, workerSlice, type PortRange } from './port-range.ts';

/**
 * Loopback ports for `ipx dev`'s Consul agent, the tests and the benches.
 *
 * Not binding port 0 (nor get-port, which falls back to it): the kernel answers from
 * its ephemeral range, where any outgoing connection can take the port before the
 * process it was meant for binds it (port-range.ts). Ports come from below that
 * range, from this test worker's own slice of it so that parallel workers never
 * hand out the same one, starting at a random place so that separate runs on one
 * host rarely meet. Each candidate is bound once to see that it is free; a process
 * can still take it before it is used, which is why the dev agent retries on
 * "address already in use".
 */
export async function findFreePorts(count: number, host = '127.0.0.1', avoid: ReadonlySet<number> = NONE): Promise<number[]> {
  defaultAllocator ??= createDefaultAllocator();
  return (await defaultAllocator).take(count, host, avoid);
}

const NONE: ReadonlySet<number> = new Set();

export interface PortAllocatorOptions {
  readonly range: PortRange;
  /** The first port to try; default: a random one in the range. */
  readonly start?: number;
  /** Whether a port can be listened on now; default: listen on it and close. */
  readonly canListen?: (port: number, host: string) => Promise<boolean>;
}

export interface PortAllocator {
  readonly range: PortRange;
  /**
   * `count` ports of the range that could be listened on, none handed out before by
   * this allocator and none in `avoid` (ports something else is about to bind).
   */
  take(count: number, host?: string, avoid?: ReadonlySet<number>): Promise<number[]>;
}

/**
 * Walks the range round from `start`. A port is marked before it is tried, so
 * calls running at once never get the same one; a port found busy stays marked
 * too. Only when a whole round finds nothing are the marks forgotten: by then the
 * ports handed out earliest are in use (the bind check skips them) or abandoned.
 */
/**
 * Ports the Fetch standard's "bad port" list blocks: Node's fetch refuses them
 * ("fetch failed"), so an agent or an HAProxy there could not be talked to. Of
 * the list, only these lie above 1023.
 */
const FETCH_BLOCKED: ReadonlySet<number> = new Set([1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080]);

export function createPortAllocator(options: PortAllocatorOptions): PortAllocator {
  const { range } = options;
  const size = range.to - range.from + 1;
  const canListen = options.canListen ?? listenable;
  const marked = new Set<number>();
  let next = (options.start ?? range.from + Math.floor(Math.random() * size)) - range.from;

  async function takeOne(host: string, avoid: ReadonlySet<number>): Promise<number> {
    for (let round = 0; round < 2; round++) {
      for (let tried = 0; tried < size; tried++) {
        const port = range.from + next;
        next = (next + 1) % size;
        if (marked.has(port) || FETCH_BLOCKED.has(port) || avoid.has(port)) continue;
        marked.add(port);
        if (await canListen(port, host)) return port;
      }
      marked.clear();
    }
    throw new ConsulError(
      `free ports: no TCP port on ${host} between ${range.from} and ${range.to} can be listened on; stop what holds them, or lower the start of net.ipv4.ip_local_port_range's range so that more ports lie below it`,
    );
  }

  return {
    range,
    async take(count, host = '127.0.0.1', avoid = NONE) {
      const ports: number[] = [];
      for (let i = 0; i < count; i++) ports.push(await takeOne(host, avoid));
      return ports;
    },
  };
}

let defaultAllocator: Promise<PortAllocator> | undefined;

async function createDefaultAllocator(): Promise<PortAllocator> {
  // Missing outside Linux: poolRange assumes Linux's default, which is below other kernels' ranges too.
  const text = await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').catch(() => '');
  return createPortAllocator({ range: workerSlice(poolRange(parseEphemeralRange(text)), workerIdOf(process.env)) });
}

/** True when `port` on `host` can be listened on now; an address that can never be bound is an error, not a busy port. */
function listenable(port: number, host: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve(false);
      else reject(new ConsulError(`free ports: cannot listen on ${host}:${port} (${err.code ?? err.message}); use a local address`, { cause: err }));
    });
    // exclusive: the kernel's own answer, not a handle shared through a cluster primary.
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

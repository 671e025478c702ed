/**
 * A TCP relay in front of the Consul agent that counts what a client costs the
 * agent: connections (open now and at most at once), requests and bytes in
 * each direction. Each connection it accepts is one connection to the agent
 * from the same loopback address, so the agent's per-client limit applies as
 * it would without the relay.
 */
import net from 'node:net';

export interface Counters {
  readonly requests: number;
  readonly bytesToClient: number;
  readonly bytesFromClient: number;
  readonly open: number;
  readonly peakOpen: number;
  /** Connections the agent closed before the client did (its limit, on Consul 1.8). */
  readonly closedByAgent: number;
}

export interface CountingProxy {
  /** http://127.0.0.1:<port> */
  readonly address: string;
  counters(): Counters;
  /** Starts a new peak from the connections open now. */
  resetPeak(): void;
  close(): Promise<void>;
}

// A request line: what one HTTP/1.1 request starts with (requests are small; one chunk each).
const REQUEST_LINE = /^(GET|PUT|POST|DELETE|HEAD) \//;

export async function startCountingProxy(agentPort: number): Promise<CountingProxy> {
  const counts = { requests: 0, bytesToClient: 0, bytesFromClient: 0, open: 0, peakOpen: 0, closedByAgent: 0 };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    counts.open += 1;
    counts.peakOpen = Math.max(counts.peakOpen, counts.open);
    const agent = net.connect(agentPort, '127.0.0.1');
    // Neither side may wait to fill a segment: with Nagle's algorithm, a relayed answer that arrives in
    // two pieces holds its second until the client acknowledges the first, which Linux delays by up
    // to 40 ms (measured: reads 47 ms through the relay, 2 ms without). ipx talks to the agent directly.
    client.setNoDelay(true);
    agent.setNoDelay(true);
    sockets.add(client).add(agent);
    client.on('data', (chunk: Buffer) => {
      counts.bytesFromClient += chunk.length;
      if (REQUEST_LINE.test(chunk.toString('latin1', 0, 8))) counts.requests += 1;
    });
    agent.on('data', (chunk: Buffer) => (counts.bytesToClient += chunk.length));
    client.pipe(agent);
    agent.pipe(client);
    let closed = false;
    const end = (byAgent: boolean) => {
      if (closed) return;
      closed = true;
      counts.open -= 1;
      if (byAgent) counts.closedByAgent += 1;
      client.destroy();
      agent.destroy();
      sockets.delete(client);
      sockets.delete(agent);
    };
    agent.on('close', () => end(true));
    client.on('close', () => end(false));
    agent.on('error', () => end(true));
    client.on('error', () => end(false));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    address: `http://127.0.0.1:${port}`,
    counters: () => ({ ...counts }),
    resetPeak: () => (counts.peakOpen = counts.open),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Per second, between two readings taken `ms` apart. */
export function ratesBetween(before: Counters, after: Counters, ms: number): { requests: number; bytes: number } {
  const seconds = ms / 1000;
  return {
    requests: (after.requests - before.requests) / seconds,
    bytes: (after.bytesToClient - before.bytesToClient + after.bytesFromClient - before.bytesFromClient) / seconds,
  };
}

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { listenLoopback } from './http.ts';

/** How a policy backend answers right now; tests change it while traffic flows. */
export interface Behaviour {
  /** Status for every path but /health. */
  status: number;
  /** Status of /health (active checks). */
  health: number;
  /** Delay before answering, in ms. */
  delayMs: number;
  /** Close the connection without an answer (HAProxy sees an empty response). */
  hangUp: boolean;
}

/** What the backend echoes: its name and the request it saw. */
export interface Echo {
  readonly name: string;
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

export interface PolicyBackend {
  readonly name: string;
  readonly port: number;
  readonly behaviour: Behaviour;
  /** Requests answered, /health excluded. */
  hits(): number;
  healthHits(): number;
  close(): Promise<void>;
}

/** An upstream whose answers a test controls; the body is a JSON Echo. */
export async function startPolicyBackend(name: string, initial: Partial<Behaviour> = {}): Promise<PolicyBackend> {
  const behaviour: Behaviour = { status: 200, health: 200, delayMs: 0, hangUp: false, ...initial };
  let hits = 0;
  let healthHits = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    if (req.url === '/health' || req.url?.startsWith('/health?')) {
      healthHits++;
      res.writeHead(behaviour.health, { 'content-type': 'text/plain' });
      res.end(name);
      return;
    }
    hits++;
    if (behaviour.hangUp) {
      req.socket.destroy();
      return;
    }
    const answer = () => {
      const echo: Echo = { name, method: req.method ?? '', url: req.url ?? '', headers: req.headers };
      res.writeHead(behaviour.status, { 'content-type': 'application/json', 'x-backend': name });
      res.end(JSON.stringify(echo));
    };
    if (behaviour.delayMs > 0) setTimeout(answer, behaviour.delayMs);
    else answer();
  });
  const port = await listenLoopback(server);
  return {
    name,
    port,
    behaviour,
    hits: () => hits,
    healthHits: () => healthHits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

import { Agent, request } from 'node:http';

export interface LoadOptions {
  readonly host: string;
  readonly port: number;
  /** Sent as the Host header. */
  readonly hostHeader?: string;
  /** Clients that each reuse one keep-alive connection. */
  readonly keepAliveClients: number;
  /** Clients that open a fresh connection for every request (agent: false). */
  readonly freshClients: number;
  /** Stops by itself after this long, whatever happens. */
  readonly maxDurationMs: number;
  /** A request that takes longer counts as an error (`timeout`). */
  readonly requestTimeoutMs?: number;
}

export interface LoadResult {
  readonly requests: number;
  readonly keepAliveRequests: number;
  readonly freshRequests: number;
  /** Responses by status code. */
  readonly statuses: Record<string, number>;
  /** Requests that got no response, by error code. */
  readonly errors: Record<string, number>;
  readonly errorCount: number;
  readonly non2xx: number;
  /** Response bodies (the backend's name) and how often each came back. */
  readonly bodies: Record<string, number>;
  readonly durationMs: number;
}

export interface LoadRun {
  /** Stops sending, waits for requests in flight, closes the clients' connections. */
  stop(): Promise<LoadResult>;
  /** Resolves when the load stopped (stop() or maxDurationMs). */
  readonly done: Promise<LoadResult>;
}

/** A bounded load client: counts every status and every socket error; never retries. */
export function startLoad(options: LoadOptions): LoadRun {
  const started = performance.now();
  const deadline = Date.now() + options.maxDurationMs;
  const statuses: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const bodies: Record<string, number> = {};
  const counts = { keepAlive: 0, fresh: 0 };
  let stopped = false;
  const agents = Array.from({ length: options.keepAliveClients }, () => new Agent({ keepAlive: true, maxSockets: 1 }));

  const once = (agent: Agent | false) =>
    new Promise<void>((resolve) => {
      let finished = false;
      const finish = (record: () => void) => {
        if (finished) return;
        finished = true;
        record();
        resolve();
      };
      const req = request(
        { host: options.host, port: options.port, path: '/', agent, headers: options.hostHeader ? { host: options.hostHeader } : {} },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () =>
            finish(() => {
              bump(statuses, String(res.statusCode));
              bump(bodies, body);
            }),
          );
          res.on('error', (err: NodeJS.ErrnoException) => finish(() => bump(errors, err.code ?? err.message)));
        },
      );
      req.setTimeout(options.requestTimeoutMs ?? 5000, () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
      req.on('error', (err: NodeJS.ErrnoException) => finish(() => bump(errors, err.code ?? err.message)));
      req.end();
    });

  const client = async (agent: Agent | false) => {
    while (!stopped && Date.now() < deadline) {
      await once(agent);
      if (agent) counts.keepAlive++;
      else counts.fresh++;
    }
  };

  const done = Promise.all([...agents.map((agent) => client(agent)), ...Array.from({ length: options.freshClients }, () => client(false))]).then(() => {
    for (const agent of agents) agent.destroy();
    const errorCount = Object.values(errors).reduce((sum, n) => sum + n, 0);
    const non2xx = Object.entries(statuses).reduce((sum, [status, n]) => (status.startsWith('2') ? sum : sum + n), 0);
    return {
      requests: counts.keepAlive + counts.fresh,
      keepAliveRequests: counts.keepAlive,
      freshRequests: counts.fresh,
      statuses,
      errors,
      errorCount,
      non2xx,
      bodies,
      durationMs: Math.round(performance.now() - started),
    };
  });

  return {
    done,
    stop: () => {
      stopped = true;
      return done;
    },
  };
}

function bump(record: Record<string, number>, key: string): void {
  record[key] = (record[key] ?? 0) + 1;
}

/** The load generator (a worker thread), seen from the benchmark's main thread. */
import { startWorker } from './rpc.ts';

export interface LoadPlan {
  /** Each proxy gets the same clients and the same rate; `via` names it in results and to the backends. */
  readonly targets: ReadonlyArray<{ readonly via: string; readonly port: number }>;
  /** Host headers of the services that exist for the whole run. */
  readonly hosts: readonly string[];
  /** Per target: clients each reusing one keep-alive connection. */
  readonly keepAliveClients: number;
  /** Per target: clients opening a new connection for every request. */
  readonly freshClients: number;
  /** Requests per second offered to each target (paced; a slow answer delays only its client). */
  readonly ratePerTarget: number;
  /** While probe hosts are set, every probeEvery-th request of a client goes to one of them. */
  readonly probeEvery: number;
  readonly timeoutMs: number;
  /** The worker stops by itself after this long, whatever happens. */
  readonly maxDurationMs: number;
}

/** A service being added or removed, as the load saw it; times are when the request was sent. */
export interface ProbeSeen {
  first200: number | undefined;
  last200: number | undefined;
  ok: number;
  other: number;
}

export interface ViaLoad {
  readonly requests: number;
  readonly keepAlive: number;
  readonly fresh: number;
  /** Statuses of requests to steady services. */
  readonly statuses: Record<string, number>;
  /** Statuses of probes (404/503 are expected before a service exists and after it is gone). */
  readonly probeStatuses: Record<string, number>;
  /** Requests that got no response, by error code. */
  readonly errors: Record<string, number>;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** Requests completed in each second of the run. */
  readonly perSecond: number[];
  readonly probes: Record<string, ProbeSeen>;
  /** The first few non-2xx answers and errors on steady services, for diagnosis. */
  readonly failures: Array<{ readonly at: number; readonly host: string; readonly what: string }>;
}

export interface LoadResult {
  readonly durationMs: number;
  readonly ratePerTarget: number;
  readonly vias: Record<string, ViaLoad>;
}

export interface LoadRun {
  /** Sets the hosts probed from now on (an empty list stops probing). */
  probe(hosts: readonly string[]): Promise<void>;
  /** The worker's event-loop utilisation since start (0..1): near 1 means the generator itself is the bottleneck. */
  utilization(): number;
  /** Stops sending, waits for requests in flight, returns the counts and ends the worker. */
  stop(): Promise<LoadResult>;
}

export async function startLoad(plan: LoadPlan): Promise<LoadRun> {
  const client = startWorker(new URL('./load-worker.ts', import.meta.url), plan);
  await client.call('start');
  let stopped: Promise<LoadResult> | undefined;
  return {
    probe: (hosts) => client.call('probe', [...hosts]),
    utilization: () => client.worker.performance.eventLoopUtilization().utilization,
    stop: () =>
      (stopped ??= (async () => {
        const result = await client.call<LoadResult>('stop');
        await client.terminate();
        return result;
      })()),
  };
}

/** Requests sent per second over the run, and the slowest whole second (a stall shows there). */
export function achievedRate(via: ViaLoad, durationMs: number): { perSecond: number; slowestSecond: number } {
  const whole = via.perSecond.slice(1, Math.max(1, Math.floor(durationMs / 1000)));
  return { perSecond: Math.round((via.requests * 1000) / Math.max(1, durationMs)), slowestSecond: whole.length ? Math.min(...whole) : via.requests };
}

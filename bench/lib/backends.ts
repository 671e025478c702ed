/** The backends worker, seen from the benchmark's main thread. */
import { startWorker, type WorkerClient } from './rpc.ts';

/** Header the load generator sets so a backend knows which proxy forwarded a request. */
export const VIA_HEADER = 'x-bench-via';

/** What one backend saw from one proxy; times are Date.now() values. */
export interface ViaSeen {
  first: number | undefined;
  last: number | undefined;
  count: number;
  /** Requests after the removal time set with markRemoved. */
  afterRemoval: number;
  /** Requests more than the grace period after it. */
  late: number;
}

/** Per proxy (`via`). */
export type BackendSeen = Record<string, ViaSeen>;

export interface Backends {
  /** Starts an HTTP server named `name` on a free loopback port; resolves with the port. */
  start(name: string): Promise<number>;
  read(name: string): Promise<BackendSeen>;
  /** Returns what was seen and forgets first-request times, so the next first request is timed afresh. */
  rearm(name: string): Promise<BackendSeen>;
  /** Counts requests after `at` (the instance left Consul's passing set), and those after `at + graceMs` as late. */
  markRemoved(name: string, at: number, graceMs: number): Promise<void>;
  /** The worker's event-loop utilisation since start (0..1). */
  utilization(): number;
  /** Closes every server, then the worker. */
  stop(): Promise<void>;
}

export function startBackends(): Backends {
  const client: WorkerClient = startWorker(new URL('./backends-worker.ts', import.meta.url));
  return {
    start: (name) => client.call<number>('start', name),
    read: (name) => client.call<BackendSeen>('read', name),
    rearm: (name) => client.call<BackendSeen>('rearm', name),
    markRemoved: (name, at, graceMs) => client.call<void>('markRemoved', { name, at, graceMs }),
    utilization: () => client.worker.performance.eventLoopUtilization().utilization,
    stop: async () => {
      await client.call('closeAll').catch(() => undefined);
      await client.terminate();
    },
  };
}

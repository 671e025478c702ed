import type { LimitFunction } from 'p-limit';
import type { ViewEffects, ViewTiming } from './blocking-view.ts';
import type { ConsulClient } from './client.ts';

/**
 * What every non-blocking read of the watcher shares: the client, the pool of
 * consul.maxConnections less the long-held queries, the watcher's stop signal,
 * backoff timing and a per-request timeout (ms).
 */
export interface ReadPool {
  readonly client: ConsulClient;
  readonly limit: LimitFunction;
  readonly signal: AbortSignal;
  readonly timing: ViewTiming;
  readonly effects: ViewEffects;
  readonly timeoutMs: number;
}

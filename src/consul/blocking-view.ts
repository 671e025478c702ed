/**
 * Blocking-query hygiene in one place (Consul's "Blocking Queries" docs and
 * consul-template's view): index 0 first; same index loops silently; an index
 * that goes backwards or is not a positive integer resets to 0; deep-equal
 * data emits nothing; a floor between calls that return at once; exponential
 * backoff with jitter on errors, reset by any success. An error never emits data.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { ConsulError, errorMessage } from '../errors.ts';
import type { ConsulClient } from './client.ts';
import type { Query } from './query.ts';

export interface ViewTiming {
  /** Floor between two calls when Consul answers at once (index reset, busy key). */
  readonly minIntervalMs: number;
  /** Random extra on top of the floor and of every backoff, so views do not move in lockstep. */
  readonly jitterMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** Added to wait + wait/16 (Consul's own jitter) before a request is given up; alone for non-blocking reads. */
  readonly timeoutMarginMs: number;
}

export const DEFAULT_VIEW_TIMING: ViewTiming = Object.freeze({
  minIntervalMs: 100,
  jitterMs: 50,
  backoffBaseMs: 250,
  backoffMaxMs: 30_000,
  timeoutMarginMs: 10_000,
});

/** The clock and randomness a view uses; injected so tests run without real waits. */
export interface ViewEffects {
  /** Resolves after ms, or early (without throwing) when the signal aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  now(): number;
  /** In [0, 1). */
  random(): number;
}

export const REAL_EFFECTS: ViewEffects = Object.freeze({
  sleep: async (ms: number, signal: AbortSignal) => {
    if (ms <= 0 || signal.aborted) return;
    await delay(ms, undefined, { signal }).catch(() => undefined);
  },
  now: () => Date.now(),
  random: () => Math.random(),
});

export interface IndexDecision {
  /** Index to send next. */
  readonly index: string;
  /** False when the answer cannot hold anything new (same index): skip comparing. */
  readonly fresh: boolean;
}

/** Pure: what to do with the X-Consul-Index of an answer. */
export function nextIndex(previous: string, received: string): IndexDecision {
  // A non-positive or garbled index would make the next call return at once forever.
  if (!/^\d+$/.test(received) || BigInt(received) === 0n) return { index: '0', fresh: true };
  const prev = /^\d+$/.test(previous) ? BigInt(previous) : 0n;
  const next = BigInt(received);
  if (prev !== 0n && next === prev) return { index: previous, fresh: false };
  // Backwards means Consul's state was reset (snapshot restore, new leader with other data).
  if (next < prev) return { index: '0', fresh: true };
  return { index: received, fresh: true };
}

/** Pure: wait before retry number `attempt` (1 = first failure): base doubling to max, plus jitter. */
export function backoffDelay(attempt: number, timing: ViewTiming, random: number): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const base = Math.min(timing.backoffMaxMs, timing.backoffBaseMs * 2 ** exponent);
  return Math.round(base + random * timing.jitterMs);
}

/** Pure: wait after a successful call that took `elapsedMs`, so quick answers cannot become a busy loop. */
export function pacingDelay(elapsedMs: number, timing: ViewTiming, random: number): number {
  return Math.max(0, Math.round(timing.minIntervalMs + random * timing.jitterMs - elapsedMs));
}

/**
 * Pure: Consul may hold a blocking request for wait + wait/16; past that plus a
 * margin the connection is dead. A read at index 0 does not block: the margin alone.
 */
export function requestTimeout(index: string, waitMs: number, timing: ViewTiming): number {
  const held = index === '0' ? 0 : waitMs + waitMs / 16;
  return Math.ceil(held + timing.timeoutMarginMs);
}

export interface BlockingViewOptions<T> {
  readonly client: ConsulClient;
  readonly query: Query<T>;
  /** Blocking wait in ms (config consul.wait). */
  readonly wait: number;
  /** Aborting it cancels the request in flight and ends the view. */
  readonly signal: AbortSignal;
  /**
   * Ends the view once true, after the call in flight has answered: no request is cut short,
   * so its connection goes back to the keep-alive pool instead of being closed.
   */
  readonly retired?: () => boolean;
  /** New data: the first answer, then only answers that differ (deep-equal). */
  onData(data: T): void;
  /** Every failed call, with its position in the current failure streak (1, 2, ...). */
  onError(error: ConsulError, attempt: number): void;
  /** Every successful call, changed or not, with its X-Consul-Index: Consul is being read. */
  onSuccess?(index: string): void;
  readonly timing?: Partial<ViewTiming>;
  readonly effects?: Partial<ViewEffects>;
}

/** Runs one view until the signal aborts; never rejects. */
export async function runBlockingView<T>(options: BlockingViewOptions<T>): Promise<void> {
  const { client, query, wait, signal } = options;
  const timing: ViewTiming = { ...DEFAULT_VIEW_TIMING, ...options.timing };
  const effects: ViewEffects = { ...REAL_EFFECTS, ...options.effects };
  let index = '0';
  let last: { data: T } | undefined;
  let failures = 0;

  const retired = options.retired ?? (() => false);
  while (!signal.aborted && !retired()) {
    const started = effects.now();
    let result;
    try {
      result = await query.fetch(client, { index, wait, signal, timeout: requestTimeout(index, wait, timing) });
    } catch (err) {
      if (signal.aborted) return;
      failures += 1;
      // After a failure Consul may be another server or a restarted agent whose index is
      // lower than ours; a blocking call would then sit out the whole wait. Re-read at once.
      index = '0';
      options.onError(asConsulError(err, query.key), failures);
      if (retired()) return;
      await effects.sleep(backoffDelay(failures, timing, effects.random()), signal);
      continue;
    }
    if (signal.aborted) return;
    failures = 0;
    options.onSuccess?.(result.index);
    const decision = nextIndex(index, result.index);
    index = decision.index;
    if (decision.fresh && !(last && isDeepStrictEqual(last.data, result.data))) {
      last = { data: result.data };
      options.onData(result.data);
    }
    if (retired()) return;
    await effects.sleep(pacingDelay(effects.now() - started, timing, effects.random()), signal);
  }
}

export function asConsulError(err: unknown, key: string): ConsulError {
  if (err instanceof ConsulError) return err;
  return new ConsulError(`consul: reading ${key} failed unexpectedly (${errorMessage(err)}); this is a bug in ipx, please report it`, {
    cause: err,
  });
}

/**
 * One long-held blocking query of the watcher (the catalog's service list, the
 * unhealthy checks, the KV prefix, the intentions): its last answer and its
 * failure streak, for the watcher's state and its readiness.
 */
import type { ConsulError } from '../errors.ts';
import { runBlockingView, type BlockingViewOptions } from './blocking-view.ts';

export interface Slot<T> {
  readonly key: string;
  /** Resolves once the view has ended (its parent signal aborted). */
  readonly done: Promise<void>;
  readonly data: { readonly value: T } | undefined;
  readonly failures: number;
  readonly failingSince: number | undefined;
  /** Ends this view alone (its parent's abort ends them all). */
  stop(): void;
  /** Ends this view once its call in flight has answered, reusing its connection; resolves when it has ended. */
  retire(): Promise<void>;
}

export interface SlotHooks<T> {
  onData(data: T): void;
  /** Every successful call with its X-Consul-Index, and the length of the failure streak it ends (0: none). */
  onSuccess(index: string, failures: number): void;
  onError(error: ConsulError, attempt: number): void;
}

export type SlotView<T> = Pick<BlockingViewOptions<T>, 'client' | 'query' | 'wait' | 'timing' | 'effects'> & {
  /** Aborting it ends the view. */
  readonly parent: AbortSignal;
  readonly now: () => number;
};

export function startSlot<T>(view: SlotView<T>, hooks: SlotHooks<T>): Slot<T> {
  const controller = new AbortController();
  let retired = false;
  // A slot started after its parent ended (a hand-over finishing as the watcher stops) sends nothing.
  if (view.parent.aborted) controller.abort();
  else view.parent.addEventListener('abort', () => controller.abort(), { once: true });
  const slot: { -readonly [K in keyof Slot<T>]: Slot<T>[K] } = {
    key: view.query.key,
    done: Promise.resolve(),
    data: undefined,
    failures: 0,
    failingSince: undefined,
    stop: () => controller.abort(),
    retire: () => {
      retired = true;
      return slot.done;
    },
  };
  slot.done = runBlockingView({
    client: view.client,
    query: view.query,
    wait: view.wait,
    signal: controller.signal,
    retired: () => retired,
    ...(view.timing ? { timing: view.timing } : {}),
    ...(view.effects ? { effects: view.effects } : {}),
    onSuccess: (index) => {
      hooks.onSuccess(index, slot.failures);
      slot.failures = 0;
      slot.failingSince = undefined;
    },
    onData: (data) => {
      slot.data = { value: data };
      hooks.onData(data);
    },
    onError: (error, attempt) => {
      slot.failures = attempt;
      slot.failingSince ??= view.now();
      hooks.onError(error, attempt);
    },
  });
  return slot;
}

import { systemClock, type Clock } from './clock.ts';
import { IDLE, onChange, onTaken, type DebounceState, type DebounceWindow } from './debounce.ts';

export type RunnerEvent<R> =
  | { type: 'run-ok'; result: R; durationMs: number }
  | { type: 'run-failed'; error: unknown; durationMs: number };

export interface RunnerOptions<T, R> {
  window: DebounceWindow;
  /** One pipeline run; never called concurrently. */
  run: (input: T) => Promise<R>;
  onEvent?: (event: RunnerEvent<R>) => void;
  clock?: Clock;
}

/**
 * Drives the pipeline: debounces submitted inputs, keeps only the latest one
 * while a run is in flight (at most one run in flight, one queued), and
 * reports each outcome. A failed run leaves the runner working: the next
 * input is tried as usual.
 */
export class Runner<T, R> {
  private readonly options: RunnerOptions<T, R>;
  private readonly clock: Clock;
  private debounce: DebounceState = IDLE;
  private pending: { input: T } | undefined;
  private dueAt = 0;
  private timer: unknown;
  private inFlight: Promise<void> | undefined;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  constructor(options: RunnerOptions<T, R>) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
  }

  /** Hands the runner a new input; the latest one wins. Ignored after close(). */
  submit(input: T): void {
    if (this.closed) return;
    const next = onChange(this.debounce, this.clock.now(), this.options.window);
    this.debounce = next.state;
    this.pending = { input };
    this.dueAt = next.dueAt;
    this.schedule();
  }

  /** Resolves once nothing is pending and no run is in flight. */
  idle(): Promise<void> {
    if (!this.pending && !this.inFlight) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking inputs, drops what is pending, waits for the run in flight. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.pending = undefined;
    this.clearTimer();
    await this.inFlight;
    this.notifyIdle();
  }

  private schedule(): void {
    if (this.inFlight || !this.pending) return;
    this.clearTimer();
    const delay = Math.max(0, this.dueAt - this.clock.now());
    if (delay === 0) {
      this.startRun();
      return;
    }
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.startRun();
    }, delay);
  }

  private startRun(): void {
    const pending = this.pending;
    if (!pending || this.inFlight || this.closed) return;
    this.pending = undefined;
    this.debounce = onTaken(this.debounce);
    this.inFlight = this.execute(pending.input).finally(() => {
      this.inFlight = undefined;
      if (this.pending) this.schedule();
      else this.notifyIdle();
    });
  }

  private async execute(input: T): Promise<void> {
    const started = this.clock.now();
    try {
      const result = await this.options.run(input);
      this.options.onEvent?.({ type: 'run-ok', result, durationMs: this.clock.now() - started });
    } catch (error) {
      this.options.onEvent?.({ type: 'run-failed', error, durationMs: this.clock.now() - started });
    }
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

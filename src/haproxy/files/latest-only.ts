/**
 * Runs `task` on the latest value handed to it, one run at a time: a value
 * handed in while a run is going waits for it, and replaces any value waiting
 * before it. After each run it rests `rest(ms the run took)` before the next,
 * unless a flush hurries it. The manager writes the files of runtime applies
 * this way: the check takes most of a core for a second at 5,000 services,
 * only the newest files matter, and resting as long as the check took keeps
 * it to half a core at most however fast changes come.
 */
export interface LatestOnly<T> {
  /** Runs `task(value)` now, or after the run going (and its rest), unless a newer value comes first. */
  push(value: T): void;
  /** Drops the value waiting, if any (the run going finishes). */
  drop(): void;
  /** Runs what waits without resting; resolves once nothing runs or waits. */
  flush(): Promise<void>;
}

export function latestOnly<T>(task: (value: T) => Promise<void>, rest: (ranMs: number) => number = () => 0): LatestOnly<T> {
  let wanted: { readonly value: T } | undefined;
  let running: Promise<void> | undefined;
  let hurry: (() => void) | undefined;
  // Flushes waiting: no rest until they are done.
  let flushing = 0;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done(): void {
        clearTimeout(timer);
        hurry = undefined;
        resolve();
      }
      hurry = done;
    });
  return {
    push(value) {
      wanted = { value };
      running ??= (async () => {
        while (wanted) {
          const { value: next } = wanted;
          wanted = undefined;
          const started = performance.now();
          await task(next);
          const ms = rest(performance.now() - started);
          if (ms > 0 && flushing === 0) await pause(ms);
        }
      })().finally(() => {
        running = undefined;
      });
    },
    drop() {
      wanted = undefined;
    },
    async flush() {
      flushing += 1;
      try {
        while (running) {
          hurry?.();
          await running;
        }
      } finally {
        flushing -= 1;
      }
    },
  };
}

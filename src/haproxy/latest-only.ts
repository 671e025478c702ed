/**
 * Runs `task` on the latest value handed to it, one run at a time: a value
 * handed in while a run is going waits for it, and replaces any value waiting
 * before it. The manager writes the files of runtime applies this way: the
 * check takes a second at 5,000 services, and only the newest files matter.
 */
export interface LatestOnly<T> {
  /** Runs `task(value)` now, or after the run going, unless a newer value comes first. */
  push(value: T): void;
  /** Drops the value waiting, if any (the run going finishes). */
  drop(): void;
  /** Resolves once nothing runs or waits. */
  flush(): Promise<void>;
}

export function latestOnly<T>(task: (value: T) => Promise<void>): LatestOnly<T> {
  let wanted: { readonly value: T } | undefined;
  let running: Promise<void> | undefined;
  return {
    push(value) {
      wanted = { value };
      running ??= (async () => {
        while (wanted) {
          const { value: next } = wanted;
          wanted = undefined;
          await task(next);
        }
      })().finally(() => {
        running = undefined;
      });
    },
    drop() {
      wanted = undefined;
    },
    async flush() {
      while (running) await running;
    },
  };
}

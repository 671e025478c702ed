import type { WatcherState } from '../consul/index.ts';

export interface FirstSyncProgressOptions {
  readonly state: () => Pick<WatcherState, 'views' | 'viewsRead' | 'services'>;
  readonly stream: NodeJS.WritableStream;
  /** How often progress is redrawn (ms). */
  readonly intervalMs?: number;
  /** Progress shows only once the sync has taken this long: a small catalog just gets the final line. */
  readonly quietMs?: number;
  readonly now?: () => number;
}

export interface FirstSyncProgress {
  /** The first snapshot arrived: print the final line and stop. Idempotent. */
  done(): void;
  /** Stop without a final line (shutdown before the first sync finished). Idempotent. */
  cancel(): void;
}

/**
 * For people watching a terminal while thousands of services are read for the
 * first time: `consul: first sync 1200 of 3002 views read`, redrawn in place on
 * a terminal (one line per redraw elsewhere), then one line saying how long it took.
 */
export function startFirstSyncProgress(options: FirstSyncProgressOptions): FirstSyncProgress {
  const now = options.now ?? Date.now;
  const started = now();
  const tty = (options.stream as { isTTY?: boolean }).isTTY === true;
  let last = '';
  let drawn = false;
  let finished = false;
  const draw = () => {
    if (now() - started < (options.quietMs ?? 1000)) return;
    const { views, viewsRead } = options.state();
    const line = `consul: first sync: ${viewsRead} of ${views} views read`;
    if (line === last) return;
    last = line;
    drawn = true;
    options.stream.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
  };
  const timer = setInterval(draw, options.intervalMs ?? 500);
  timer.unref();
  const stop = () => {
    finished = true;
    clearInterval(timer);
    if (drawn && tty) options.stream.write('\r\x1b[K');
  };
  return {
    done() {
      if (finished) return;
      stop();
      const { services, views } = options.state();
      options.stream.write(`consul: first sync done: ${services} services (${views} views) read in ${((now() - started) / 1000).toFixed(1)} s\n`);
    },
    cancel() {
      if (!finished) stop();
    },
  };
}

import { isDeepStrictEqual } from 'node:util';
import type { Config } from '../config/index.ts';

/**
 * Settings a running `ipx watch` takes on SIGHUP or a file change: the ones the
 * model and templates read, applied by the usual path (runtime API or seamless
 * reload). Everything else is fixed when the watch starts (the Consul
 * connection and its views, runDir and sockets, listen.admin, debounce and
 * guard timers, limits, the log stream), and a change to it needs a restart.
 */
const LIVE_KEYS: ReadonlyArray<readonly [keyof Config, string?]> = [
  ['routing'],
  ['stats'],
  ['templates'],
  ['composites'],
  ['policies'],
  ['static'],
  ['listen', 'http'],
  ['listen', 'stats'],
  ['haproxy', 'maxconn'],
  ['haproxy', 'threads'],
  ['haproxy', 'hardStopAfter'],
  ['log', 'level'],
];

/** Pure: the dotted keys that differ between `running` and `next` and need a restart, sorted. */
export function restartOnlyChanges(running: Config, next: Config): string[] {
  const changed: string[] = [];
  for (const section of Object.keys(running) as (keyof Config)[]) {
    const a = running[section] as Record<string, unknown>;
    const b = next[section] as Record<string, unknown>;
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (isDeepStrictEqual(a[key], b[key])) continue;
      const live = LIVE_KEYS.some(([s, k]) => s === section && (k === undefined || k === key));
      if (!live) changed.push(`${section}.${key}`);
    }
  }
  return changed.sort();
}

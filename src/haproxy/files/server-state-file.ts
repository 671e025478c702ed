import { modelServers, serverDisagreement, serverKey } from '../runtime/live-vs-model.ts';
import { parseServersState } from '../runtime/servers-state.ts';
import type { Model } from '../../model/types.ts';

export interface StateFileContent {
  /** What to write into the server state file. */
  readonly content: string;
  readonly kept: number;
  /** `backend/server: why`, for a debug log. */
  readonly dropped: readonly string[];
}

/**
 * Pure: the server state file for a reload to `next`, from a `show servers
 * state` dump of the live worker. A line is kept only when the live server
 * agrees with `next` in backend, name, address, port, weight and state:
 * HAProxy lets a state line override the new config (measured on 2.6: a
 * line with an old address:port kept the port over the config's), so a line
 * that disagrees would undo the very change being reloaded. Servers not in
 * `next` (removed, or draining) are dropped too.
 */
export function serverStateFor(dump: string, next: Model): StateFileContent {
  const { header, servers } = parseServersState(dump);
  const wanted = modelServers(next);
  const kept: string[] = [];
  const dropped: string[] = [];
  for (const live of servers) {
    const key = serverKey(live.backend, live.server);
    const model = wanted.get(key);
    const why = model ? serverDisagreement(live, model) : 'not in the next model';
    if (why === undefined) kept.push(`${live.line}\n`);
    else dropped.push(`${key}: ${why}`);
  }
  return { content: `${header}${kept.join('')}`, kept: kept.length, dropped };
}

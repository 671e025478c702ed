/**
 * One non-blocking read of everything the watcher reads, for `ipx render
 * --dry-run`, `ipx validate` and `ipx explain`: the same queries and
 * normalization, so they show exactly what the daemon would render. Any failure throws; there is no partial result.
 */
import type { Config } from '../config/index.ts';
import { assembleSnapshot, chooseWatched, NO_WATCH_LIMITS, type WatchLimits } from './assemble.ts';
import type { ConsulClient } from './client.ts';
import { intentionsQuery } from './intentions.ts';
import { catalogServicesQuery, healthServiceQuery, kvPrefixQuery, type FetchOptions } from './query.ts';
import type { InstanceEntry, Snapshot } from './snapshot.ts';

export interface ReadSnapshotOptions {
  /** Per request, in ms. */
  readonly timeout?: number;
  /** Health reads in flight at once; bounded so thousands of services do not open thousands of sockets. */
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  /** As the watcher's: no health read beyond them, the names left out in `unwatched`. Absent: no limit. */
  readonly limits?: WatchLimits;
  /** Also read Connect intentions (access.consulIntentions). */
  readonly intentions?: boolean;
}

export async function readSnapshot(
  client: ConsulClient,
  consulConfig: Config['consul'],
  options: ReadSnapshotOptions = {},
): Promise<Snapshot> {
  const fetchOptions: FetchOptions = {
    index: '0',
    wait: 0,
    timeout: options.timeout ?? 10_000,
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const [names, kv] = await Promise.all([
    catalogServicesQuery().fetch(client, fetchOptions),
    kvPrefixQuery(consulConfig.kvPrefix).fetch(client, fetchOptions),
  ]);
  const { watched, unwatched } = chooseWatched(names.data, options.limits ?? NO_WATCH_LIMITS);
  const services = await mapLimited(watched, options.concurrency ?? 16, async (name) => {
    const { data } = await healthServiceQuery(name).fetch(client, fetchOptions);
    return [name, data] as const satisfies readonly [string, readonly InstanceEntry[]];
  });
  const intentions = options.intentions ? (await intentionsQuery().fetch(client, fetchOptions)).data : undefined;
  return assembleSnapshot({ services, kv: kv.data, unwatched, ...(intentions ? { intentions } : {}) });
}

/** Like Promise.all over items.map(fn), with at most `limit` calls pending; rejects on the first failure. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failed) {
      const at = next++;
      try {
        results[at] = await fn(items[at] as T);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(limit, 1), items.length) }, worker));
  return results;
}

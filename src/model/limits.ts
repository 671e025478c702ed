/**
 * limits.* (src/config/schema.ts) applied to a snapshot: bounds on what Consul
 * data can make ipx do. What lies beyond a limit is rejected with the key to
 * raise, and the choice of what is kept depends only on sorted order, so the
 * same Consul state keeps the same items whatever the order it arrived in.
 */
import { compareStrings } from '../compare.ts';
import { kvRejection, quoteForLog, serviceRejection } from './rejections.ts';
import { INVALID_NAME_REASON } from './service-names.ts';
import type { Rejection } from './types.ts';
import type { Config } from '../config/schema.ts';
import type { InstanceEntry, KvEntry, ServiceEntry } from '../consul/snapshot.ts';

export type Limits = Config['limits'];

export function servicesReason(limit: number): string {
  return `beyond limits.services (${limit}): only the first ${limit} services in name order are watched and routed; raise limits.services to route it`;
}

export function instancesReason(limit: number): string {
  return `beyond limits.instancesPerService (${limit}): only the first ${limit} valid instances in (node, ID) order are routed; raise limits.instancesPerService to route it`;
}

export function kvEntriesReason(limit: number): string {
  return `beyond limits.kvEntries (${limit}): only the first ${limit} keys in key order are read; raise limits.kvEntries to read it`;
}

export interface LimitedServices {
  /** The entries of the first `limits.services` names; order as given. */
  readonly within: readonly ServiceEntry[];
  readonly rejections: readonly Rejection[];
}

/**
 * The first `limits.services` distinct names in code-unit order, the order in
 * which Consul lists them and the watcher opens views (consul/assemble.ts).
 * Names longer than `limits.fieldLength` are rejected first and do not count;
 * they cannot be DNS labels, so their reason is the name grammar's.
 * `unwatched` are the names the watcher did not read for the same rules.
 */
export function limitServices(services: readonly ServiceEntry[], unwatched: readonly string[], limits: Limits): LimitedServices {
  const rejections: Rejection[] = [];
  const rejected = new Set<string>();
  const reject = (name: string, reason: string): void => {
    if (rejected.has(name)) return;
    rejected.add(name);
    rejections.push(serviceRejection(name, reason));
  };
  const fits = (name: string): boolean => {
    if (name.length <= limits.fieldLength) return true;
    reject(name, INVALID_NAME_REASON);
    return false;
  };

  const read = new Set(services.map((service) => service.name).filter(fits));
  const names = [...new Set([...read, ...unwatched.filter(fits)])].sort(compareStrings);
  const kept = new Set(names.slice(0, limits.services));
  for (const name of names) if (!kept.has(name) || !read.has(name)) reject(name, servicesReason(limits.services));
  return { within: services.filter((service) => kept.has(service.name) && read.has(service.name)), rejections };
}

/**
 * Why an instance cannot be kept for the length of one of its strings, or
 * undefined. Checked before anything else reads them, so that a megabyte ID
 * is never sanitized, hashed or sorted.
 */
export function fieldLengthProblem(instance: InstanceEntry, max: number): string | undefined {
  const tooLong = (what: string, value: string): string | undefined =>
    value.length > max ? `${what} is ${value.length} characters long, beyond limits.fieldLength (${max}); shorten it or raise limits.fieldLength` : undefined;
  return (
    tooLong('service ID', instance.id) ??
    tooLong('node name', instance.node) ??
    firstDefined(instance.tags, (tag) => tooLong(`tag ${quoteForLog(tag)}`, tag)) ??
    firstDefined(Object.entries(instance.meta), ([key, value]) =>
      tooLong(`meta key ${quoteForLog(key)}`, key) ?? tooLong(`meta value of ${quoteForLog(key)}`, value),
    )
  );
}

export interface LimitedKv {
  /** Entries within limits, sorted by key: what later policy layers read. */
  readonly accepted: readonly KvEntry[];
  readonly rejections: readonly Rejection[];
}

/**
 * Values over `limits.kvValueBytes` are rejected first (they do not count);
 * of the rest, the first `limits.kvEntries` keys in key order are kept.
 */
export function limitKv(kv: readonly KvEntry[], limits: Limits): LimitedKv {
  const rejections: Rejection[] = [];
  const accepted: KvEntry[] = [];
  // By value too: Consul never lists a key twice, but a broken source could, and the choice must not depend on order.
  for (const entry of [...kv].sort((a, b) => compareStrings(a.key, b.key) || compareStrings(a.value, b.value))) {
    const bytes = Buffer.byteLength(entry.value, 'utf8');
    if (bytes > limits.kvValueBytes) {
      rejections.push(kvRejection(entry.key, `value is ${bytes} bytes, beyond limits.kvValueBytes (${limits.kvValueBytes}); store less or raise limits.kvValueBytes`));
    } else if (accepted.length >= limits.kvEntries) {
      rejections.push(kvRejection(entry.key, kvEntriesReason(limits.kvEntries)));
    } else {
      accepted.push(entry);
    }
  }
  return { accepted, rejections };
}

function firstDefined<T>(items: readonly T[], fn: (item: T) => string | undefined): string | undefined {
  for (const item of items) {
    const found = fn(item);
    if (found !== undefined) return found;
  }
  return undefined;
}

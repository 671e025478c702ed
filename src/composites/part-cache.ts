import { LRUCache } from 'lru-cache';

export interface CachedPart {
  readonly status: number;
  readonly body: unknown;
  /** Date.now() when it was fetched. */
  readonly at: number;
}

/**
 * Last good part answers, each kept for its part's `cacheFor`; bounded by
 * aggregator.cacheEntries (least recently used go first). The key holds the
 * caller's credentials headers, so a stale answer is only ever given to the
 * credentials it was fetched with.
 */
export class PartCache {
  private readonly cache: LRUCache<string, CachedPart> | undefined;

  constructor(maxEntries: number) {
    this.cache = maxEntries > 0 ? new LRUCache<string, CachedPart>({ max: maxEntries, ttlAutopurge: false, allowStale: false }) : undefined;
  }

  get(key: string): CachedPart | undefined {
    return this.cache?.get(key);
  }

  set(key: string, value: CachedPart, ttlMs: number): void {
    if (ttlMs > 0) this.cache?.set(key, value, { ttl: ttlMs });
  }

  get size(): number {
    return this.cache?.size ?? 0;
  }
}

/**
 * Consul's Connect intentions (access.consulIntentions): which source service
 * may call which destination. Only layer-4 intentions (Action allow or deny)
 * are read; layer-7 ones (Permissions, Consul 1.9+) carry no Action and are
 * left out, as are namespaces (OSS Consul has one).
 */
import { compareTuples } from '../compare.ts';
import { ConsulError } from '../errors.ts';
import type { ConsulClient } from './client.ts';
import type { Query } from './query.ts';

export interface IntentionEntry {
  /** Untrusted, like every Consul field: the model checks it against the caller grammar. */
  readonly source: string;
  readonly destination: string;
  readonly action: 'allow' | 'deny';
}

export function normalizeIntentions(body: unknown): readonly IntentionEntry[] {
  if (body === undefined || body === null) return Object.freeze([]);
  if (!Array.isArray(body)) throw new ConsulError('consul: GET /v1/connect/intentions answered with something other than a list of intentions; is Connect enabled on the agent?');
  const out: IntentionEntry[] = [];
  for (const item of body) {
    if (typeof item !== 'object' || item === null) continue;
    const { SourceName, DestinationName, Action } = item as Record<string, unknown>;
    if (typeof SourceName !== 'string' || typeof DestinationName !== 'string' || (Action !== 'allow' && Action !== 'deny')) continue;
    out.push(Object.freeze({ source: SourceName, destination: DestinationName, action: Action }));
  }
  return Object.freeze(out.sort((a, b) => compareTuples([a.destination, a.source, a.action], [b.destination, b.source, b.action])));
}

export function intentionsQuery(): Query<readonly IntentionEntry[]> {
  return {
    key: 'connect.intentions',
    fetch: async (client: ConsulClient, options) => {
      const result = await client.intentions(options);
      return { data: normalizeIntentions(result.body), index: result.index };
    },
  };
}

import { compareStrings } from '../../compare.ts';
import { kvRejection } from '../rejections.ts';
import { CALLER_NAME } from './caller-name.ts';
import type { KvEntry } from '../../consul/snapshot.ts';
import type { Rejection } from '../types.ts';

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;
/** Enough for a rotation with overlap (old and new key both valid for a while). */
const MAX_KEYS_PER_CALLER = 8;

export interface ApiKeyEntries {
  /** [sha256 hex, lower case, caller], sorted by hash: the lines of the API-key map. */
  readonly entries: readonly (readonly [string, string])[];
  readonly rejections: readonly Rejection[];
}

/**
 * KV `<kvPrefix>apikeys/<caller>` holds the SHA-256 hex of each key of that
 * caller (one or more, separated by spaces, commas or new lines), never a key
 * in clear. Caller names and hashes are untrusted: a name outside the caller
 * grammar, a value that is not a hash, or a hash already held by a caller
 * earlier in name order is rejected and reported.
 */
export function apiKeyEntries(kv: readonly KvEntry[], kvPrefix: string): ApiKeyEntries {
  const prefix = `${kvPrefix}apikeys/`;
  const rejections: Rejection[] = [];
  const owner = new Map<string, string>();
  const sorted = kv.filter((e) => e.key.startsWith(prefix)).sort((a, b) => compareStrings(a.key, b.key));
  for (const { key, value } of sorted) {
    const caller = key.slice(prefix.length);
    if (caller === '') continue;
    if (!CALLER_NAME.test(caller)) {
      rejections.push(kvRejection(key, 'the caller name must be 1 to 64 letters, digits, ".", "_" and "-", starting with a letter or digit; rename the key'));
      continue;
    }
    const hashes = value.split(/[\s,]+/).filter((h) => h !== '');
    if (hashes.length === 0 || hashes.length > MAX_KEYS_PER_CALLER || !hashes.every((h) => SHA256_HEX.test(h))) {
      rejections.push(kvRejection(key, `must hold 1 to ${MAX_KEYS_PER_CALLER} SHA-256 hex digests (printf %s "$KEY" | sha256sum), never the key itself; the caller has no API key until fixed`));
      continue;
    }
    for (const hash of hashes.map((h) => h.toLowerCase())) {
      const held = owner.get(hash);
      if (held !== undefined && held !== caller) rejections.push(kvRejection(key, `a key hash is also held by caller "${held}"; each key names one caller: issue a new key`));
      else owner.set(hash, caller);
    }
  }
  const entries = [...owner.entries()].sort(([a], [b]) => compareStrings(a, b));
  return { entries, rejections };
}

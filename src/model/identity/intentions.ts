import { compareStrings } from '../../compare.ts';
import { quoteForLog } from '../rejections.ts';
import { CALLER_NAME } from './caller-name.ts';
import type { IntentionEntry } from '../../consul/intentions.ts';
import type { Rejection } from '../types.ts';

/**
 * Consul intentions as lines of the intentions map. HAProxy looks a request
 * up in Consul's precedence order, most specific first: `<backend>/<caller>`,
 * `<backend>/*`, `*\/<caller>`, `*\/*`; the first found decides, and `deny`
 * answers 403 whatever access.allow says. Untrusted names: a source outside
 * the caller grammar or a destination this gateway does not route is
 * skipped (and reported, for a bad source).
 */
export function intentionLines(
  intentions: readonly IntentionEntry[],
  backends: ReadonlyMap<string, string>,
): { readonly lines: readonly (readonly [string, string])[]; readonly rejections: readonly Rejection[] } {
  const lines = new Map<string, string>();
  const rejections: Rejection[] = [];
  for (const { source, destination, action } of intentions) {
    const subject = `intention ${quoteForLog(source)} → ${quoteForLog(destination)}`;
    if (source !== '*' && !CALLER_NAME.test(source)) {
      rejections.push({ subject, reason: 'the source is not a caller name (1 to 64 letters, digits, ".", "_" and "-"); the intention is not enforced' });
      continue;
    }
    const backend = destination === '*' ? '*' : backends.get(destination);
    if (backend === undefined) continue;
    lines.set(`${backend}/${source}`, action);
  }
  return { lines: [...lines.entries()].sort(([a], [b]) => compareStrings(a, b)), rejections };
}

import { createHash } from 'node:crypto';

/**
 * Safe HAProxy identifiers. HAProxy allows [A-Za-z0-9._:-] in names; ipx keeps
 * to [A-Za-z0-9._-] (a `:` would be ambiguous next to ports in runtime-API
 * output), starts with a letter or digit, and stays short enough to read in
 * the stats page. sha1 is used only as a deterministic fingerprint here.
 */
export const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const MAX_NAME_LENGTH = 48;
const HASH_LENGTH = 8;

export function shortHash(input: string): string {
  return createHash('sha1').update(input, 'utf8').digest('hex').slice(0, HASH_LENGTH);
}

/**
 * `raw` itself when it is already safe and short; otherwise its sanitized,
 * truncated form plus a hash of `hashInput` (default `raw`), so that two
 * different raw values that sanitize alike still get different names.
 */
export function safeName(raw: string, hashInput: string = raw): string {
  if (raw.length <= MAX_NAME_LENGTH && SAFE_NAME.test(raw)) return raw;
  const hash = shortHash(hashInput);
  const cleaned = raw
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, MAX_NAME_LENGTH - HASH_LENGTH - 1);
  return cleaned === '' ? hash : `${cleaned}-${hash}`;
}

/** `serviceName` must already have passed the DNS-label check (so it is safe). */
export function backendName(serviceName: string): string {
  return `svc_${serviceName.toLowerCase()}`;
}

export interface InstanceKey {
  readonly id: string;
  readonly node: string;
}

/**
 * Server names for the instances of one service, in the order given (which
 * must be a deterministic sort). The name depends on the instance id alone,
 * plus the node when another instance of the service has the same id, so it
 * stays the same while the instance lives and runtime-API updates can address
 * it. Every instance of the service takes part, healthy or not, so that a
 * health flap never renames a neighbour.
 */
export function serverNames(instances: readonly InstanceKey[]): string[] {
  const idCount = new Map<string, number>();
  for (const { id } of instances) idCount.set(id, (idCount.get(id) ?? 0) + 1);
  const names = instances.map(({ id, node }) =>
    (idCount.get(id) ?? 0) > 1 ? safeName(`${id}.${node}`, JSON.stringify([id, node])) : safeName(id),
  );
  return makeUnique(names, instances);
}

/**
 * Only hostile ids reach this (e.g. one registered as another's hashed name):
 * the first in order keeps its name, later ones get a hash of their key, then a counter.
 */
function makeUnique(names: readonly string[], instances: readonly InstanceKey[]): string[] {
  const taken = new Set<string>();
  return names.map((name, index) => {
    let unique = name;
    if (taken.has(unique)) {
      const { id, node } = instances[index] as InstanceKey;
      const base = name.slice(0, MAX_NAME_LENGTH - 2 * (HASH_LENGTH + 1));
      unique = `${base}-${shortHash(JSON.stringify(['dup', id, node]))}`;
      for (let n = 2; taken.has(unique); n += 1) unique = `${base}-${shortHash(JSON.stringify(['dup', id, node, n]))}`;
    }
    taken.add(unique);
    return unique;
  });
}

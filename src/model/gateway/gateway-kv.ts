import type { KvEntry } from '../../consul/snapshot.ts';

/**
 * This gateway's own KV policy: `<kvPrefix>gateways/<name>/defaults` and
 * `<kvPrefix>gateways/<name>/services/<service>`, each a layer just above its
 * shared counterpart (`<kvPrefix>defaults`, `<kvPrefix>services/<service>`).
 * Other gateways' entries are not read. Pure.
 */
export function gatewayKv(input: { readonly kvPrefix: string; readonly kv: readonly KvEntry[]; readonly gateway?: string }): {
  readonly defaults: KvEntry | undefined;
  readonly services: ReadonlyMap<string, KvEntry>;
} {
  const services = new Map<string, KvEntry>();
  if (!input.gateway) return { defaults: undefined, services };
  const base = `${input.kvPrefix}gateways/${input.gateway}/`;
  let defaults: KvEntry | undefined;
  for (const entry of input.kv) {
    if (entry.key === `${base}defaults`) defaults = entry;
    else if (entry.key.startsWith(`${base}services/`)) services.set(entry.key.slice(`${base}services/`.length), entry);
  }
  return { defaults, services };
}

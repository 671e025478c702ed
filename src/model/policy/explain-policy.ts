import { flattenPolicy, type EffectivePolicy, type PolicyOrigins } from './merge.ts';
import type { PolicyLayer } from './parse-layer.ts';

export interface PolicyRow {
  /** Dotted key, e.g. timeouts.server. */
  readonly key: string;
  /** As a user writes it: durations as 5s or 250ms, lists comma-separated, maps as JSON. */
  readonly value: string;
  readonly layer: PolicyLayer;
  /** Where to change it: `config policies.services.web`, `KV ipx/services/web`, … */
  readonly source: string;
}

const DURATION_KEYS = new Set(['timeouts.connect', 'timeouts.server', 'timeouts.queue', 'circuitBreaker.slowStart', 'healthCheck.interval']);

/** Pure: each effective value with its layer, sorted by key (what `ipx explain` prints). */
export function policyRows(name: string, policy: EffectivePolicy, origins: PolicyOrigins, kvPrefix: string): PolicyRow[] {
  return flattenPolicy(policy).map(([key, value]) => {
    const layer = origins[key] ?? 'built-in';
    return { key, value: formatValue(key, value), layer, source: layerSource(layer, name, kvPrefix) };
  });
}

export function layerSource(layer: PolicyLayer, name: string, kvPrefix: string): string {
  switch (layer) {
    case 'built-in':
      return 'built-in';
    case 'file-defaults':
      return 'config policies.defaults';
    case 'kv-defaults':
      return `KV ${kvPrefix}defaults`;
    case 'meta':
      return 'instance meta';
    case 'file-service':
      return `config policies.services.${name}`;
    case 'kv-service':
      return `KV ${kvPrefix}services/${name}`;
    case 'kv-gateway-defaults':
      return `KV ${kvPrefix}gateways/<gateway.name>/defaults`;
    case 'kv-gateway-service':
      return `KV ${kvPrefix}gateways/<gateway.name>/services/${name}`;
  }
}

function formatValue(key: string, value: unknown): string {
  if (DURATION_KEYS.has(key) && typeof value === 'number') return value % 1000 === 0 ? `${value / 1000}s` : `${value}ms`;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join(',');
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

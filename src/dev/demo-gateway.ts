import { createHash, randomBytes } from 'node:crypto';
import type { ConsulClient } from '../consul/index.ts';

/**
 * What `ipx dev` sets up so that a newcomer sees the gateway, not only the
 * routing: instances labelled with versions, policy documents in KV where an
 * operator would put them (so `ipx explain` shows their kv-service layer), and
 * an API key for a demo caller.
 */

export interface DemoInstance {
  readonly service: string;
  readonly id: string;
  /** ipx-version meta, for the split on hello. */
  readonly version?: string;
}

export const DEMO_INSTANCES: readonly DemoInstance[] = [
  { service: 'hello', id: 'hello-1', version: 'v1' },
  { service: 'hello', id: 'hello-2', version: 'v2' },
  { service: 'world', id: 'world-1' },
  { service: 'orders', id: 'orders-1' },
];

export const DEMO_CALLER = 'demo';
export const DEMO_KEY_HEADER = 'X-Api-Key';
export const DEMO_PIN_HEADER = 'X-Version';
export const DEMO_ROUTE = '/world';
export const DEMO_RATE = { count: 5, per: 'm' } as const;

/**
 * ipx dev's own config defaults, just above the built-in ones: API keys need an
 * identity method in the config file (KV holds only the keys). A config file
 * the user passes still wins, key by key.
 */
export const DEV_CONFIG_DEFAULTS: Record<string, Record<string, unknown>> = {
  identity: { apiKeys: { header: DEMO_KEY_HEADER } },
};

export interface DemoKvEntry {
  readonly key: string;
  readonly value: string;
}

/** The policy documents and the API key hash, as an operator would write them with `consul kv put`. */
export function demoKvEntries(kvPrefix: string, apiKey: string): DemoKvEntry[] {
  return [
    { key: `${kvPrefix}services/hello`, value: `versions: { split: { v1: 90, v2: 10 }, pinHeader: ${DEMO_PIN_HEADER} }\n` },
    { key: `${kvPrefix}services/world`, value: `routes: [ { pathPrefix: ${DEMO_ROUTE}, stripPrefix: true } ]\n` },
    { key: `${kvPrefix}services/orders`, value: `auth: { required: true }\nrateLimit: { perCaller: ${DEMO_RATE.count}/${DEMO_RATE.per} }\n` },
    { key: `${kvPrefix}apikeys/${DEMO_CALLER}`, value: createHash('sha256').update(apiKey).digest('hex') },
  ];
}

/** A fresh key per run: it is printed in clear, so it should open nothing once this session is over. */
export function newDemoApiKey(): string {
  return randomBytes(16).toString('hex');
}

export interface DemoKvResult {
  /** Keys this run created, to delete when it stops. */
  readonly created: string[];
  /** Keys that already held a value: the user's document wins and is left as it is. */
  readonly kept: string[];
}

/** Creates each entry only where the key is absent, so an agent's own KV is never overwritten. */
export async function writeDemoKv(client: ConsulClient, entries: readonly DemoKvEntry[]): Promise<DemoKvResult> {
  const created: string[] = [];
  const kept: string[] = [];
  for (const entry of entries) {
    if (await client.kvCreate(entry.key, entry.value)) created.push(entry.key);
    else kept.push(entry.key);
  }
  return { created, kept };
}

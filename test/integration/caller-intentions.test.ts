/**
 * access.consulIntentions through real Consul and HAProxy: intentions read
 * with a blocking query, a deny wins over an allow list, the most specific
 * intention decides, and changes apply with no reload.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putKv } from '../helpers/consul.ts';
import { eventually } from '../helpers/http.ts';
import { sha256Hex } from '../helpers/jwt.ts';
import { request } from '../helpers/policy-http.ts';
import { startPolicyStack, type PolicyStack } from '../helpers/policy-stack.ts';

let stack: PolicyStack;
const KEYS: Record<string, string> = { checkout: 'key-checkout-intent-01', billing: 'key-billing-intent-01', search: 'key-search-intent-01' };

const status = async (host: string, caller: string) =>
  (await request(stack.ipx.http, { headers: { host: `${host}.service.internal`, 'x-api-key': KEYS[caller] as string } })).status;

async function intention(source: string, destination: string, action: 'allow' | 'deny'): Promise<string> {
  const res = await fetch(`${stack.consul.agent.address}/v1/connect/intentions`, { method: 'POST', body: JSON.stringify({ SourceName: source, DestinationName: destination, Action: action }) });
  if (!res.ok) throw new Error(`create intention: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { ID: string }).ID;
}

async function removeIntention(id: string): Promise<void> {
  const res = await fetch(`${stack.consul.agent.address}/v1/connect/intentions/${id}`, { method: 'DELETE' });
  if (!res.ok) throw new Error(`delete intention: HTTP ${res.status}`);
}

beforeAll(async () => {
  stack = await startPolicyStack(
    'caller-intentions',
    { identity: { apiKeys: {} }, access: { consulIntentions: true }, policies: { services: { vault: { access: { allow: ['checkout', 'billing'] } } } } },
    async (consul) => {
      for (const [caller, key] of Object.entries(KEYS)) await putKv(consul.agent.address, `ipx/apikeys/${caller}`, sha256Hex(key));
    },
  );
  await stack.instance('vault', 'vault-1');
  await stack.instance('catalog', 'catalog-1');
  await eventually(async () => ((await status('vault', 'checkout')) === 200 && (await status('catalog', 'search')) === 200 ? true : undefined), 20_000, 'the services to route');
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

describe('Consul intentions', () => {
  it('answers 403 to a caller an intention denies, even on the allow list, with no reload; and lets it through once removed', async () => {
    const before = await stack.reloads();
    expect(await status('vault', 'billing')).toBe(200);
    const id = await intention('billing', 'vault', 'deny');
    await eventually(async () => ((await status('vault', 'billing')) === 403 ? true : undefined), 5_000, 'the deny to apply');
    expect(await status('vault', 'checkout')).toBe(200);
    await removeIntention(id);
    await eventually(async () => ((await status('vault', 'billing')) === 200 ? true : undefined), 5_000, 'the deny to go');
    expect(await stack.reloads()).toBe(before);
  });

  it('lets the most specific intention decide: an exact allow over a wildcard deny', async () => {
    const deny = await intention('*', 'catalog', 'deny');
    const allow = await intention('checkout', 'catalog', 'allow');
    // Two writes, possibly two applies: wait for both.
    await eventually(async () => ((await status('catalog', 'search')) === 403 && (await status('catalog', 'checkout')) === 200 ? true : undefined), 5_000, 'both intentions to apply');
    expect(await status('catalog', 'billing')).toBe(403);
    await removeIntention(deny);
    await removeIntention(allow);
    await eventually(async () => ((await status('catalog', 'search')) === 200 ? true : undefined), 5_000, 'the intentions to go');
  });
});

/**
 * Access and rate limits as callers see them, through real HAProxy: an allow
 * list (403 outside it), access.default deny, allow-list and limit changes
 * with no reload, per-caller budgets that answer 429 with Retry-After while
 * other callers go on, and a service total.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putKv } from '../helpers/consul.ts';
import { eventually } from '../helpers/http.ts';
import { sha256Hex } from '../helpers/jwt.ts';
import { request, type Answer } from '../helpers/policy-http.ts';
import { findFreePorts } from '../helpers/ports.ts';
import { startPolicyStack, type PolicyStack } from '../helpers/policy-stack.ts';

let stack: PolicyStack;
const KEYS: Record<string, string> = { checkout: 'key-checkout-0123456789', billing: 'key-billing-0123456789', search: 'key-search-0123456789' };

function call(host: string, caller?: string): Promise<Answer> {
  const headers: Record<string, string> = { host: `${host}.service.internal` };
  if (caller !== undefined) headers['x-api-key'] = KEYS[caller] as string;
  return request(stack.ipx.http, { headers });
}

async function statuses(host: string, caller: string | undefined, count: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push((await call(host, caller)).status);
  return out;
}

beforeAll(async () => {
  const [sync] = (await findFreePorts(1)) as [number];
  stack = await startPolicyStack(
    'caller-access',
    {
      identity: { apiKeys: {} },
      rateLimit: { syncBind: `127.0.0.1:${sync}` },
      access: { default: 'deny' },
      policies: {
        services: {
          ledger: { access: { allow: ['checkout'] } },
          open: { access: { allow: ['*'] } },
          quota: { access: { allow: ['*'] }, rateLimit: { perCaller: '5/m' } },
          pooled: { access: { allow: ['*'] }, rateLimit: { total: '4/m' } },
          bulk: { access: { allow: ['*'] }, rateLimit: { bytesPerCaller: '1KB/m' } },
          // Services of their own for the cases that change a policy from KV, so no case sees another's change.
          roster: { access: { allow: ['checkout'] } },
          budget: { access: { allow: ['*'] }, rateLimit: { perCaller: '5/m' } },
        },
      },
    },
    async (consul) => {
      for (const [caller, key] of Object.entries(KEYS)) await putKv(consul.agent.address, `ipx/apikeys/${caller}`, sha256Hex(key));
    },
  );
  for (const name of ['ledger', 'quota', 'pooled', 'bulk', 'roster', 'budget', 'open', 'locked']) await stack.instance(name, `${name}-1`);
  await eventually(async () => ((await call('open', 'search')).status === 200 && (await call('locked', 'search')).status === 403 ? true : undefined), 20_000, 'the services to route');
  await eventually(async () => ((await stack.reloads()) >= 0 ? true : undefined), 10_000, 'the master to answer after the last reload');
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

describe('access', () => {
  it('answers 403 JSON to a caller outside the allow list, 401 to an anonymous one, and lets a listed caller through', async () => {
    expect((await call('ledger', 'checkout')).status).toBe(200);
    const denied = await call('ledger', 'billing');
    expect(denied.status).toBe(403);
    expect(denied.headers['content-type']).toBe('application/json');
    expect(JSON.parse(denied.body)).toMatchObject({ error: 'forbidden' });
    expect((await call('ledger')).status).toBe(401);
  });

  it('lets any authenticated caller through "*" and still asks an anonymous one for credentials', async () => {
    expect((await call('open', 'billing')).status).toBe(200);
    expect((await call('open')).status).toBe(401);
  });

  it('denies every caller of a service without an allow list under access.default deny', async () => {
    expect((await call('locked', 'checkout')).status).toBe(403);
    expect((await call('locked')).status).toBe(401);
  });

  it('applies an allow-list change from KV with no reload', async () => {
    expect((await call('roster', 'checkout')).status).toBe(200);
    expect((await call('roster', 'billing')).status).toBe(403);
    const before = await stack.reloads();
    await putKv(stack.consul.agent.address, 'ipx/services/roster', '{"access": {"allow": ["checkout", "billing"]}}');
    await eventually(async () => ((await call('roster', 'billing')).status === 200 ? true : undefined), 5_000, 'billing to be allowed');
    await putKv(stack.consul.agent.address, 'ipx/services/roster', '{"access": {"allow": ["billing"]}}');
    await eventually(async () => ((await call('roster', 'checkout')).status === 403 ? true : undefined), 5_000, 'checkout to be denied');
    expect((await call('roster', 'billing')).status).toBe(200);
    expect(await stack.reloads()).toBe(before);
  });
});

describe('rate limits', () => {
  it('answers 429 JSON with Retry-After past a caller budget, while other callers go on', async () => {
    expect(await statuses('quota', 'checkout', 5)).toEqual([200, 200, 200, 200, 200]);
    const over = await call('quota', 'checkout');
    expect(over.status).toBe(429);
    expect(over.headers['retry-after']).toBe('60');
    expect(JSON.parse(over.body)).toMatchObject({ error: 'rate_limited' });
    expect(await statuses('quota', 'billing', 5)).toEqual([200, 200, 200, 200, 200]);
    expect((await call('quota', 'checkout')).status).toBe(429);
  });

  it('raises a budget from KV with no reload', async () => {
    // checkout spends its budget of 5 here, so a 200 after the change can only come from the raised one.
    expect(await statuses('budget', 'checkout', 5)).toEqual([200, 200, 200, 200, 200]);
    expect((await call('budget', 'checkout')).status).toBe(429);
    const before = await stack.reloads();
    expect((await call('budget', 'search')).status).toBe(200);
    await putKv(stack.consul.agent.address, 'ipx/services/budget', 'rateLimit: { perCaller: 1000/m }\naccess: { allow: ["*"] }');
    await eventually(async () => ((await call('budget', 'checkout')).status === 200 ? true : undefined), 5_000, 'the new budget to apply');
    expect(await stack.reloads()).toBe(before);
  });

  it('answers 429 once a caller has moved more bytes than its quota in the period', async () => {
    const post = (caller: string) =>
      request(stack.ipx.http, { method: 'POST', body: 'x'.repeat(1500), headers: { host: 'bulk.service.internal', 'x-api-key': KEYS[caller] as string, 'content-type': 'text/plain' } });
    // Bytes are counted when a transfer ends: the first request is measured, the next one refused.
    expect((await post('checkout')).status).toBe(200);
    const over = await post('checkout');
    expect(over.status).toBe(429);
    expect(over.headers['retry-after']).toBe('60');
    expect((await post('billing')).status).toBe(200);
  });

  it('limits a service in total, whoever calls', async () => {
    const seen = [...(await statuses('pooled', 'checkout', 2)), ...(await statuses('pooled', 'billing', 2))];
    expect(seen).toEqual([200, 200, 200, 200]);
    const over = await call('pooled', 'search');
    expect(over.status).toBe(429);
    expect(over.headers['retry-after']).toBe('60');
  });
});

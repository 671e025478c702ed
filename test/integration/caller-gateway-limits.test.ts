/**
 * Gateway-wide limits through real HAProxy: one caller's budget across every
 * service (the third tracker), and the global rate of all requests together
 * (the frontend's own rate, no tracker).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putKv, sleep } from '../helpers/consul.ts';
import { eventually } from '../helpers/http.ts';
import { sha256Hex } from '../helpers/jwt.ts';
import { request } from '../helpers/policy-http.ts';
import { findFreePorts } from '../helpers/ports.ts';
import { startPolicyStack, type PolicyStack } from '../helpers/policy-stack.ts';
import type { ConfigInput } from '../../src/config/index.ts';

const KEYS: Record<string, string> = { checkout: 'key-checkout-gw-0123', billing: 'key-billing-gw-0123' };

const call = (stack: PolicyStack, host: string, caller?: string) =>
  request(stack.ipx.http, { headers: { host: `${host}.service.internal`, ...(caller ? { 'x-api-key': KEYS[caller] as string } : {}) } });

async function gateway(name: string, rateLimit: NonNullable<ConfigInput['rateLimit']>): Promise<PolicyStack> {
  const [sync] = (await findFreePorts(1)) as [number];
  const stack = await startPolicyStack(name, { identity: { apiKeys: {} }, rateLimit: { ...rateLimit, syncBind: `127.0.0.1:${sync}` } }, async (consul) => {
    for (const [caller, key] of Object.entries(KEYS)) await putKv(consul.agent.address, `ipx/apikeys/${caller}`, sha256Hex(key));
  });
  await stack.instance('alpha', 'alpha-1');
  await stack.instance('beta', 'beta-1');
  // Waiting spends budget: the anonymous test client (counted by its address) is the one that waits.
  await eventually(async () => ((await call(stack, 'alpha')).status === 200 && (await call(stack, 'beta')).status === 200 ? true : undefined), 20_000, 'both services');
  return stack;
}

describe('rateLimit.perCaller across services', () => {
  let stack: PolicyStack;
  beforeAll(async () => {
    stack = await gateway('gateway-per-caller', { perCaller: '6/m' });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('counts one caller on every service together, and no other caller', async () => {
    const seen: number[] = [];
    for (const host of ['alpha', 'beta', 'alpha', 'beta', 'alpha', 'beta']) seen.push((await call(stack, host, 'checkout')).status);
    expect(seen).toEqual([200, 200, 200, 200, 200, 200]);
    const over = await call(stack, 'alpha', 'checkout');
    expect(over.status).toBe(429);
    expect(over.headers['retry-after']).toBe('60');
    expect((await call(stack, 'beta', 'checkout')).status).toBe(429);
    expect((await call(stack, 'beta', 'billing')).status).toBe(200);
  });
});

describe('rateLimit.global', () => {
  let stack: PolicyStack;
  beforeAll(async () => {
    stack = await gateway('gateway-global', { global: '5/s' });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('answers 429 with Retry-After: 1 past the gateway-wide rate, whoever calls, and serves again once the rate has decayed', async () => {
    await sleep(2_100);
    const statuses: number[] = [];
    let retryAfter: string | string[] | undefined;
    for (let i = 0; i < 12; i++) {
      const res = await call(stack, i % 2 ? 'alpha' : 'beta', i % 3 ? 'checkout' : 'billing');
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers['retry-after'];
    }
    // HAProxy's rate is a sliding second (part of the previous second still counts): at most 5 pass.
    const passed = statuses.filter((s) => s === 200).length;
    expect(passed).toBeGreaterThanOrEqual(1);
    expect(passed).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    expect(retryAfter).toBe('1');
    // Refused requests count too, and the rate slides over the last second and a fraction of the one before.
    await sleep(2_100);
    expect((await call(stack, 'alpha', 'checkout')).status).toBe(200);
  });
});

/**
 * Rate-limit counters survive a reload: the tables live in a peers section
 * with the local peer, which the old worker pushes to the new one. HAProxy
 * pushes only once the old worker has been up for about 5 s, so the test
 * lets it run that long before the reload, as a gateway in service would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerService } from '../../src/consul/index.ts';
import { putKv, sleep } from '../helpers/consul.ts';
import { eventually } from '../helpers/http.ts';
import { sha256Hex } from '../helpers/jwt.ts';
import { request, type Answer } from '../helpers/policy-http.ts';
import { startPolicyBackend, type PolicyBackend } from '../helpers/policy-backend.ts';
import { findFreePorts } from '../helpers/ports.ts';
import { startPolicyStack, type PolicyStack } from '../helpers/policy-stack.ts';

let stack: PolicyStack;
let metered: PolicyBackend | undefined;
const KEY = 'key-checkout-reload-0123';

const call = (host: string, key = KEY): Promise<Answer> => request(stack.ipx.http, { headers: { host: `${host}.service.internal`, 'x-api-key': key } });

beforeAll(async () => {
  const [sync] = (await findFreePorts(1)) as [number];
  stack = await startPolicyStack(
    'caller-reload',
    { identity: { apiKeys: {} }, // A gateway-wide limit puts the tables in the very first configuration, as in service: a worker whose
      // predecessor had no tables waits about 10 s, not 5, before it hands its own over (README).
      rateLimit: { syncBind: `127.0.0.1:${sync}`, perCaller: '1000/m' }, policies: { services: { metered: { rateLimit: { perCaller: '3/m' } } } } },
    // Registered before ipx starts, so that the first worker already has the tables: a worker started
    // less than about 5 s after its predecessor needs about 10 s, not 5, before it hands them over (README).
    async (consul) => {
      await putKv(consul.agent.address, 'ipx/apikeys/checkout', sha256Hex(KEY));
      metered = await startPolicyBackend('metered-1');
      await registerService(consul.client, { name: 'metered', id: 'metered-1', address: '127.0.0.1', port: metered.port, check: { ttl: '1h', status: 'passing' } });
    },
  );
  await eventually(async () => ((await call('metered')).status === 200 ? true : undefined), 20_000, 'metered to route');
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await metered?.close();
});

describe('rate limits across a reload', () => {
  it('keeps a caller over its per-minute budget over it right after a reload', async () => {
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) seen.push((await call('metered')).status);
    // One call went out in beforeAll: the budget of 3 is spent after two more.
    expect(seen).toEqual([200, 200, 429, 429]);
    // HAProxy hands tables over only from a worker that has been up for more than about 5 s.
    await sleep(6_000);
    const before = await stack.reloads();
    await stack.instance('other', 'other-1');
    await eventually(async () => ((await stack.reloads()) > before ? true : undefined), 15_000, 'the reload a new service brings');
    await eventually(async () => ((await call('other')).status === 200 ? true : undefined), 15_000, 'the new worker to serve');
    const after = await call('metered');
    expect(after.status).toBe(429);
    expect(after.headers['retry-after']).toBe('60');
  }, 60_000);
});

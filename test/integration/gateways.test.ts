/**
 * Several gateways from one Consul: each ipx routes the services that list
 * its gateway.name in ipx-gateways (or, with exposeAll, those that list
 * none), and reads its own KV policy layer under <kvPrefix>gateways/<name>/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putKv } from '../helpers/consul.ts';
import { eventually } from '../helpers/http.ts';
import { makeRunDir, removeRunDir, startTestDaemon, type TestDaemon } from '../helpers/ipx-daemon.ts';
import { request } from '../helpers/policy-http.ts';
import { startPolicyStack, type PolicyStack } from '../helpers/policy-stack.ts';
import type { Echo } from '../helpers/policy-backend.ts';

let stack: PolicyStack;
let mobile: TestDaemon | undefined;
let mobileRunDir: string | undefined;

const status = async (gateway: TestDaemon, host: string) => (await request(gateway.http, { headers: { host: `${host}.service.internal` } })).status;

beforeAll(async () => {
  stack = await startPolicyStack('gateways', { gateway: { name: 'internal', exposeAll: true } }, async (consul) => {
    await putKv(consul.agent.address, 'ipx/services/shared', '{"timeouts": {"server": "5s"}}');
    await putKv(consul.agent.address, 'ipx/gateways/mobile-bff/services/shared', '{"auth": {"required": true}}');
  });
  mobileRunDir = await makeRunDir('gateways-mobile');
  mobile = await startTestDaemon(stack.consul.agent.address, mobileRunDir, { gateway: { name: 'mobile-bff' }, identity: { apiKeys: {} } });
  await stack.instance('orders', 'orders-1', { 'ipx-gateways': 'internal' });
  await stack.instance('profile', 'profile-1', { 'ipx-gateways': 'mobile-bff' });
  await stack.instance('shared', 'shared-1', { 'ipx-gateways': 'internal, mobile-bff' });
  await stack.instance('plain', 'plain-1');
  // A service of its own for the case that moves one to another gateway, so no case sees that move.
  await stack.instance('moving', 'moving-1');
  const internal = stack.ipx;
  await eventually(
    async () => ((await status(internal, 'plain')) === 200 && (await status(internal, 'shared')) === 200 && (await status(internal, 'moving')) === 200 ? true : undefined),
    20_000,
    'the internal gateway to route',
  );
  await eventually(async () => ((await status(mobile as TestDaemon, 'profile')) === 200 && (await status(mobile as TestDaemon, 'shared')) === 401 ? true : undefined), 20_000, 'the mobile gateway to route');
}, 60_000);

afterAll(async () => {
  await mobile?.stop();
  if (mobileRunDir) await removeRunDir(mobileRunDir);
  await stack?.stop();
});

describe('several gateways on one Consul', () => {
  it('exposes to each gateway the services that name it, and with exposeAll those that name none', async () => {
    const internal = stack.ipx;
    expect(await Promise.all(['orders', 'profile', 'shared', 'plain'].map((s) => status(internal, s)))).toEqual([200, 404, 200, 200]);
    expect(await Promise.all(['orders', 'profile', 'plain'].map((s) => status(mobile as TestDaemon, s)))).toEqual([404, 200, 404]);
  });

  it('removes a spoofed X-Ipx-Caller even on a gateway with no caller features', async () => {
    const res = await request(stack.ipx.http, { headers: { host: 'orders.service.internal', 'x-ipx-caller': 'admin' } });
    expect(res.status).toBe(200);
    expect((JSON.parse(res.body) as Echo).headers['x-ipx-caller']).toBeUndefined();
  });

  it('applies a gateway KV layer above the shared KV on that gateway only', async () => {
    expect(await status(stack.ipx, 'shared')).toBe(200);
    expect(await status(mobile as TestDaemon, 'shared')).toBe(401);
  });

  it('stops exposing a service whose ipx-gateways no longer names the gateway', async () => {
    expect(await status(stack.ipx, 'moving')).toBe(200);
    expect(await status(mobile as TestDaemon, 'moving')).toBe(404);
    await stack.instance('moving', 'moving-2', { 'ipx-gateways': 'mobile-bff' });
    await stack.instance('moving', 'moving-3', { 'ipx-gateways': 'mobile-bff' });
    // Two of three instances name mobile-bff: the value most instances hold wins.
    await eventually(async () => ((await status(mobile as TestDaemon, 'moving')) === 200 ? true : undefined), 15_000, 'moving on mobile-bff');
    await eventually(async () => ((await status(stack.ipx, 'moving')) === 404 ? true : undefined), 15_000, 'moving gone from internal');
  });
});

/**
 * Versions as a caller sees them: exact shares whatever the instance counts,
 * pinning by header, a share change from KV with no reload, and a version
 * with no instance up getting no share.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceCheckId, updateCheck } from '../../src/consul/index.ts';
import { putKv } from '../helpers/consul.ts';
import { eventually } from '../helpers/http.ts';
import { request } from '../helpers/policy-http.ts';
import { startPolicyStack, type PolicyStack } from '../helpers/policy-stack.ts';
import type { Echo } from '../helpers/policy-backend.ts';

let stack: PolicyStack;

/**
 * A service of its own for each case, so no case sees another's KV change or
 * instance taken down, whatever the order: each has two v1 instances and one
 * v2, and the split and pin header of its KV document.
 */
const SPLIT_90_10 = 'versions:\n  split: { v1: 90, v2: 10 }\n  pinHeader: X-Version\n';
const SERVICES: Record<string, string> = {
  'shop-split': SPLIT_90_10,
  'shop-pin': SPLIT_90_10,
  'shop-kv': SPLIT_90_10,
  // The case that takes v2 down expects its share back at an even split.
  'shop-down': 'versions:\n  split: { v1: 50, v2: 50 }\n  pinHeader: X-Version\n',
};
const INSTANCES: Record<string, string> = { v1a: 'v1', v1b: 'v1', v2: 'v2' };
const VERSION_OF: Record<string, string> = Object.fromEntries(
  Object.keys(SERVICES).flatMap((service) => Object.entries(INSTANCES).map(([suffix, label]) => [`${service}-${suffix}`, label])),
);

async function version(service: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await request(stack.ipx.http, { headers: { host: `${service}.service.internal`, ...headers } });
  expect(res.status).toBe(200);
  return VERSION_OF[(JSON.parse(res.body) as Echo).name] ?? 'unknown';
}

/** Share of v2 over `count` requests. */
async function v2Count(service: string, count: number): Promise<number> {
  let v2 = 0;
  for (let i = 0; i < count; i++) if ((await version(service)) === 'v2') v2++;
  return v2;
}

const reloads = () => stack.reloads();

beforeAll(async () => {
  stack = await startPolicyStack('versions', {}, async (consul) => {
    for (const [service, doc] of Object.entries(SERVICES)) await putKv(consul.agent.address, `ipx/services/${service}`, doc);
  });
  for (const service of Object.keys(SERVICES)) {
    for (const [suffix, label] of Object.entries(INSTANCES)) await stack.instance(service, `${service}-${suffix}`, { 'ipx-version': label });
  }
  for (const service of Object.keys(SERVICES)) {
    await eventually(async () => ((await v2Count(service, 60)) > 0 ? true : undefined), 15_000, `both versions of ${service} to serve`);
  }
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

describe('versions', () => {
  it('splits 90/10 whatever the instance counts (two v1, one v2) over 2,000 requests', async () => {
    const v2 = await v2Count('shop-split', 2000);
    // Binomial(2000, 0.1): mean 200, sd 13.4; 4.5 sd either side.
    expect(v2).toBeGreaterThan(140);
    expect(v2).toBeLessThan(260);
  });

  it('pins a request to the version its header names; an unknown version is split as usual', async () => {
    for (let i = 0; i < 40; i++) expect(await version('shop-pin', { 'x-version': 'v2' })).toBe('v2');
    for (let i = 0; i < 40; i++) expect(await version('shop-pin', { 'x-version': 'v1' })).toBe('v1');
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) seen.add(await version('shop-pin', { 'x-version': 'v9' }));
    expect(seen).toEqual(new Set(['v1', 'v2']));
  });

  it('applies a KV share change through the runtime API, with no reload', async () => {
    const before = await reloads();
    await putKv(stack.consul.agent.address, 'ipx/services/shop-kv', '{"versions": {"split": {"v1": 50, "v2": 50}, "pinHeader": "X-Version"}}');
    await eventually(async () => ((await v2Count('shop-kv', 100)) > 30 ? true : undefined), 15_000, 'the new split to apply');
    const v2 = await v2Count('shop-kv', 1000);
    // Binomial(1000, 0.5): mean 500, sd 15.8.
    expect(v2).toBeGreaterThan(430);
    expect(v2).toBeLessThan(570);
    expect(await reloads()).toBe(before);
  });

  it('gives a version with no instance up no share, and its share back when it returns, with no reload', async () => {
    const before = await reloads();
    await updateCheck(stack.consul.client, serviceCheckId('shop-down-v2'), 'critical');
    await eventually(async () => ((await v2Count('shop-down', 50)) === 0 ? true : undefined), 15_000, 'v2 to get no share');
    expect(await v2Count('shop-down', 300)).toBe(0);
    await updateCheck(stack.consul.client, serviceCheckId('shop-down-v2'), 'passing');
    await eventually(async () => ((await v2Count('shop-down', 100)) > 30 ? true : undefined), 15_000, 'v2 to get its share back');
    expect(await reloads()).toBe(before);
  });
});

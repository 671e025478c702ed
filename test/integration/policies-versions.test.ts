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
const VERSION_OF: Record<string, string> = { 'shop-v1a': 'v1', 'shop-v1b': 'v1', 'shop-v2': 'v2' };

async function version(headers: Record<string, string> = {}): Promise<string> {
  const res = await request(stack.ipx.http, { headers: { host: 'shop.service.internal', ...headers } });
  expect(res.status).toBe(200);
  return VERSION_OF[(JSON.parse(res.body) as Echo).name] ?? 'unknown';
}

/** Share of v2 over `count` requests. */
async function v2Count(count: number): Promise<number> {
  let v2 = 0;
  for (let i = 0; i < count; i++) if ((await version()) === 'v2') v2++;
  return v2;
}

const reloads = () => stack.reloads();

beforeAll(async () => {
  stack = await startPolicyStack('versions', {}, (consul) =>
    putKv(consul.agent.address, 'ipx/services/shop', 'versions:\n  split: { v1: 90, v2: 10 }\n  pinHeader: X-Version\n'),
  );
  for (const [id, label] of Object.entries(VERSION_OF)) await stack.instance('shop', id, { 'ipx-version': label });
  await eventually(async () => ((await v2Count(60)) > 0 ? true : undefined), 15_000, 'both versions to serve');
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

describe('versions', () => {
  it('splits 90/10 whatever the instance counts (two v1, one v2) over 2,000 requests', async () => {
    const v2 = await v2Count(2000);
    // Binomial(2000, 0.1): mean 200, sd 13.4; 4.5 sd either side.
    expect(v2).toBeGreaterThan(140);
    expect(v2).toBeLessThan(260);
  });

  it('pins a request to the version its header names; an unknown version is split as usual', async () => {
    for (let i = 0; i < 40; i++) expect(await version({ 'x-version': 'v2' })).toBe('v2');
    for (let i = 0; i < 40; i++) expect(await version({ 'x-version': 'v1' })).toBe('v1');
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) seen.add(await version({ 'x-version': 'v9' }));
    expect(seen).toEqual(new Set(['v1', 'v2']));
  });

  it('applies a KV share change through the runtime API, with no reload', async () => {
    const before = await reloads();
    await putKv(stack.consul.agent.address, 'ipx/services/shop', '{"versions": {"split": {"v1": 50, "v2": 50}, "pinHeader": "X-Version"}}');
    await eventually(async () => ((await v2Count(100)) > 30 ? true : undefined), 15_000, 'the new split to apply');
    const v2 = await v2Count(1000);
    // Binomial(1000, 0.5): mean 500, sd 15.8.
    expect(v2).toBeGreaterThan(430);
    expect(v2).toBeLessThan(570);
    expect(await reloads()).toBe(before);
  });

  it('gives a version with no instance up no share, and its share back when it returns, with no reload', async () => {
    const before = await reloads();
    await updateCheck(stack.consul.client, serviceCheckId('shop-v2'), 'critical');
    await eventually(async () => ((await v2Count(50)) === 0 ? true : undefined), 15_000, 'v2 to get no share');
    expect(await v2Count(300)).toBe(0);
    await updateCheck(stack.consul.client, serviceCheckId('shop-v2'), 'passing');
    await eventually(async () => ((await v2Count(100)) > 30 ? true : undefined), 15_000, 'v2 to get its share back');
    expect(await reloads()).toBe(before);
  });
});

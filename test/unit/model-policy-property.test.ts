import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildModel } from '../../src/model/build-model.ts';
import { BALANCE_ALGORITHMS, BALANCE_HEADER, HEADER_NAME, HEALTH_PATH, PATH_PREFIX, PROTOCOLS, RETRY_CONDITIONS, SERVICE_NAME, VERSION_LABEL } from '../../src/model/policy/schema.ts';
import { config } from '../helpers/model-fakes.ts';
import { policyDocument, policyKv, policyServices } from '../helpers/policy-arbitraries.ts';
import type { EffectivePolicy } from '../../src/model/policy/merge.ts';

const int = (value: unknown, min: number, max: number) => Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;

/** What the renderer may rely on, checked independently of the schema's own code paths. */
function expectSafe(policy: EffectivePolicy): void {
  expect((BALANCE_ALGORITHMS as readonly string[]).includes(policy.balance) || BALANCE_HEADER.test(policy.balance)).toBe(true);
  for (const ms of Object.values(policy.timeouts)) expect(int(ms, 1, 3_600_000)).toBe(true);
  expect(int(policy.retries.attempts, 0, 10)).toBe(true);
  for (const on of policy.retries.on) expect(RETRY_CONDITIONS).toContain(on);
  for (const value of Object.values(policy.circuitBreaker ?? {})) expect(int(value, 0, 3_600_000)).toBe(true);
  if (policy.healthCheck.path !== undefined) expect(policy.healthCheck.path).toMatch(HEALTH_PATH);
  for (const [label, share] of Object.entries(policy.versions?.split ?? {})) {
    expect(label).toMatch(VERSION_LABEL);
    expect(int(share, 0, 100)).toBe(true);
  }
  if (policy.versions?.pinHeader !== undefined) expect(policy.versions.pinHeader).toMatch(HEADER_NAME);
  if (policy.failover?.service !== undefined) expect(policy.failover.service).toMatch(SERVICE_NAME);
  for (const route of policy.routes ?? []) expect(route.pathPrefix).toMatch(PATH_PREFIX);
  expect(PROTOCOLS).toContain(policy.protocol);
  if (policy.tcpPort !== undefined) expect(int(policy.tcpPort, 1, 65535)).toBe(true);
}

describe('policy layers on hostile meta, KV and file documents', () => {
  it('hold only values within their grammar, report every rejection on one line, and never depend on input order', () => {
    fc.assert(
      fc.property(policyServices, policyKv(['web', 'api']), policyDocument, (services, kv, fileDoc) => {
        const cfg = config({ policies: { defaults: {}, services: { web: fileDoc } } });
        const model = buildModel({ snapshot: { services, kv }, config: cfg });
        for (const service of model.services) {
          expectSafe(service.policy);
          for (const key of Object.keys(service.policyOrigins)) expect(key).toMatch(/^[a-zA-Z]+(\.[a-zA-Z]+)?$/);
        }
        for (const r of model.rejections) expect(`${r.subject} ${r.reason}`).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
        const reversed = { services: [...services].reverse().map((s) => ({ ...s, instances: [...s.instances].reverse() })), kv: [...kv].reverse() };
        expect(buildModel({ snapshot: reversed, config: cfg })).toEqual(model);
      }),
      { numRuns: 300 },
    );
  });
});

import { describe, expect, it } from 'vitest';
import { buildModel } from '../../src/model/build-model.ts';
import { apiKeyEntries, parseByteRate, parseRate } from '../../src/model/identity/index.ts';
import { planApply } from '../../src/haproxy/plan/plan-apply.ts';
import { normalizeIntentions } from '../../src/consul/intentions.ts';
import { intentionLines } from '../../src/model/identity/intentions.ts';
import { sourceAddressLines } from '../../src/model/identity/source-addresses.ts';
import { sha256Hex } from '../helpers/jwt.ts';
import { config, instance, service, snapshot } from '../helpers/model-fakes.ts';
import type { ConfigInput } from '../../src/config/index.ts';
import type { KvEntry } from '../../src/consul/snapshot.ts';

const web = service('web', [instance({ id: 'w1', address: '10.0.0.1', port: 80 })]);
const model = (input: ConfigInput, kv: KvEntry[] = [], services = [web]) => buildModel({ snapshot: { ...snapshot(...services), kv }, config: config(input) });

describe('API keys from KV', () => {
  it('maps each hash to its caller, lower-cased, several per caller for a rotation', () => {
    const { entries, rejections } = apiKeyEntries([{ key: 'ipx/apikeys/billing', value: `${sha256Hex('a').toUpperCase()}\n${sha256Hex('b')}` }], 'ipx/');
    expect(new Map(entries)).toEqual(new Map([[sha256Hex('a'), 'billing'], [sha256Hex('b'), 'billing']]));
    expect(rejections).toEqual([]);
  });

  it('rejects a key in clear, a bad caller name, and a hash another caller already holds', () => {
    const { entries, rejections } = apiKeyEntries(
      [
        { key: 'ipx/apikeys/a', value: sha256Hex('x') },
        { key: 'ipx/apikeys/b', value: sha256Hex('x') },
        { key: 'ipx/apikeys/c', value: 'secret-in-clear' },
        { key: 'ipx/apikeys/bad name', value: sha256Hex('y') },
      ],
      'ipx/',
    );
    expect(entries).toEqual([[sha256Hex('x'), 'a']]);
    expect(rejections.map((r) => r.subject)).toEqual(['KV key "ipx/apikeys/b"', 'KV key "ipx/apikeys/bad name"', 'KV key "ipx/apikeys/c"']);
    expect(rejections[2]?.reason).toMatch(/SHA-256 hex digests .* never the key itself/);
  });
});

describe('rates', () => {
  it('reads counts per unit and byte quotas, capped to HAProxy 32-bit counters', () => {
    expect(parseRate('100/s')).toEqual({ count: 100, unit: 's' });
    expect(parseRate('1/d')).toBeUndefined();
    expect(parseByteRate('10MB/m')).toEqual({ count: 10 * 1024 * 1024, unit: 'm' });
    expect(parseByteRate('999999GB/h')?.count).toBe(2 ** 31 - 1);
  });
});

describe('caller model', () => {
  it('is off, with no maps, without identity, access or limits', () => {
    expect(model({}).caller.rules.enabled).toBe(false);
  });

  it('puts auth, access and limits of each service in the maps and the tracker units in the rules', () => {
    const m = model({
      access: { default: 'deny' },
      rateLimit: { perCaller: '50/m', global: '1000/s' },
      policies: { services: { web: { auth: { required: true }, access: { allow: ['checkout', '*'] }, rateLimit: { perCaller: '10/s', bytesPerCaller: '1KB/m', total: '100/h' } } } },
    });
    expect(m.caller.policy).toEqual([['svc_web/access', '1'], ['svc_web/auth', '1'], ['svc_web/on', '1'], ['svc_web/pcu', 'sm'], ['svc_web/tu', 'h']]);
    expect(m.caller.limits).toEqual([
      ['*/global', '1000'],
      ['*/pc', '50'],
      ['*/pcra', '60'],
      ['svc_web/pc', '10'],
      ['svc_web/pcb', '1024'],
      ['svc_web/pcbra', '60'],
      ['svc_web/pcra', '1'],
      ['svc_web/t', '100'],
      ['svc_web/tra', '3600'],
    ]);
    expect(m.caller.access).toEqual(['svc_web/*', 'svc_web/checkout']);
    expect(m.caller.rules).toMatchObject({ enabled: true, perCallerTables: ['sm'], totalTables: ['h'], globalPerCaller: 'm', global: true, syncBind: '127.0.0.1:8407' });
  });

  it('restricts a service without an allow list when access.default is deny', () => {
    const m = model({ access: { default: 'deny' } });
    expect(m.caller.policy).toEqual([['svc_web/access', '1'], ['svc_web/on', '1']]);
    expect(m.caller.access).toEqual([]);
  });
});

describe('planning caller changes', () => {
  const base: ConfigInput = { identity: { apiKeys: {} }, policies: { services: { web: { rateLimit: { perCaller: '10/s' }, access: { allow: ['a'] } } } } };
  const key = (caller: string, value: string) => ({ key: `ipx/apikeys/${caller}`, value });

  it('replaces the API-key map for a new, rotated or revoked key, with no reload', () => {
    const before = model(base, [key('a', sha256Hex('1'))]);
    const after = model(base, [key('a', sha256Hex('2')), key('b', sha256Hex('3'))]);
    const plan = planApply(before, after);
    expect(plan).toEqual({ kind: 'runtime', ops: [{ kind: 'replace-map', map: 'caller-apikeys.map', entries: after.caller.apiKeys }] });
  });

  it('applies a new allow list or limit value through the maps, with no reload', () => {
    const before = model(base);
    const after = model({ ...base, policies: { services: { web: { rateLimit: { perCaller: '20/s' }, access: { allow: ['a', 'b'] }, auth: { required: true } } } } });
    const plan = planApply(before, after);
    expect(plan.kind).toBe('runtime');
    if (plan.kind === 'runtime') expect(plan.ops.map((op) => (op.kind === 'replace-map' ? op.map : op.kind)).sort()).toEqual(['caller-access.map', 'caller-limits.map', 'caller-policy.map']);
  });

  it('reloads for a new kind of rule: a limit in a new unit', () => {
    const before = model(base);
    const after = model({ ...base, policies: { services: { web: { rateLimit: { perCaller: '10/m' }, access: { allow: ['a'] } } } } });
    expect(planApply(before, after)).toEqual({ kind: 'reload', reasons: ['caller rules (identity, access or rate-limit kinds) changed'] });
  });
});

describe('Consul intentions', () => {
  it('keep L4 intentions only, sorted; map them to backends with wildcards; skip other gateways\' services and bad sources', () => {
    const read = normalizeIntentions([
      { SourceName: 'web', DestinationName: 'api', Action: 'deny' },
      { SourceName: '*', DestinationName: 'web', Action: 'allow' },
      { SourceName: 'a b', DestinationName: 'web', Action: 'deny' },
      { SourceName: 'web', DestinationName: '*', Action: 'deny' },
      { SourceName: 'x', DestinationName: 'web', Permissions: [] },
      { SourceName: 'y', DestinationName: 'elsewhere', Action: 'deny' },
      'junk',
    ]);
    expect(read).toHaveLength(5);
    const { lines, rejections } = intentionLines(read, new Map([['web', 'svc_web'], ['api', 'svc_api']]));
    expect(lines).toEqual([
      ['*/web', 'deny'],
      ['svc_api/web', 'deny'],
      ['svc_web/*', 'allow'],
    ]);
    expect(rejections.map((r) => r.subject)).toEqual(['intention "a b" → "web"']);
  });

  it('turns on the intentions rule only with access.consulIntentions, and reloads for it', () => {
    const off = model({ identity: { apiKeys: {} } });
    const on = buildModel({ snapshot: { ...snapshot(web), kv: [], intentions: [{ source: 'a', destination: 'web', action: 'deny' }] }, config: config({ identity: { apiKeys: {} }, access: { consulIntentions: true } }) });
    expect(off.caller.intentions).toEqual([]);
    expect(on.caller.intentions).toEqual([['svc_web/a', 'deny']]);
    expect(planApply(off, on).kind).toBe('reload');
  });
});

describe('source addresses', () => {
  it('name a caller only at an IP where one service is registered, IPv6 in one spelling', () => {
    const lines = sourceAddressLines([
      service('reporting', [instance({ id: 'r1', address: '10.0.0.5', port: 1 }), instance({ id: 'r2', address: '2001:DB8::1', port: 1 })]),
      service('a', [instance({ id: 'a1', address: '10.0.0.6', port: 1 })]),
      service('b', [instance({ id: 'b1', address: '10.0.0.6', port: 2 })]),
      service('c', [instance({ id: 'c1', address: 'host.example', port: 1 }), instance({ id: 'c2', address: '0.0.0.0', port: 1 })]),
    ]);
    expect(lines).toEqual([
      ['10.0.0.5', 'reporting'],
      ['2001:db8:0:0:0:0:0:1', 'reporting'],
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { buildModel } from '../../src/model/build-model.ts';
import { effectiveShares } from '../../src/model/versions.ts';
import { planApply } from '../../src/haproxy/plan/plan-apply.ts';
import { config, instance, service } from '../helpers/model-fakes.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import type { InstanceEntry, KvEntry } from '../../src/consul/snapshot.ts';
import type { ServiceModel } from '../../src/model/types.ts';

const at = (id: string, version: string, fields: Partial<InstanceEntry> = {}) => instance({ id, address: `10.0.0.${id.length}`, meta: { 'ipx-version': version }, ...fields });

function web(instances: InstanceEntry[], kv: KvEntry[] = [], input: ConfigInput = {}): { model: ReturnType<typeof buildModel>; web: ServiceModel } {
  const model = buildModel({ snapshot: { services: [service('web', instances)], kv }, config: config(input) });
  return { model, web: model.services[0] as ServiceModel };
}

const split = (shares: Record<string, number>, pinHeader?: string): KvEntry[] => [
  { key: 'ipx/services/web', value: JSON.stringify({ versions: { split: shares, ...(pinHeader ? { pinHeader } : {}) } }) },
];

describe('effectiveShares', () => {
  it.each<[string, Record<string, number>, string[], Record<string, number>]>([
    ['all up: as declared', { v1: 90, v2: 10 }, ['v1', 'v2'], { v1: 90, v2: 10 }],
    ['one down: its share goes to the others', { v1: 90, v2: 10 }, ['v1'], { v1: 100 }],
    ['scaled by largest remainder', { v1: 80, v2: 15, v3: 5 }, ['v1', 'v2'], { v1: 84, v2: 16 }],
    ['thirds: the remainder to the lower label', { a: 1, b: 1, c: 1 }, ['a', 'b', 'c'], { a: 34, b: 33, c: 33 }],
    ['none up: no split', { v1: 50, v2: 50 }, [], {}],
    ['a zero share stays zero', { v1: 100, v2: 0 }, ['v1', 'v2'], { v1: 100 }],
  ])('%s', (_, shares, up, expected) => {
    expect(effectiveShares(shares, new Set(up))).toEqual(expected);
  });
});

describe('versions in the model', () => {
  it('builds one backend per label, and 100 slots in label order', () => {
    const { web: svc } = web([at('a', 'v1'), at('bb', 'v2'), at('ccc', 'v1')], split({ v1: 90, v2: 10 }, 'X-Version'));
    expect(svc.versions.pinHeader).toBe('x-version');
    expect(svc.versions.backends.map((b) => [b.backend, b.servers.map((s) => s.name)])).toEqual([
      ['svc_web.v1', ['a', 'ccc']],
      ['svc_web.v2', ['bb']],
    ]);
    expect(svc.versions.slots.filter((b) => b === 'svc_web.v1')).toHaveLength(90);
    expect(svc.versions.slots.slice(90)).toEqual(Array(10).fill('svc_web.v2'));
  });

  it('sends every slot to the service backend while no version is up', () => {
    const { web: svc } = web([at('a', 'v1', { status: 'critical' })], split({ v1: 100 }));
    expect(new Set(svc.versions.slots)).toEqual(new Set(['svc_web']));
  });

  it('ignores ipx-version without a versions policy, and reports a bad label', () => {
    expect(web([at('a', 'v1')]).web.versions).toEqual({ pinHeader: null, backends: [], shares: {}, slots: [] });
    const { model, web: svc } = web([at('a', 'v 1')], split({ v1: 100 }));
    expect(svc.versions.backends).toEqual([]);
    expect(svc.servers[0]?.version).toBeNull();
    expect(model.rejections[0]?.reason).toMatch(/meta ipx-version "v 1" is not a version label/);
  });
});

describe('planning version changes', () => {
  const instances = [at('a', 'v1'), at('bb', 'v2')];
  it('a share change is map writes, no reload', () => {
    const plan = planApply(web(instances, split({ v1: 90, v2: 10 })).model, web(instances, split({ v1: 50, v2: 50 })).model);
    expect(plan.kind).toBe('runtime');
    const ops = plan.kind === 'runtime' ? plan.ops : [];
    expect(ops).toHaveLength(40);
    expect(ops[0]).toEqual({ kind: 'map', map: 'versions-split.map', key: 'svc_web/50', value: 'svc_web.v2' });
  });

  it('a version going down moves its slots at runtime, before its servers leave service', () => {
    const plan = planApply(web(instances, split({ v1: 90, v2: 10 })).model, web([at('a', 'v1'), at('bb', 'v2', { status: 'critical' })], split({ v1: 90, v2: 10 })).model);
    expect(plan.kind === 'runtime' && plan.ops.map((op) => op.kind)).toEqual([...Array(10).fill('map'), 'state', 'state']);
  });

  it('a version coming back takes its slots once its server is in service', () => {
    const plan = planApply(web([at('a', 'v1'), at('bb', 'v2', { status: 'critical' })], split({ v1: 90, v2: 10 })).model, web(instances, split({ v1: 90, v2: 10 })).model);
    expect(plan.kind === 'runtime' && plan.ops.map((op) => op.kind)).toEqual(['state', 'state', ...Array(10).fill('map')]);
  });

  it.each<[string, InstanceEntry[], KvEntry[], RegExp]>([
    ['a new version', [...instances, at('ccc', 'v3')], split({ v1: 90, v2: 10 }), /version backends/],
    ['a split switched off', instances, [], /versions\.split removed|version backends/],
    ['a pin header changed', instances, split({ v1: 90, v2: 10 }, 'X-Pin'), /pinHeader/],
  ])('%s reloads', (_, after, kv, reason) => {
    const plan = planApply(web(instances, split({ v1: 90, v2: 10 })).model, web(after, kv).model);
    expect(plan.kind).toBe('reload');
    expect(plan.kind === 'reload' && plan.reasons.join('; ')).toMatch(reason);
  });
});

describe('planning policy values at runtime', () => {
  const instances = [at('a', 'v1'), at('bb', 'v2')];
  const kv = (doc: object): KvEntry[] => [{ key: 'ipx/services/web', value: JSON.stringify(doc) }];

  it('a server timeout change rewrites the timeouts map for every backend of the service, no reload', () => {
    const plan = planApply(web(instances, kv({ versions: { split: { v1: 50, v2: 50 } } })).model, web(instances, kv({ versions: { split: { v1: 50, v2: 50 } }, timeouts: { server: '3s' } })).model);
    expect(plan).toEqual({
      kind: 'runtime',
      ops: ['svc_web', 'svc_web.v1', 'svc_web.v2'].map((key) => ({ kind: 'map', map: 'timeouts-server.map', key, value: '3000' })),
    });
  });

  it('a concurrency limit change sets maxconn on every server, 0 when lifted, no reload', () => {
    const limited = web(instances, kv({ circuitBreaker: { maxConnsPerInstance: 7 } })).model;
    const open = web(instances).model;
    expect(planApply(open, limited)).toEqual({
      kind: 'runtime',
      ops: [
        { kind: 'maxconn', backend: 'svc_web', server: 'a', maxconn: 7 },
        { kind: 'maxconn', backend: 'svc_web', server: 'bb', maxconn: 7 },
      ],
    });
    expect(planApply(limited, open).kind === 'runtime' && planApply(limited, open)).toMatchObject({ ops: [{ maxconn: 0 }, { maxconn: 0 }] });
  });

  it('a new kind of rule still reloads', () => {
    const plan = planApply(web(instances).model, web(instances, kv({ healthCheck: { path: '/health' } })).model);
    expect(plan.kind === 'reload' && plan.reasons).toEqual(['service "web": policy healthCheck.path changed']);
  });
});

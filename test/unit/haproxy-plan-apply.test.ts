import { describe, expect, it } from 'vitest';
import { buildModel } from '../../src/model/build-model.ts';
import { countOps, planApply, planForLive, type ApplyPlan } from '../../src/haproxy/plan/plan-apply.ts';
import { config, instance, service, snapshot } from '../helpers/model-fakes.ts';
import { loadFixture } from '../helpers/render-inputs.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import type { ServiceEntry } from '../../src/consul/snapshot.ts';

const model = (services: ServiceEntry[], input: ConfigInput = {}) => buildModel({ snapshot: snapshot(...services), config: config(input) });
const w1 = instance({ id: 'w1', address: '10.0.0.1' });
const w2 = instance({ id: 'w2', address: '10.0.0.2' });
const web = (...instances: ReturnType<typeof instance>[]) => service('web', instances);
const server = (id: string, address: string, fields: { weight?: number; state?: 'ready' | 'maint' } = {}) => ({
  name: id,
  instanceId: id,
  address,
  port: 8080,
  weight: fields.weight ?? 1,
  state: fields.state ?? 'ready',
  version: null,
});

describe('planApply', () => {
  it.each<[string, ServiceEntry[], ServiceEntry[], ApplyPlan]>([
    ['nothing changed', [web(w1)], [web(w1)], { kind: 'noop' }],
    ['only a rejected instance changed', [web(w1)], [web(w1, instance({ id: 'x', address: 'db.internal' }))], { kind: 'noop' }],
    ['an instance added', [web(w1)], [web(w1, w2)], { kind: 'runtime', ops: [{ kind: 'add', backend: 'svc_web', server: server('w2', '10.0.0.2'), keywords: '' }] }],
    ['an instance removed', [web(w1, w2)], [web(w1)], { kind: 'runtime', ops: [{ kind: 'remove', backend: 'svc_web', server: server('w2', '10.0.0.2') }] }],
    [
      'an address and port changed',
      [web(w1)],
      [web({ ...w1, address: '10.0.0.9', port: 9000 })],
      { kind: 'runtime', ops: [{ kind: 'addr', backend: 'svc_web', server: 'w1', address: '10.0.0.9', port: 9000 }] },
    ],
    [
      'an IPv6 address spelled differently (the config text changes with it)',
      [web({ ...w1, address: '2001:db8::1' })],
      [web({ ...w1, address: '2001:DB8::1' })],
      { kind: 'runtime', ops: [{ kind: 'addr', backend: 'svc_web', server: 'w1', address: '2001:DB8::1', port: 8080 }] },
    ],
    ['a weight changed', [web(w1)], [web({ ...w1, weight: 5 })], { kind: 'runtime', ops: [{ kind: 'weight', backend: 'svc_web', server: 'w1', weight: 5 }] }],
    [
      'an instance turned critical',
      [web(w1)],
      [web({ ...w1, status: 'critical' })],
      { kind: 'runtime', ops: [{ kind: 'state', backend: 'svc_web', server: 'w1', state: 'maint' }] },
    ],
    [
      'an instance recovered',
      [web({ ...w1, status: 'critical' })],
      [web(w1)],
      { kind: 'runtime', ops: [{ kind: 'state', backend: 'svc_web', server: 'w1', state: 'ready' }] },
    ],
    [
      'going down and moving: out of service first',
      [web(w1)],
      [web({ ...w1, status: 'critical', address: '10.0.0.9', weight: 2 })],
      {
        kind: 'runtime',
        ops: [
          { kind: 'state', backend: 'svc_web', server: 'w1', state: 'maint' },
          { kind: 'addr', backend: 'svc_web', server: 'w1', address: '10.0.0.9', port: 8080 },
          { kind: 'weight', backend: 'svc_web', server: 'w1', weight: 2 },
        ],
      },
    ],
    [
      'coming up and moving: into service last',
      [web({ ...w1, status: 'critical' })],
      [web({ ...w1, address: '10.0.0.9' })],
      {
        kind: 'runtime',
        ops: [
          { kind: 'addr', backend: 'svc_web', server: 'w1', address: '10.0.0.9', port: 8080 },
          { kind: 'state', backend: 'svc_web', server: 'w1', state: 'ready' },
        ],
      },
    ],
    [
      'a whole backend replaced: additions before removals, removals last overall',
      [web(w1), service('api', [instance({ id: 'a1' })])],
      [web(w2), service('api', [instance({ id: 'a2' })])],
      {
        kind: 'runtime',
        ops: [
          { kind: 'add', backend: 'svc_api', server: server('a2', '10.0.0.1'), keywords: '' },
          { kind: 'add', backend: 'svc_web', server: server('w2', '10.0.0.2'), keywords: '' },
          { kind: 'remove', backend: 'svc_api', server: server('a1', '10.0.0.1') },
          { kind: 'remove', backend: 'svc_web', server: server('w1', '10.0.0.1') },
        ],
      },
    ],
    [
      'a critical instance deregistered (removed in maintenance: nothing to drain)',
      [web(w1, { ...w2, status: 'critical' })],
      [web(w1)],
      { kind: 'runtime', ops: [{ kind: 'remove', backend: 'svc_web', server: server('w2', '10.0.0.2', { state: 'maint' }) }] },
    ],
    ['a service added', [web(w1)], [web(w1), service('api')], { kind: 'reload', reasons: ['service "api" added'] }],
    ['a service removed', [web(w1), service('api')], [web(w1)], { kind: 'reload', reasons: ['service "api" removed'] }],
    [
      'a service added while another changed servers: one reload covers both',
      [web(w1)],
      [web(w1, w2), service('api')],
      { kind: 'reload', reasons: ['service "api" added'] },
    ],
    [
      'a service renamed by case: another service as far as Consul is concerned',
      [service('web', [w1])],
      [service('Web', [w1])],
      { kind: 'reload', reasons: ['service "Web" added', 'service "web" removed'] },
    ],
  ])('%s', (_label, before, after, expected) => {
    expect(planApply(model(before), model(after))).toEqual(expected);
  });

  it.each<[string, ConfigInput, string[]]>([
    ['maxconn', { haproxy: { maxconn: 200 } }, ['global setting maxconn changed']],
    ['the balance algorithm', { routing: { balance: 'leastconn' } }, ['service "web": policy balance changed']],
    ['a policy value HAProxy cannot change at runtime', { policies: { services: { web: { timeouts: { connect: '3s' } } } } }, ['service "web": policy timeouts.connect changed']],
    ['the domain (every host changes too)', { routing: { domain: 'svc.example' } }, ['global setting domain changed', 'service "web": host web.service.internal became web.svc.example']],
    ['a listen address', { listen: { http: '127.0.0.1:9999' } }, ['global setting httpBind changed']],
  ])('reloads when %s changes, saying why', (_label, input, reasons) => {
    expect(planApply(model([web(w1)]), model([web(w1)], input))).toEqual({ kind: 'reload', reasons });
  });

  it('reloads for a composite route added or changed in KV while no service changed', () => {
    const { config: fixtureConfig, snapshot: fixtureSnapshot } = loadFixture('composites');
    const withComposites = buildModel({ snapshot: fixtureSnapshot, config: fixtureConfig });
    expect(withComposites.composites).toBeDefined();
    const { composites: _dropped, ...without } = withComposites;
    expect(planApply(without, withComposites)).toEqual({ kind: 'reload', reasons: ['composite routes changed'] });
    expect(planApply(withComposites, withComposites)).toEqual({ kind: 'noop' });
  });

  it('reloads when nothing was applied yet', () => {
    expect(planApply(undefined, model([web(w1)]))).toEqual({ kind: 'reload', reasons: ['no model has been applied yet'] });
  });

  it('passingOnly flipped: warning instances change state at runtime', () => {
    const warn = { ...w1, status: 'warning' as const };
    expect(planApply(model([web(warn)]), model([web(warn)], { routing: { passingOnly: false } }))).toEqual({
      kind: 'runtime',
      ops: [{ kind: 'state', backend: 'svc_web', server: 'w1', state: 'ready' }],
    });
  });

  it('counts ops by kind', () => {
    const plan = planApply(model([web(w1)]), model([web({ ...w1, weight: 3, status: 'critical' }, w2)]));
    expect(plan.kind === 'runtime' && countOps(plan.ops)).toEqual({ add: 1, weight: 1, state: 1 });
  });
});

describe('planForLive', () => {
  const a = model([web(w1)]);
  const b = model([web(w1, w2)]);
  it.each<[string, Parameters<typeof planForLive>[0], ApplyPlan['kind'], string?]>([
    ['HAProxy not running', { running: false, applied: a, next: b }, 'reload', 'HAProxy is not running'],
    ['no model for the files', { running: true, applied: a, next: undefined }, 'reload', 'the configuration comes without a model'],
    ['the live model unknown', { running: true, applied: undefined, next: b }, 'reload', 'the model HAProxy runs is not known (adopted from an earlier ipx, or never applied)'],
    ['equal models, different files', { running: true, applied: a, next: a }, 'reload', 'the rendered files changed but the model did not (new templates or assets)'],
    ['only servers changed', { running: true, applied: a, next: b }, 'runtime'],
  ])('%s → %s', (_label, input, kind, reason) => {
    const plan = planForLive(input);
    expect(plan.kind).toBe(kind);
    if (reason) expect(plan).toEqual({ kind: 'reload', reasons: [reason] });
  });
});

import { describe, expect, it } from 'vitest';
import { buildModel } from '../../src/model/build-model.ts';
import { config, instance, service, shuffle } from '../helpers/model-fakes.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import type { ServiceEntry } from '../../src/consul/snapshot.ts';

const build = (services: ServiceEntry[], input: ConfigInput = {}) => buildModel({ snapshot: { services, kv: [] }, config: config(input) });

describe('path routes in the model', () => {
  it('orders routes longest prefix first and takes them from meta and files alike', () => {
    const model = build([service('orders', [instance({ id: 'o', meta: { 'ipx-path-prefix': '/orders', 'ipx-strip-prefix': 'true' } })]), service('archive')], {
      policies: { services: { archive: { routes: [{ pathPrefix: '/orders/archive' }, { pathPrefix: '/a' }] } } },
    });
    expect(model.routes).toEqual([
      { prefix: '/orders/archive', service: 'archive', backend: 'svc_archive', strip: false },
      { prefix: '/orders', service: 'orders', backend: 'svc_orders', strip: true },
      { prefix: '/a', service: 'archive', backend: 'svc_archive', strip: false },
    ]);
  });

  it('gives a contested prefix to the lower service name whatever the order, and reports the other', () => {
    const services = [service('b', [instance({ id: 'b1', meta: { 'ipx-path-prefix': '/x' } })]), service('a', [instance({ id: 'a1', meta: { 'ipx-path-prefix': '/x' } })])];
    for (const seed of [1, 2, 3]) {
      const model = build(shuffle(services, seed));
      expect(model.routes).toEqual([{ prefix: '/x', service: 'a', backend: 'svc_a', strip: false }]);
      expect(model.rejections).toEqual([{ subject: 'policy of service "b"', reason: expect.stringMatching(/route \/x is also claimed by service "a", which keeps it/) }]);
    }
  });
});

describe('failover in the model', () => {
  it.each<[string, string, string | null, RegExp | null]>([
    ['an existing service', 'dr', 'svc_dr', null],
    ['a missing service', 'nope', null, /failover.service "nope" is not a routed service/],
    ['the service itself', 'web', null, /names the service itself/],
  ])('to %s', (_, target, backend, reason) => {
    const model = build([service('web'), service('dr')], { policies: { services: { web: { failover: { service: target } } } } });
    expect(model.services.find((s) => s.name === 'web')?.failover).toBe(backend);
    if (reason) expect(model.rejections[0]?.reason).toMatch(reason);
    else expect(model.rejections).toEqual([]);
  });
});

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

describe('static upstreams', () => {
  it('are routed like services, with their policy document, and lose a name to a Consul service', () => {
    const model = build([service('billing', [instance({ id: 'b1' })])], {
      static: {
        legacy: { instances: ['10.0.5.1:8080', '[2001:db8::5]:9090'], policy: { timeouts: { server: '10s' }, routes: [{ pathPrefix: '/legacy' }] } },
        billing: { instances: ['10.0.5.9:80'] },
      },
    });
    const legacy = model.services.find((s) => s.name === 'legacy');
    expect(legacy?.servers.map((s) => [s.name, s.address, s.port, s.state])).toEqual([
      ['legacy-1', '10.0.5.1', 8080, 'ready'],
      ['legacy-2', '2001:db8::5', 9090, 'ready'],
    ]);
    expect(legacy?.policy.timeouts.server).toBe(10_000);
    expect(legacy?.policyOrigins['timeouts.server']).toBe('file-service');
    expect(model.routes).toEqual([{ prefix: '/legacy', service: 'legacy', backend: 'svc_legacy', strip: false }]);
    expect(model.services.find((s) => s.name === 'billing')?.servers.map((s) => s.address)).toEqual(['10.0.0.1']);
    expect(model.rejections).toEqual([{ subject: 'service "billing"', reason: expect.stringMatching(/static upstream has the name of a Consul service/) }]);
  });

  it('refuses an instance that is not <ip>:<port> when the config is read', () => {
    expect(() => config({ static: { legacy: { instances: ['legacy.internal:80'] } } })).toThrow(/static\.legacy\.instances\.0.*<ip>:<port>/s);
  });
});

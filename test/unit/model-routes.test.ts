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

describe('TCP services', () => {
  const tcp = (name: string, port: string) => service(name, [instance({ id: `${name}-1`, meta: { 'ipx-protocol': 'tcp', 'ipx-tcp-port': port } })]);
  it('binds each TCP service on the listen.http IP at its port; a clash goes to the lower name, the rest is reported', () => {
    const model = build([tcp('redis', '9100'), tcp('apple', '9100'), tcp('far', '9300'), service('web'), service('nop', [instance({ id: 'n', meta: { 'ipx-protocol': 'tcp' } })])], {
      listen: { http: '127.0.0.2:8080' },
    });
    const bind = (name: string) => model.services.find((s) => s.name === name)?.tcp;
    expect([bind('apple'), bind('redis'), bind('far'), bind('nop'), bind('web')]).toEqual([{ bind: '127.0.0.2:9100' }, { bind: null }, { bind: null }, { bind: null }, null]);
    expect(model.rejections.map((r) => r.reason)).toEqual([
      expect.stringMatching(/tcpPort 9300 is outside routing.tcpPorts \(9100-9199\)/),
      expect.stringMatching(/protocol tcp needs tcpPort/),
      expect.stringMatching(/tcpPort 9100 is taken by service "apple"/),
    ]);
  });

  it('refuses one of ipx\'s own ports, and keeps TCP services out of routes, versions and failover', () => {
    const model = build([tcp('self', '9150'), tcp('db', '9101'), service('web')], {
      listen: { admin: '127.0.0.1:9150' },
      policies: { services: { db: { routes: [{ pathPrefix: '/db' }], versions: { pinHeader: 'X-V' } }, web: { failover: { service: 'db' } } } },
    });
    expect(model.services.find((s) => s.name === 'self')?.tcp).toEqual({ bind: null });
    expect(model.routes).toEqual([]);
    expect(model.services.find((s) => s.name === 'db')?.versions.pinHeader).toBeNull();
    expect(model.services.find((s) => s.name === 'web')?.failover).toBeNull();
    expect(model.rejections.map((r) => r.reason).join('\n')).toMatch(/tcpPort 9150 is listen.admin[\s\S]*failover is for HTTP services/);
  });
});

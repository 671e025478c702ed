import { NO_CALLER } from '../../src/model/identity/index.ts';
import { describe, expect, it } from 'vitest';
import { buildModel } from '../../src/model/build-model.ts';
import { HOSTNAME_REASON, PORT_REASON, UNSPECIFIED_REASON, WEIGHT_REASON } from '../../src/model/build-service.ts';
import { SAFE_NAME } from '../../src/model/identifiers.ts';
import { INVALID_NAME_REASON } from '../../src/model/service-names.ts';
import { config, defaultPolicyFields, instance, service, shuffle, snapshot } from '../helpers/model-fakes.ts';
import type { HealthStatus } from '../../src/consul/snapshot.ts';

describe('buildModel: global settings', () => {
  it('takes them from the config', () => {
    const model = buildModel({
      snapshot: snapshot(),
      config: config({
        haproxy: { runDir: '/var/run/ipx/', maxconn: 2000, threads: 1, hardStopAfter: '1m' },
        listen: { http: '[::1]:8080', stats: '127.0.0.1:9000' },
        routing: { domain: 'Svc.Example', balance: 'leastconn' },
      }),
    });
    expect(model).toEqual({
      global: {
        maxconn: 2000,
        threads: 1,
        adminSocket: '/var/run/ipx/admin.sock',
        socketGroup: null,
        serverStateFile: '/var/run/ipx/server-state',
        hardStopAfterMs: 60_000,
        httpBind: '[::1]:8080',
        statsBind: '127.0.0.1:9000',
        domain: 'svc.example',
        accessLog: '127.0.0.1:8406',
        statsAuth: null,
      },
      services: [],
      routes: [],
      rejections: [],
      caller: NO_CALLER,
    });
  });
});

describe('buildModel: service names', () => {
  it.each(['web', 'a', 'a'.repeat(63), 'web-2', '9lives', 'A-b', 'x--y'])('accepts %j', (name) => {
    const model = buildModel({ snapshot: snapshot(service(name)), config: config() });
    expect(model.rejections).toEqual([]);
    expect(model.services).toEqual([
      { name, host: `${name.toLowerCase()}.service.internal`, backend: `svc_${name.toLowerCase()}`, servers: [], ...defaultPolicyFields() },
    ]);
  });

  it.each(['', '-web', 'web-', 'a'.repeat(64), 'we b', 'web.x', 'web_x', 'ünï', 'x\ny', '%[env(HOME)]', '#', '${HOME}', "o'brien"])(
    'rejects %j with the reason and keeps the others',
    (name) => {
      const model = buildModel({ snapshot: snapshot(service(name), service('ok')), config: config() });
      expect(model.services.map((s) => s.name)).toEqual(['ok']);
      expect(model.rejections).toEqual([{ subject: `service ${JSON.stringify(name)}`, reason: INVALID_NAME_REASON }]);
    },
  );

  it('keeps the first in sorted order of names equal but for case, and says which', () => {
    const model = buildModel({ snapshot: snapshot(service('web'), service('WEB'), service('Web')), config: config() });
    expect(model.services.map((s) => [s.name, s.host, s.backend])).toEqual([['WEB', 'web.service.internal', 'svc_web']]);
    expect(model.rejections.map((r) => r.subject)).toEqual(['service "Web"', 'service "web"']);
    for (const rejection of model.rejections) expect(rejection.reason).toMatch(/equals service "WEB" when compared case-insensitively/);
  });

  it('uses one entry of a name listed twice, the same one whatever the order', () => {
    const a = service('web', [instance({ id: 'a', address: '10.0.0.1' })]);
    const b = service('web', [instance({ id: 'b', address: '10.0.0.2' })]);
    const one = buildModel({ snapshot: snapshot(a, b), config: config() });
    const two = buildModel({ snapshot: snapshot(b, a), config: config() });
    expect(one).toEqual(two);
    expect(one.services[0]?.servers.map((s) => s.instanceId)).toEqual(['a']);
    expect(one.rejections).toEqual([{ subject: 'service "web"', reason: expect.stringMatching(/lists this service twice/) }]);
  });

  it('sorts services by host, case aside', () => {
    const model = buildModel({ snapshot: snapshot(service('zeta'), service('Metrics'), service('api')), config: config() });
    expect(model.services.map((s) => s.name)).toEqual(['api', 'Metrics', 'zeta']);
  });
});

describe('buildModel: instance addresses and ports', () => {
  it.each([
    ['10.0.0.1', 80, undefined],
    ['255.255.255.255', 1, undefined],
    ['::1', 65535, undefined],
    ['2001:db8::1', 443, undefined],
    ['::ffff:10.0.0.1', 443, undefined],
    ['2001:DB8:0:0:0:0:0:1', 443, undefined],
    ['db.internal', 80, HOSTNAME_REASON],
    ['localhost', 80, HOSTNAME_REASON],
    ['', 80, HOSTNAME_REASON],
    ['10.0.0.256', 80, HOSTNAME_REASON],
    ['010.0.0.1', 80, HOSTNAME_REASON],
    [' 10.0.0.1', 80, HOSTNAME_REASON],
    ['10.0.0.1\n', 80, HOSTNAME_REASON],
    ['10.0.0.1 # x', 80, HOSTNAME_REASON],
    ['10.0.0.1:80', 80, HOSTNAME_REASON],
    ['[::1]', 80, HOSTNAME_REASON],
    ['fe80::1%eth0', 80, HOSTNAME_REASON],
    ['1::2::3', 80, HOSTNAME_REASON],
    ['0.0.0.0', 80, UNSPECIFIED_REASON],
    ['::', 80, UNSPECIFIED_REASON],
    ['0:0::0', 80, UNSPECIFIED_REASON],
    ['10.0.0.1', 0, PORT_REASON],
    ['10.0.0.1', 65536, PORT_REASON],
    ['10.0.0.1', -1, PORT_REASON],
    ['10.0.0.1', 80.5, PORT_REASON],
    ['10.0.0.1', Number.NaN, PORT_REASON],
  ])('address %j port %s → %s', (address, port, reason) => {
    const model = buildModel({
      snapshot: snapshot(service('web', [instance({ id: 'web-1', address, port }), instance({ id: 'good', address: '10.1.1.1' })])),
      config: config(),
    });
    const servers = model.services[0]?.servers ?? [];
    expect(servers.map((s) => s.instanceId)).toEqual(reason === undefined ? ['good', 'web-1'] : ['good']);
    expect(model.rejections).toEqual(
      reason === undefined ? [] : [{ subject: 'instance "web-1" on node "node-a" of service "web"', reason }],
    );
  });

  it('keeps IPv6 addresses without brackets (the renderer adds them)', () => {
    const model = buildModel({ snapshot: snapshot(service('web', [instance({ id: 'a', address: '2001:db8::1', port: 443 })])), config: config() });
    expect(model.services[0]?.servers).toEqual([{ name: 'a', instanceId: 'a', address: '2001:db8::1', port: 443, weight: 1, state: 'ready', version: null }]);
  });

  it('rejects an unknown health status rather than routing to it', () => {
    const status = 'maintenance' as HealthStatus;
    const model = buildModel({ snapshot: snapshot(service('web', [instance({ id: 'a', status })])), config: config() });
    expect(model.services[0]?.servers).toEqual([]);
    expect(model.rejections[0]?.reason).toMatch(/health status "maintenance" is unknown/);
  });

  it('rejects a second entry for the same instance on the same node', () => {
    const model = buildModel({
      snapshot: snapshot(service('web', [instance({ id: 'a', address: '10.0.0.2' }), instance({ id: 'a', address: '10.0.0.1' })])),
      config: config(),
    });
    expect(model.services[0]?.servers.map((s) => s.address)).toEqual(['10.0.0.1']);
    expect(model.rejections[0]?.reason).toMatch(/lists this instance twice/);
  });

  it('quotes untrusted strings in rejection subjects so that a log line stays one line', () => {
    const model = buildModel({
      snapshot: snapshot(service('web', [instance({ id: 'x\ny', node: 'n\r1', address: 'evil\nbackend x' })])),
      config: config(),
    });
    expect(model.rejections).toEqual([{ subject: 'instance "x\\ny" on node "n\\r1" of service "web"', reason: HOSTNAME_REASON }]);
    const long = buildModel({ snapshot: snapshot(service('x'.repeat(500))), config: config() });
    expect(long.rejections[0]?.subject.length).toBeLessThan(100);
    // JSON leaves NEL and U+2028 raw; log viewers break lines on them.
    const breakers = buildModel({ snapshot: snapshot(service('a\u0085b\u2028c')), config: config() });
    expect(breakers.rejections[0]?.subject).toBe('service "a\\u0085b\\u2028c"');
  });
});

describe('buildModel: health and weight', () => {
  it.each<[boolean, HealthStatus, 'ready' | 'maint']>([
    [true, 'passing', 'ready'],
    [true, 'warning', 'maint'],
    [true, 'critical', 'maint'],
    [false, 'passing', 'ready'],
    [false, 'warning', 'ready'],
    [false, 'critical', 'maint'],
  ])('passingOnly %s, status %s → server %s (kept, so a health flip is a state change)', (passingOnly, status, state) => {
    const model = buildModel({
      snapshot: snapshot(service('web', [instance({ id: 'a', status })])),
      config: config({ routing: { passingOnly } }),
    });
    expect(model.services[0]?.servers.map((s) => [s.name, s.state])).toEqual([['a', state]]);
    expect(model.rejections).toEqual([]);
  });

  it('keeps a service whose instances are all down, its servers in maintenance (HAProxy answers 503)', () => {
    const model = buildModel({ snapshot: snapshot(service('web', [instance({ id: 'a', status: 'critical' })])), config: config() });
    expect(model.services).toEqual([
      {
        name: 'web',
        host: 'web.service.internal',
        backend: 'svc_web',
        servers: [{ name: 'a', instanceId: 'a', address: '10.0.0.1', port: 8080, weight: 1, state: 'maint', version: null }],
        ...defaultPolicyFields(),
      },
    ]);
  });

  it.each<[number, number | undefined]>([
    [1, 1],
    [7, 7],
    [256, 256],
    [257, 256],
    [65535, 256],
    [0, undefined],
    [-3, undefined],
    [2.5, undefined],
    [Number.NaN, undefined],
    [Number.POSITIVE_INFINITY, undefined],
  ])('Consul weight %s → HAProxy weight %s (above 256 clamped, below 1 rejected)', (weight, expected) => {
    const model = buildModel({ snapshot: snapshot(service('web', [instance({ id: 'a', weight }), instance({ id: 'b' })])), config: config() });
    const servers = model.services[0]?.servers ?? [];
    expect(servers.find((s) => s.name === 'a')?.weight).toBe(expected);
    expect(model.rejections).toEqual(
      expected === undefined ? [{ subject: 'instance "a" on node "node-a" of service "web"', reason: WEIGHT_REASON }] : [],
    );
  });
});

describe('buildModel: server names', () => {
  it.each([
    ['web-1', 'web-1'],
    ['web.1_A', 'web.1_A'],
    ['a b', /^a_b-[0-9a-f]{8}$/],
    ['x\ny', /^x_y-[0-9a-f]{8}$/],
    ['#', /^[0-9a-f]{8}$/],
    ['%[env(HOME)]', /^env_HOME_-[0-9a-f]{8}$/],
    ['${HOME}', /^HOME_-[0-9a-f]{8}$/],
    ['-lead', /^lead-[0-9a-f]{8}$/],
    ['i'.repeat(300), /^i{39}-[0-9a-f]{8}$/],
    ['ünïcödé', /^n_c_d_-[0-9a-f]{8}$/],
    ['日本', /^[0-9a-f]{8}$/],
    ['', /^[0-9a-f]{8}$/],
  ])('derives a safe name from id %j', (id, expected) => {
    const model = buildModel({ snapshot: snapshot(service('web', [instance({ id })])), config: config() });
    const name = model.services[0]?.servers[0]?.name ?? '';
    expect(name).toMatch(SAFE_NAME);
    expect(name.length).toBeLessThanOrEqual(48);
    if (typeof expected === 'string') expect(name).toBe(expected);
    else expect(name).toMatch(expected);
  });

  it('adds the node when the same id is registered on several nodes', () => {
    const model = buildModel({
      snapshot: snapshot(
        service('web', [
          instance({ id: 'web', node: 'node-b', address: '10.0.0.2' }),
          instance({ id: 'web', node: 'node-a', address: '10.0.0.1' }),
          instance({ id: 'web', node: 'node c', address: '10.0.0.3' }),
        ]),
      ),
      config: config(),
    });
    const names = model.services[0]?.servers.map((s) => s.name) ?? [];
    expect(names.slice(0, 2)).toEqual(['web.node-a', 'web.node-b']);
    expect(names[2]).toMatch(/^web.node_c-[0-9a-f]{8}$/);
  });

  it('keeps names unique when ids are chosen to collide with derived names', () => {
    const ids = ['a b', 'a_b', 'a?b', 'a_b-7dbde935', '#', 'd08f88df', 'x', 'x'];
    const instances = ids.map((id, i) => instance({ id, node: `node-${i}`, address: `10.0.0.${i + 1}` }));
    const model = buildModel({ snapshot: snapshot(service('web', instances)), config: config() });
    const names = model.services[0]?.servers.map((s) => s.name) ?? [];
    expect(names).toHaveLength(ids.length);
    expect(new Set(names).size).toBe(ids.length);
    for (const name of names) expect(name).toMatch(SAFE_NAME);
  });

  it('keeps an instance\'s name while others come, go and change health', () => {
    const target = instance({ id: 'a b', node: 'node-a', address: '10.0.0.9' });
    const nameOf = (others: ReturnType<typeof instance>[]) =>
      buildModel({ snapshot: snapshot(service('web', [...others, target])), config: config() }).services[0]?.servers.find(
        (s) => s.instanceId === 'a b',
      )?.name;
    const alone = nameOf([]);
    expect(alone).toMatch(/^a_b-[0-9a-f]{8}$/);
    expect(nameOf([instance({ id: 'other', address: '10.0.0.2' })])).toBe(alone);
    expect(nameOf([instance({ id: 'z', status: 'critical' }), instance({ id: 'y', address: 'bad host' })])).toBe(alone);
    expect(nameOf([instance({ id: 'a_b' }), instance({ id: 'a?b', node: 'node-z' })])).toBe(alone);
  });

  it('sorts servers by name', () => {
    const model = buildModel({
      snapshot: snapshot(service('web', [instance({ id: 'c' }), instance({ id: 'a' }), instance({ id: 'b', node: 'node-0' })])),
      config: config(),
    });
    expect(model.services[0]?.servers.map((s) => s.name)).toEqual(['a', 'b', 'c']);
  });
});

describe('buildModel: determinism', () => {
  const services = [
    service('orders', [
      instance({ id: 'o-1', node: 'n2', address: '10.0.0.2' }),
      instance({ id: 'o-2', node: 'n1', address: '10.0.0.1' }),
      instance({ id: 'o-3', node: 'n3', address: 'bad host' }),
      instance({ id: 'o-1', node: 'n1', address: '10.0.0.3' }),
    ]),
    service('Orders', [instance({ id: 'x' })]),
    service('users', [instance({ id: 'u 1', address: '::1' }), instance({ id: 'u?1', address: '::2' }), instance({ id: 'u_1' })]),
    service('bad name'),
    service('web', [instance({ id: 'w', status: 'warning' })]),
  ];
  const expected = buildModel({ snapshot: snapshot(...services), config: config() });

  it.each(Array.from({ length: 20 }, (_, seed) => seed))('gives the same model for shuffled input (seed %i)', (seed) => {
    const shuffled = shuffle(services, seed).map((s) => service(s.name, shuffle(s.instances, seed + 100)));
    expect(buildModel({ snapshot: snapshot(...shuffled), config: config() })).toEqual(expected);
  });
});

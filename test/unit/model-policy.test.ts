import { describe, expect, it } from 'vitest';
import { buildModel } from '../../src/model/build-model.ts';
import { chooseValue, parseLayer } from '../../src/model/policy/index.ts';
import { config, instance, service } from '../helpers/model-fakes.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import type { KvEntry, ServiceEntry } from '../../src/consul/snapshot.ts';
import type { ServiceModel } from '../../src/model/types.ts';

function build(services: ServiceEntry[], kv: KvEntry[] = [], input: ConfigInput = {}) {
  return buildModel({ snapshot: { services, kv }, config: config(input) });
}

function svc(model: ReturnType<typeof build>, name: string): ServiceModel {
  const found = model.services.find((s) => s.name === name);
  if (!found) throw new Error(`no service ${name}`);
  return found;
}

describe('policy layers', () => {
  it('takes each key from the highest layer that sets it, and records the layer', () => {
    const model = build(
      [service('web', [instance({ id: 'a', meta: { 'ipx-timeout': '7s', 'ipx-balance': 'first' } })])],
      [
        { key: 'ipx/defaults', value: 'timeouts:\n  connect: 2s\nbalance: random\n' },
        { key: 'ipx/services/web', value: '{"retries": {"attempts": 4}}' },
      ],
      { policies: { defaults: { timeouts: { queue: '1s', connect: '3s' } }, services: { web: { balance: 'leastconn' } } } },
    );
    const web = svc(model, 'web');
    expect(model.rejections).toEqual([]);
    expect(web.policy.timeouts).toEqual({ connect: 2000, server: 7000, queue: 1000 });
    expect(web.policy.balance).toBe('leastconn');
    expect(web.policy.retries).toEqual({ attempts: 4, on: ['conn-failure'] });
    expect(web.policyOrigins).toMatchObject({
      'timeouts.queue': 'file-defaults',
      'timeouts.connect': 'kv-defaults',
      'timeouts.server': 'meta',
      balance: 'file-service',
      'retries.attempts': 'kv-service',
      'retries.on': 'built-in',
      protocol: 'built-in',
    });
  });

  it('without any policy keeps the values ipx always rendered', () => {
    const web = svc(build([service('web')], [], { routing: { balance: 'leastconn' } }), 'web');
    expect(web.policy).toEqual({
      balance: 'leastconn',
      timeouts: { connect: 5000, server: 30000, queue: 5000 },
      retries: { attempts: 2, on: ['conn-failure'] },
      healthCheck: { interval: 2000, rise: 2, fall: 3 },
      protocol: 'http',
    });
    expect(new Set(Object.values(web.policyOrigins))).toEqual(new Set(['built-in']));
  });

  it.each<[string, unknown, string, RegExp]>([
    ['a bad duration', { timeouts: { server: 'soon' } }, 'timeouts.server', /must be a duration/],
    ['an unknown key', { timeout: '5s' }, 'timeout', /unknown key "timeout"/],
    ['an unknown sub-key', { timeouts: { read: '5s' } }, 'timeouts.read', /unknown key "read"/],
    ['shares not adding to 100', { versions: { split: { v1: 90, v2: 20 } } }, 'versions.split', /add up to 100/],
    ['a hostile header', { versions: { pinHeader: 'X-V\nbackend evil' } }, 'versions.pinHeader', /header name/],
    ['a hostile route', { routes: [{ pathPrefix: "/a' if TRUE" }] }, 'routes', /segment/],
    ['an unknown balance', { balance: 'source' }, 'balance', /one of roundrobin/],
    ['a bad retry condition', { retries: { on: ['conn-failure', 'always'] } }, 'retries.on', /Invalid option/],
    ['a group that is not a mapping', { retries: 3 }, 'retries', /expected object/],
  ])('rejects %s in KV for that key only, the lower layers still applying', (_, document, key, reason) => {
    const model = build(
      [service('web'), service('api')],
      [{ key: 'ipx/services/web', value: JSON.stringify({ ...(document as object), protocol: 'h2c' }) }],
      { policies: { services: { web: { timeouts: { server: '9s' } } } } },
    );
    const web = svc(model, 'web');
    expect(web.policy.protocol).toBe('h2c');
    expect(web.policyOrigins.protocol).toBe('kv-service');
    expect(web.policy.timeouts.server).toBe(9000);
    const rejection = model.rejections.find((r) => r.subject === 'policy of service "web"');
    expect(rejection?.layer).toBe('kv-service');
    expect(rejection?.reason).toContain(`KV "ipx/services/web": ${key} `);
    expect(rejection?.reason).toMatch(reason);
    expect(model.rejections).toHaveLength(1);
    expect(svc(model, 'api').policy).toEqual(svc(build([service('api')]), 'api').policy);
  });

  it('reads KV documents in YAML and reports one that is neither YAML nor JSON', () => {
    const model = build([service('web'), service('api')], [
      { key: 'ipx/services/web', value: 'balance: hash-header:X-User\ncircuitBreaker:\n  maxConnsPerInstance: 10\n' },
      { key: 'ipx/services/api', value: '{"balance": [' },
    ]);
    expect(svc(model, 'web').policy.balance).toBe('hash-header:X-User');
    expect(svc(model, 'web').policy.circuitBreaker).toEqual({ maxConnsPerInstance: 10 });
    expect(svc(model, 'api').policy.balance).toBe('roundrobin');
    expect(model.rejections).toEqual([
      expect.objectContaining({ subject: 'policy of service "api"', layer: 'kv-service', reason: expect.stringMatching(/\(document\) is neither JSON nor YAML/) }),
    ]);
  });

  it('reports a bad KV default once, and every service keeps the rest', () => {
    const model = build([service('web'), service('api')], [{ key: 'ipx/defaults', value: '{"timeouts": {"server": "-1s", "connect": "1s"}}' }]);
    expect(model.rejections).toEqual([expect.objectContaining({ subject: 'policy defaults', layer: 'kv-defaults', reason: expect.stringContaining('timeouts.server') })]);
    for (const s of model.services) expect(s.policy.timeouts).toEqual({ connect: 1000, server: 30000, queue: 5000 });
  });

  it('rejects a bad file policy per key, naming the config key', () => {
    const model = build([service('web')], [], { policies: { services: { web: { tcpPort: 70000, protocol: 'tcp' } } } });
    expect(svc(model, 'web').policy.protocol).toBe('tcp');
    expect(model.rejections[0]?.reason).toMatch(/^config policies\.services\.web: tcpPort must be at most 65535/);
  });
});

describe('ipx-* instance meta', () => {
  it('maps every service-level key into the document', () => {
    const meta = {
      'ipx-balance': 'leastconn',
      'ipx-timeout': '4s',
      'ipx-connect-timeout': '250ms',
      'ipx-retries': '3',
      'ipx-health-path': '/health',
      'ipx-max-conns': '50',
      'ipx-protocol': 'h2c',
      'ipx-tcp-port': '9100',
      'ipx-rate-limit': '100/s',
      'ipx-auth': 'required',
      'ipx-allow': 'checkout, billing',
      'ipx-path-prefix': '/orders',
      'ipx-strip-prefix': 'true',
    };
    const model = build([service('web', [instance({ id: 'a', meta })])]);
    expect(model.rejections).toEqual([]);
    const { policy } = svc(model, 'web');
    expect(policy).toMatchObject({
      balance: 'leastconn',
      timeouts: { server: 4000, connect: 250 },
      retries: { attempts: 3 },
      healthCheck: { path: '/health' },
      circuitBreaker: { maxConnsPerInstance: 50 },
      protocol: 'h2c',
      tcpPort: 9100,
      rateLimit: { perCaller: '100/s' },
      auth: { required: true },
      access: { allow: ['checkout', 'billing'] },
      routes: [{ pathPrefix: '/orders', stripPrefix: true }],
    });
  });

  it('picks the value most instances hold, a tie going to the lowest, and reports the disagreement', () => {
    const on = (id: string, timeout?: string) => instance({ id, meta: timeout === undefined ? {} : { 'ipx-timeout': timeout } });
    expect(chooseValue([on('a', '5s'), on('b', '9s'), on('c', '9s'), on('d')], 'ipx-timeout')).toMatchObject({ value: '9s' });
    expect(chooseValue([on('a', '5s'), on('b', '9s'), on('d')], 'ipx-timeout')).toMatchObject({ value: '5s' });
    expect(chooseValue([on('a', '5s'), on('b', '5s')], 'ipx-timeout')).toEqual({ value: '5s' });
    expect(chooseValue([on('d')], 'ipx-timeout')).toBeUndefined();

    const model = build([service('web', [on('a', '9s'), on('b', '5s')])]);
    expect(svc(model, 'web').policy.timeouts.server).toBe(5000);
    expect(model.rejections).toEqual([
      expect.objectContaining({ subject: 'policy of service "web"', layer: 'meta', reason: expect.stringMatching(/instances disagree on ipx-timeout: using "5s" \(on 1 of them\) over "9s" on 1/) }),
    ]);
  });

  it('rejects a bad meta value under its meta key; the other layers still apply', () => {
    const model = build([service('web', [instance({ id: 'a', meta: { 'ipx-timeout': '5s\nbackend evil', 'ipx-retries': '1' } })])], [], {
      policies: { defaults: { timeouts: { server: '11s' } } },
    });
    expect(svc(model, 'web').policy.timeouts.server).toBe(11000);
    expect(svc(model, 'web').policy.retries.attempts).toBe(1);
    expect(model.rejections).toEqual([
      expect.objectContaining({ layer: 'meta', reason: expect.stringMatching(/^instance meta: ipx-timeout \(timeouts\.server\) must be a duration/) }),
    ]);
  });
});

describe('parseLayer', () => {
  it('never changes the document it is given', () => {
    const document = { timeouts: { server: 'x', connect: '1s' }, bogus: 1 };
    const copy = structuredClone(document);
    parseLayer('file-service', document);
    expect(document).toEqual(copy);
  });

  it('rejects a document that is not a mapping as a whole', () => {
    expect(parseLayer('kv-service', ['balance'])).toEqual({ document: {}, issues: [expect.objectContaining({ key: '(document)' })] });
    expect(parseLayer('kv-service', 'leastconn').issues).toHaveLength(1);
  });
});

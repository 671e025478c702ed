import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/parse.ts';
import { ConfigError } from '../../src/errors.ts';
import { buildModel } from '../../src/model/build-model.ts';
import { HOSTNAME_REASON } from '../../src/model/build-service.ts';
import { instancesReason, kvEntriesReason, servicesReason } from '../../src/model/limits.ts';
import { quoteForLog } from '../../src/model/rejections.ts';
import { INVALID_NAME_REASON } from '../../src/model/service-names.ts';
import { config, instance, service, shuffle } from '../helpers/model-fakes.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import type { InstanceEntry, KvEntry, ServiceEntry, Snapshot } from '../../src/consul/snapshot.ts';

type LimitsInput = NonNullable<ConfigInput['limits']>;

function build(snapshot: Partial<Snapshot>, limits: LimitsInput = {}) {
  return buildModel({ snapshot: { services: [], kv: [], ...snapshot }, config: config({ limits }) });
}

const serviceSubject = (name: string) => `service ${quoteForLog(name)}`;
const instanceSubject = (id: string, node = 'node-a', svc = 'web') => `instance ${quoteForLog(id)} on node ${quoteForLog(node)} of service ${quoteForLog(svc)}`;

describe('limits config', () => {
  it('has a default for every key', () => {
    expect(parseConfig({}).limits).toEqual({ services: 5000, instancesPerService: 1000, fieldLength: 512, kvEntries: 10_000, kvValueBytes: 65_536 });
  });

  it.each<[LimitsInput, RegExp]>([
    [{ services: 0 }, /limits\.services/],
    [{ instancesPerService: 1.5 }, /limits\.instancesPerService/],
    [{ fieldLength: 63 }, /limits\.fieldLength/],
    [{ kvEntries: -1 }, /limits\.kvEntries/],
    [{ kvValueBytes: 0 }, /limits\.kvValueBytes/],
  ])('rejects %j naming the key', (limits, message) => {
    expect(() => parseConfig({ limits })).toThrow(ConfigError);
    expect(() => parseConfig({ limits })).toThrow(message);
  });
});

describe('limits.services', () => {
  it.each<{ name: string; services: string[]; unwatched?: string[]; limit: number; kept: string[]; over: string[]; invalid?: string[] }>([
    { name: 'under the limit', services: ['b', 'a'], limit: 3, kept: ['a', 'b'], over: [] },
    { name: 'at the limit', services: ['c', 'a', 'b'], limit: 3, kept: ['a', 'b', 'c'], over: [] },
    { name: 'the first names in code-unit order are kept', services: ['web', 'api', 'Zeta', 'db'], limit: 2, kept: ['api', 'Zeta'], over: ['db', 'web'] },
    { name: 'invalid names count (the watcher opened their views)', services: ['a_b', 'web', 'api'], limit: 2, kept: ['api'], over: ['web'], invalid: ['a_b'] },
    { name: 'names over fieldLength do not count', services: ['x'.repeat(600), 'web', 'api'], limit: 2, kept: ['api', 'web'], over: [], invalid: ['x'.repeat(600)] },
    { name: 'unwatched names are rejected', services: ['api'], unwatched: ['db', 'web'], limit: 1, kept: ['api'], over: ['db', 'web'] },
    { name: 'unwatched names take their place in the order', services: ['api', 'db'], unwatched: ['b'], limit: 3, kept: ['api', 'db'], over: ['b'] },
    { name: 'an unwatched name over fieldLength gets the grammar reason', services: [], unwatched: ['y'.repeat(513)], limit: 1, kept: [], over: [], invalid: ['y'.repeat(513)] },
  ])('$name', ({ services, unwatched, limit, kept, over, invalid = [] }) => {
    const model = build({ services: services.map((name) => service(name)), ...(unwatched ? { unwatched } : {}) }, { services: limit });
    expect(model.services.map((s) => s.name)).toEqual(kept);
    const expected = [
      ...over.map((name) => ({ subject: serviceSubject(name), reason: servicesReason(limit) })),
      ...invalid.map((name) => ({ subject: serviceSubject(name), reason: INVALID_NAME_REASON })),
    ];
    expect([...model.rejections].sort(bySubject)).toEqual(expected.sort(bySubject));
  });

  it('names the limit and the key to raise', () => {
    expect(servicesReason(5000)).toBe(
      'beyond limits.services (5000): only the first 5000 services in name order are watched and routed; raise limits.services to route it',
    );
  });

  it('rejects a name listed twice beyond the limit once', () => {
    const model = build({ services: [service('a'), service('b'), service('b')] }, { services: 1 });
    expect(model.rejections).toEqual([{ subject: serviceSubject('b'), reason: servicesReason(1) }]);
  });
});

describe('limits.instancesPerService', () => {
  const at = (n: number) => `10.0.0.${n}`;
  it.each<{ name: string; instances: InstanceEntry[]; limit: number; servers: string[]; over: string[]; invalid?: string[] }>([
    { name: 'under the limit', instances: [instance({ id: 'a' }), instance({ id: 'b' })], limit: 3, servers: ['a', 'b'], over: [] },
    {
      name: 'the first in (node, ID) order are kept',
      instances: [instance({ id: 'a', node: 'n2' }), instance({ id: 'z', node: 'n1' }), instance({ id: 'b', node: 'n2' })],
      limit: 2,
      servers: ['a', 'z'],
      over: ['b'],
    },
    {
      name: 'invalid instances do not take a place',
      instances: [instance({ id: 'a', address: 'db.internal' }), instance({ id: 'b', address: at(2) }), instance({ id: 'c', address: at(3) })],
      limit: 2,
      servers: ['b', 'c'],
      over: [],
      invalid: ['a'],
    },
    {
      name: 'instances in maintenance take a place (they are servers)',
      instances: [instance({ id: 'a', status: 'critical' }), instance({ id: 'b' }), instance({ id: 'c' })],
      limit: 2,
      servers: ['a', 'b'],
      over: ['c'],
    },
  ])('$name', ({ instances, limit, servers, over, invalid = [] }) => {
    const model = build({ services: [service('web', instances)] }, { instancesPerService: limit });
    expect(model.services[0]?.servers.map((s) => s.instanceId)).toEqual(servers);
    const nodeOf = (id: string) => instances.find((i) => i.id === id)?.node;
    expect(model.rejections).toEqual(
      [
        ...over.map((id) => ({ subject: instanceSubject(id, nodeOf(id)), reason: instancesReason(limit) })),
        ...invalid.map((id) => ({ subject: instanceSubject(id, nodeOf(id)), reason: HOSTNAME_REASON })),
      ].sort(bySubject),
    );
  });

  it('keeps the same instances whatever the order they arrive in', () => {
    const instances = Array.from({ length: 30 }, (_, i) => instance({ id: `i-${i}`, node: `n-${i % 4}`, address: at(i + 1) }));
    const expected = build({ services: [service('web', instances)] }, { instancesPerService: 10 });
    expect(expected.services[0]?.servers).toHaveLength(10);
    expect(expected.rejections).toHaveLength(20);
    for (const seed of [1, 2, 3]) {
      expect(build({ services: [service('web', shuffle(instances, seed))] }, { instancesPerService: 10 })).toEqual(expected);
    }
  });
});

describe('limits.fieldLength', () => {
  const long = 'x'.repeat(65);
  it.each<[string, Partial<InstanceEntry>, string | undefined]>([
    ['an ID at the limit', { id: 'i'.repeat(64) }, undefined],
    ['an ID over it', { id: 'i'.repeat(65) }, 'service ID is 65 characters long'],
    ['a node name over it', { node: long }, 'node name is 65 characters long'],
    ['a tag over it', { tags: ['ok', long] }, `tag ${quoteForLog(long)} is 65 characters long`],
    ['a meta key over it', { meta: { [long]: 'v' } }, `meta key ${quoteForLog(long)} is 65 characters long`],
    ['a meta value over it', { meta: { version: long } }, 'meta value of "version" is 65 characters long'],
    ['non-ASCII counted in UTF-16 code units', { tags: ['é'.repeat(64)] }, undefined],
    ['the first field found is named (ID before node)', { id: long, node: long }, 'service ID is 65 characters long'],
  ])('%s', (_name, fields, message) => {
    const entry = instance({ id: 'web-1', ...fields });
    const model = build({ services: [service('web', [entry, instance({ id: 'ok', address: '10.0.0.9' })])] }, { fieldLength: 64 });
    const ids = model.services[0]?.servers.map((s) => s.instanceId);
    if (message === undefined) {
      expect(ids).toContain(entry.id);
      expect(model.rejections).toEqual([]);
    } else {
      expect(ids).toEqual(['ok']);
      expect(model.rejections).toEqual([
        { subject: instanceSubject(entry.id, entry.node), reason: `${message}, beyond limits.fieldLength (64); shorten it or raise limits.fieldLength` },
      ]);
    }
  });

  it('cuts the quoted value in the reason so that a megabyte tag does not flood the log', () => {
    const model = build({ services: [service('web', [instance({ id: 'a', tags: ['t'.repeat(1_000_000)] })])] });
    expect(model.rejections[0]?.reason.length).toBeLessThan(200);
  });
});

describe('limits.kvEntries and limits.kvValueBytes', () => {
  const kv = (key: string, value = '{}'): KvEntry => ({ key, value });
  it.each<{ name: string; entries: KvEntry[]; limits: LimitsInput; rejected: Array<[string, string]> }>([
    { name: 'within both', entries: [kv('ipx/a'), kv('ipx/b')], limits: { kvEntries: 2 }, rejected: [] },
    { name: 'the first keys in key order are read', entries: [kv('ipx/c'), kv('ipx/a'), kv('ipx/b')], limits: { kvEntries: 2 }, rejected: [['ipx/c', kvEntriesReason(2)]] },
    {
      name: 'a value over the size is rejected and does not count',
      entries: [kv('ipx/a', 'x'.repeat(11)), kv('ipx/b'), kv('ipx/c')],
      limits: { kvEntries: 2, kvValueBytes: 10 },
      rejected: [['ipx/a', 'value is 11 bytes, beyond limits.kvValueBytes (10); store less or raise limits.kvValueBytes']],
    },
    {
      name: 'the size is in UTF-8 bytes',
      entries: [kv('ipx/a', 'é'.repeat(5)), kv('ipx/b', 'é'.repeat(6))],
      limits: { kvValueBytes: 10 },
      rejected: [['ipx/b', 'value is 12 bytes, beyond limits.kvValueBytes (10); store less or raise limits.kvValueBytes']],
    },
  ])('$name', ({ entries, limits, rejected }) => {
    const model = build({ kv: entries }, limits);
    expect(model.rejections).toEqual(rejected.map(([key, reason]) => ({ subject: `KV key ${JSON.stringify(key)}`, reason })));
  });

  it('never changes what is rendered: no policy reads KV yet', () => {
    const plain = build({ services: [service('web', [instance({ id: 'a' })])] });
    const withKv = build({ services: [service('web', [instance({ id: 'a' })])], kv: [kv('ipx/x', 'y'.repeat(100_000))] });
    expect(withKv.services).toEqual(plain.services);
  });
});

describe('limits keep a hostile snapshot cheap', () => {
  // How long this takes is measured by bench:scale (model + render at 5,000 services), not here.
  it('builds 6,000 services, one with 20,000 instances, and megabyte names and IDs, within the defaults', () => {
    const big: ServiceEntry = service(
      'big',
      Array.from({ length: 20_000 }, (_, i) => instance({ id: `b-${i}`, node: `n-${i % 50}`, address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${(i & 255) || 1}` })),
    );
    const hostile = service('hostile', [instance({ id: 'h'.repeat(1_000_000) }), instance({ id: 'ok', tags: ['t'.repeat(1_000_000)] })]);
    const many = Array.from({ length: 6_000 }, (_, i) => service(`s-${String(i).padStart(5, '0')}`, [instance({ id: `s-${i}` })]));
    const model = build({ services: [big, hostile, ...many, service('z'.repeat(1_000_000))] });
    expect(model.services).toHaveLength(5000);
    expect(model.services.find((s) => s.name === 'big')?.servers).toHaveLength(1000);
    expect(model.services.find((s) => s.name === 'hostile')?.servers).toEqual([]);
    expect(model.rejections.length).toBe(19_000 + 2 + 1_002 + 1);
  });
});

function bySubject(a: { subject: string; reason: string }, b: { subject: string; reason: string }): number {
  return a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0;
}

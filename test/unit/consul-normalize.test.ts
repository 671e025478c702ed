import { describe, expect, it } from 'vitest';
import { ConsulError } from '../../src/errors.ts';
import { assembleSnapshot, chooseWatched, watchedServices } from '../../src/consul/assemble.ts';
import { normalizeInstances, normalizeKv, normalizeServiceNames, worstStatus } from '../../src/consul/normalize.ts';
import type { InstanceEntry } from '../../src/consul/snapshot.ts';

const check = (checkId: string, status: string) => ({ checkId, status });

describe('worstStatus', () => {
  it.each([
    { name: 'no checks is passing', checks: [], want: 'passing' },
    { name: 'all passing', checks: [check('serfHealth', 'passing'), check('service:a', 'passing')], want: 'passing' },
    { name: 'a warning wins over passing', checks: [check('serfHealth', 'passing'), check('service:a', 'warning')], want: 'warning' },
    { name: 'critical wins over warning', checks: [check('serfHealth', 'critical'), check('service:a', 'warning')], want: 'critical' },
    { name: 'a node check alone decides', checks: [check('serfHealth', 'critical'), check('service:a', 'passing')], want: 'critical' },
    { name: 'node maintenance is critical', checks: [check('_node_maintenance', 'passing')], want: 'critical' },
    { name: 'service maintenance is critical', checks: [check('_service_maintenance:a', 'warning')], want: 'critical' },
    { name: 'an unknown status is critical', checks: [check('service:a', 'maintenance')], want: 'critical' },
    { name: 'a prototype key is not a status', checks: [check('service:a', 'constructor')], want: 'critical' },
  ])('$name', ({ checks, want }) => {
    expect(worstStatus(checks)).toBe(want);
  });
});

function entry(node: string, id: string, extra: { svc?: Record<string, unknown>; nodeAddress?: string; checks?: unknown[] } = {}) {
  return {
    Node: { Node: node, Address: extra.nodeAddress ?? '192.0.2.1' },
    Service: { ID: id, Service: 'web', Address: '', Port: 8080, Tags: [], Meta: {}, ...extra.svc },
    Checks: extra.checks ?? [],
  };
}

describe('normalizeInstances', () => {
  it('sorts by node, then id, in code-unit order', () => {
    const body = [entry('n2', 'b'), entry('n1', 'b'), entry('n1', 'B'), entry('n1', 'a')];
    expect(normalizeInstances(body, 'web').map((i) => `${i.node}/${i.id}`)).toEqual(['n1/B', 'n1/a', 'n1/b', 'n2/b']);
  });

  it.each([
    { name: 'service address wins', svc: { Address: '10.0.0.5' }, nodeAddress: '192.0.2.9', want: '10.0.0.5' },
    { name: 'empty service address falls back to the node', svc: { Address: '' }, nodeAddress: '192.0.2.9', want: '192.0.2.9' },
    { name: 'missing service address falls back to the node', svc: { Address: undefined }, nodeAddress: '192.0.2.9', want: '192.0.2.9' },
    { name: 'a non-string address is ignored', svc: { Address: 42 }, nodeAddress: '192.0.2.9', want: '192.0.2.9' },
  ])('address: $name', ({ svc, nodeAddress, want }) => {
    const [instance] = normalizeInstances([entry('n1', 'a', { svc, nodeAddress })], 'web');
    expect(instance?.address).toBe(want);
  });

  it('sorts and dedupes tags, sorts meta keys and keeps only string values', () => {
    const [instance] = normalizeInstances(
      [entry('n1', 'a', { svc: { Tags: ['v2', 'b', 'v2', 7, 'a'], Meta: { z: '1', a: '2', n: 3, __proto__x: 'p' } } })],
      'web',
    );
    expect(instance?.tags).toEqual(['a', 'b', 'v2']);
    expect(Object.keys(instance?.meta ?? {})).toEqual(['__proto__x', 'a', 'z']);
  });

  it('keeps a hostile "__proto__" meta key as a plain key', () => {
    const body = JSON.parse('[{"Node":{"Node":"n","Address":"1.2.3.4"},"Service":{"ID":"a","Port":1,"Meta":{"__proto__":"x"}},"Checks":[]}]');
    const [instance] = normalizeInstances(body, 'web');
    expect(Object.getPrototypeOf(instance?.meta)).toBe(Object.prototype);
    expect(Object.entries(instance?.meta ?? {})).toEqual([['__proto__', 'x']]);
  });

  it('aggregates node and service checks and drops their output', () => {
    const checks = [
      { CheckID: 'serfHealth', Status: 'passing', Output: 'Agent alive', ServiceID: '' },
      { CheckID: 'service:a', Status: 'warning', Output: 'HTTP 429 at 12:00:01', ServiceID: 'a' },
    ];
    const [instance] = normalizeInstances([entry('n1', 'a', { checks })], 'web');
    expect(instance).toEqual<InstanceEntry>({
      id: 'a',
      node: 'n1',
      address: '192.0.2.1',
      port: 8080,
      tags: [],
      meta: {},
      status: 'warning',
      weight: 1,
    });
  });

  it.each([
    { name: 'no Weights is Consul\'s default 1', svc: {}, want: 1 },
    { name: 'Weights.Passing is taken', svc: { Weights: { Passing: 7, Warning: 1 } }, want: 7 },
    { name: 'a weight above HAProxy\'s range is kept for the model to judge', svc: { Weights: { Passing: 1000 } }, want: 1000 },
    { name: 'a zero is kept for the model to judge', svc: { Weights: { Passing: 0 } }, want: 0 },
    { name: 'a string is dropped to the default', svc: { Weights: { Passing: '5' } }, want: 1 },
    { name: 'Weights of the wrong type is dropped to the default', svc: { Weights: [5] }, want: 1 },
    { name: 'a missing Passing is the default', svc: { Weights: { Warning: 3 } }, want: 1 },
    { name: 'Weights.Warning while in warning', svc: { Weights: { Passing: 7, Warning: 2 } }, status: 'warning', want: 2 },
    { name: 'a missing Warning is the default while in warning', svc: { Weights: { Passing: 7 } }, status: 'warning', want: 1 },
    { name: 'Weights.Passing while critical (a maint server keeps its weight for when it returns)', svc: { Weights: { Passing: 7, Warning: 2 } }, status: 'critical', want: 7 },
  ])('weight: $name', ({ svc, want, status }) => {
    const checks = status ? [{ CheckID: 'service:a', Status: status }] : undefined;
    const [instance] = normalizeInstances([entry('n1', 'a', { svc, ...(checks ? { checks } : {}) })], 'web');
    expect(instance?.weight).toBe(want);
  });

  it('gives the same result when only check output changed', () => {
    const at = (output: string) => [entry('n1', 'a', { checks: [{ CheckID: 'service:a', Status: 'passing', Output: output }] })];
    expect(normalizeInstances(at('took 3ms'), 'web')).toEqual(normalizeInstances(at('took 4ms'), 'web'));
  });

  it('skips malformed entries and a port that is not an integer becomes 0', () => {
    const body = [null, 'x', { Node: {}, Service: { ID: 'a' } }, { Service: { ID: 'b' } }, entry('n1', 'c', { svc: { Port: '80' } })];
    expect(normalizeInstances(body, 'web').map((i) => [i.id, i.port])).toEqual([['c', 0]]);
  });

  it('returns frozen data', () => {
    const instances = normalizeInstances([entry('n1', 'a', { svc: { Tags: ['t'] } })], 'web');
    expect(Object.isFrozen(instances)).toBe(true);
    expect(Object.isFrozen(instances[0])).toBe(true);
    expect(Object.isFrozen(instances[0]?.tags)).toBe(true);
    expect(Object.isFrozen(instances[0]?.meta)).toBe(true);
  });

  it('throws a ConsulError instead of returning no instances for a body that is not a list', () => {
    expect(() => normalizeInstances({ error: 'x' }, 'web')).toThrow(ConsulError);
    expect(() => normalizeInstances(undefined, 'web')).toThrow(/GET \/v1\/health\/service\/web/);
  });
});

describe('normalizeKv', () => {
  it.each([
    { name: 'an empty prefix (404) is no keys', body: undefined, want: [] },
    { name: 'null is no keys', body: null, want: [] },
    {
      name: 'decoded strings are kept and keys sorted',
      body: [{ Key: 'ipx/b', Value: 'two' }, { Key: 'ipx/a', Value: 'één' }],
      want: [{ key: 'ipx/a', value: 'één' }, { key: 'ipx/b', value: 'two' }],
    },
    {
      name: 'a Buffer value is decoded as UTF-8',
      body: [{ Key: 'ipx/a', Value: Buffer.from('{"timeout":"5s"} ✓', 'utf8') }],
      want: [{ key: 'ipx/a', value: '{"timeout":"5s"} ✓' }],
    },
    { name: 'a key without a value is the empty string', body: [{ Key: 'ipx/a', Value: null }], want: [{ key: 'ipx/a', value: '' }] },
    {
      name: 'folder placeholders are dropped',
      body: [{ Key: 'ipx/', Value: null }, { Key: 'ipx/services/', Value: null }, { Key: 'ipx/services/web', Value: 'x' }],
      want: [{ key: 'ipx/services/web', value: 'x' }],
    },
    { name: 'malformed items are dropped', body: [null, { Key: 3, Value: 'x' }, { Value: 'y' }], want: [] },
  ])('$name', ({ body, want }) => {
    expect(normalizeKv(body, 'ipx/')).toEqual(want);
  });

  it('throws for a body that is not a list', () => {
    expect(() => normalizeKv({ Key: 'ipx/a' }, 'ipx/')).toThrow(ConsulError);
  });
});

describe('catalog names and snapshot assembly', () => {
  it('lists service names sorted and rejects a body that is not an object', () => {
    expect(normalizeServiceNames({ web: ['a'], api: [], consul: [] })).toEqual(['api', 'consul', 'web']);
    expect(() => normalizeServiceNames([])).toThrow(ConsulError);
  });

  it('ignores Consul\'s own service', () => {
    expect(watchedServices(['web', 'consul', 'api'])).toEqual(['api', 'web']);
  });

  it.each<{ name: string; names: string[]; services: number; fieldLength: number; watched: string[]; unwatched: string[] }>([
    { name: 'all within the limits', names: ['web', 'api'], services: 5, fieldLength: 64, watched: ['api', 'web'], unwatched: [] },
    { name: 'the first names in sorted order', names: ['web', 'db', 'api', 'consul'], services: 2, fieldLength: 64, watched: ['api', 'db'], unwatched: ['web'] },
    { name: 'long names set aside first', names: ['a'.repeat(65), 'web', 'api'], services: 2, fieldLength: 64, watched: ['api', 'web'], unwatched: ['a'.repeat(65)] },
  ])('chooses the services to watch: $name', ({ names, services, fieldLength, watched, unwatched }) => {
    expect(chooseWatched(names, { services, fieldLength })).toEqual({ watched, unwatched });
  });

  it('carries unwatched names in the snapshot only when there are some', () => {
    expect(assembleSnapshot({ services: [], kv: [], unwatched: [] })).toEqual({ services: [], kv: [] });
    expect(assembleSnapshot({ services: [], kv: [], unwatched: ['web', 'api'] }).unwatched).toEqual(['api', 'web']);
  });

  it('assembles a frozen snapshot sorted by service name', () => {
    const snapshot = assembleSnapshot({ services: [['web', []], ['api', []]], kv: [{ key: 'ipx/a', value: '1' }] });
    expect(snapshot.services.map((s) => s.name)).toEqual(['api', 'web']);
    expect(Object.isFrozen(snapshot)).toBe(true);
    expect(Object.isFrozen(snapshot.services)).toBe(true);
    expect(Object.isFrozen(snapshot.services[0])).toBe(true);
    expect(Object.isFrozen(snapshot.kv)).toBe(true);
  });
});

/**
 * fast-check arbitraries for policy input from the untrusted layers: ipx-*
 * instance meta and KV documents, valid values mixed with hostile ones in
 * every position a value can take.
 */
import fc from 'fast-check';
import { untrustedText } from './consul-arbitraries.ts';
import type { InstanceEntry, KvEntry, ServiceEntry } from '../../src/consul/snapshot.ts';

const META_VALUES: Record<string, readonly string[]> = {
  'ipx-balance': ['leastconn', 'first', 'hash-source', 'hash-header:X-User', 'hash-header:X User', 'hash-header:'],
  'ipx-timeout': ['5s', '250ms', '0', '2h', '1e3s'],
  'ipx-connect-timeout': ['1s', '-1s'],
  'ipx-retries': ['0', '3', '11', '2.5'],
  'ipx-health-path': ['/health', '/h?x=1', '/h h', '/h%0a'],
  'ipx-max-conns': ['100', '0'],
  'ipx-protocol': ['h2c', 'grpc', 'tcp', 'http2'],
  'ipx-tcp-port': ['9100', '0', '65536'],
  'ipx-path-prefix': ['/orders', '/a/b', '/', '/a/', '/a b'],
  'ipx-strip-prefix': ['true', 'false', 'yes'],
  'ipx-version': ['v1', 'v2', 'v 3', ''],
  'ipx-allow': ['checkout,billing', '*', 'a b'],
  'ipx-auth': ['required', 'optional', 'maybe'],
  'ipx-rate-limit': ['100/s', '0/s', '1/d'],
};

const metaValue = (key: string) => fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...(META_VALUES[key] ?? [''])) }, { weight: 1, arbitrary: untrustedText });

export const policyMeta: fc.Arbitrary<Record<string, string>> = fc
  .subarray(Object.keys(META_VALUES), { maxLength: 5 })
  .chain((keys) => fc.tuple(...keys.map((key) => metaValue(key).map((value) => [key, value] as const))))
  .map((pairs) => Object.fromEntries(pairs));

const hostileOr = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ weight: 2, arbitrary: valid }, { weight: 1, arbitrary: untrustedText }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) });

/** A policy document where every value may be hostile or of the wrong type. */
export const policyDocument: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    balance: hostileOr(fc.constantFrom('leastconn', 'random', 'first', 'hash-source', 'hash-header:X-Tenant')),
    timeouts: fc.record({ connect: hostileOr(fc.constantFrom('1s', 500)), server: hostileOr(fc.constantFrom('2s', '1m')), queue: hostileOr(fc.constant('1s')) }, { requiredKeys: [] }),
    retries: fc.record({ attempts: hostileOr(fc.integer({ min: 0, max: 12 })), on: hostileOr(fc.subarray(['conn-failure', '503', 'response-timeout', 'empty-response'], { minLength: 1 })) }, { requiredKeys: [] }),
    circuitBreaker: fc.record(
      { maxConnsPerInstance: hostileOr(fc.integer({ min: 0, max: 200 })), maxQueuePerInstance: hostileOr(fc.integer({ min: 0, max: 50 })), consecutiveErrors: hostileOr(fc.integer({ min: 1, max: 5 })), slowStart: hostileOr(fc.constant('10s')) },
      { requiredKeys: [] },
    ),
    healthCheck: fc.record({ path: hostileOr(fc.constant('/health')), interval: hostileOr(fc.constant('1s')), rise: hostileOr(fc.constant(2)), fall: hostileOr(fc.constant(3)) }, { requiredKeys: [] }),
    versions: fc.record(
      { split: hostileOr(fc.constantFrom({ v1: 90, v2: 10 }, { v1: 100 }, { 'v 1': 50, v2: 50 })), pinHeader: hostileOr(fc.constant('X-Version')) },
      { requiredKeys: [] },
    ),
    failover: fc.record({ service: hostileOr(fc.constant('orders-dr')) }, { requiredKeys: [] }),
    routes: hostileOr(fc.constantFrom([{ pathPrefix: '/orders' }], [{ pathPrefix: '/a/b', stripPrefix: true }])),
    protocol: hostileOr(fc.constantFrom('http', 'h2c', 'grpc')),
    tcpPort: hostileOr(fc.integer({ min: 0, max: 70000 })),
  },
  { requiredKeys: [] },
);

export const policyKvValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: policyDocument.map((doc) => JSON.stringify(doc)) },
  { weight: 1, arbitrary: untrustedText },
  { weight: 1, arbitrary: fc.constantFrom('{', '- a\n- b', 'a: &x [*x]', 'balance: leastconn\ntimeouts: {server: 3s}') },
);

export const policyKv = (names: readonly string[]): fc.Arbitrary<KvEntry[]> =>
  fc.array(fc.record({ key: fc.constantFrom('ipx/defaults', ...names.map((n) => `ipx/services/${n}`)), value: policyKvValue }), { maxLength: 3 });

export const policyInstance: fc.Arbitrary<InstanceEntry> = fc.record({
  id: fc.constantFrom('i1', 'i2', 'i3'),
  node: fc.constant('node-a'),
  address: fc.constantFrom('10.0.0.1', '10.0.0.2'),
  port: fc.constantFrom(8080, 8081),
  tags: fc.constant([]),
  meta: policyMeta,
  status: fc.constantFrom('passing' as const, 'critical' as const),
  weight: fc.constant(1),
});

/** Services named web and api whose instances carry policy meta. */
export const policyServices: fc.Arbitrary<ServiceEntry[]> = fc.tuple(fc.array(policyInstance, { maxLength: 3 }), fc.array(policyInstance, { maxLength: 2 })).map(([web, api]) => [
  { name: 'web', instances: web },
  { name: 'api', instances: api },
]);

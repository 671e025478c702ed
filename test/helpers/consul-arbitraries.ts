/**
 * fast-check arbitraries for untrusted Consul data: every field of a snapshot
 * that a registration controls, with the values HAProxy's syntax is most
 * likely to misread (HAPROXY-2.6.md "Config safety") mixed into plain ones.
 */
import fc from 'fast-check';
import type { ConfigInput } from '../../src/config/schema.ts';
import type { HealthStatus, InstanceEntry, KvEntry, ServiceEntry, Snapshot } from '../../src/consul/snapshot.ts';

/** Pieces that mean something to HAProxy, a shell, Handlebars or a terminal. */
export const HOSTILE_FRAGMENTS = [
  '\n',
  '\r\n',
  '\r',
  '\t',
  '\u0000',
  '\u007f',
  '\u0085',
  '\u2028',
  ' ',
  '#',
  '"',
  "'",
  '\\',
  '%[env(HOME)]',
  '%[req.hdr(host)]',
  '${HOME}',
  '"${VAR}"',
  '{{global}}',
  '-f /etc/passwd',
  ' weight 0',
  ' disabled',
  ' backup',
  '\n    server evil 1.2.3.4:80',
  '\nbackend evil',
  'ü',
  '日本',
  '🙂',
  '.',
  '-',
  '_',
  ':',
  '%',
  '[::1]',
] as const;

const hostile = fc
  .array(fc.oneof(fc.constantFrom(...HOSTILE_FRAGMENTS), fc.string({ maxLength: 6 }), fc.string({ unit: 'binary', maxLength: 3 })), {
    minLength: 1,
    maxLength: 5,
  })
  .map((parts) => parts.join(''));

/** Around every length boundary: 48 (server names), 63 (DNS labels), 64 and 512 (limits.fieldLength). */
const long = fc.oneof(
  fc.constantFrom(47, 48, 49, 63, 64, 65, 511, 512, 513).map((n) => 'a'.repeat(n)),
  fc.tuple(fc.integer({ min: 40, max: 700 }), fc.constantFrom('x', 'é', '#', ' ')).map(([n, c]) => `a${c.repeat(n)}`),
);

/** Any untrusted string: hostile pieces, long ones, empty, plain and non-ASCII text. */
// Long strings are rarer than the rest: an instance has up to eleven of them, and one over limits.fieldLength rejects it.
export const untrustedText = fc.oneof(
  { weight: 8, arbitrary: hostile },
  { weight: 1, arbitrary: long },
  { weight: 2, arbitrary: fc.constant('') },
  { weight: 4, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 10 }) },
);

export const serviceName = fc.oneof(
  { weight: 3, arbitrary: untrustedText },
  { weight: 3, arbitrary: fc.constantFrom('web', 'Web', 'WEB', 'api', 'a-b', '9lives', 'x'.repeat(63), 'x'.repeat(64)) },
  { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9-]{0,10}[A-Za-z0-9]$/) },
);

const idOrNode = (pool: readonly string[]) => fc.oneof({ weight: 2, arbitrary: untrustedText }, { weight: 2, arbitrary: fc.constantFrom(...pool) });

export const address = fc.oneof(
  { weight: 4, arbitrary: fc.ipV4() },
  { weight: 3, arbitrary: fc.ipV6() },
  { weight: 1, arbitrary: fc.ipV4Extended() },
  { weight: 1, arbitrary: fc.tuple(fc.ipV6(), untrustedText).map(([ip, zone]) => `${ip}%${zone}`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('fe80::1%eth0', '0.0.0.0', '::', '::ffff:10.0.0.1', '[::1]', '10.0.0.1:80', ' 10.0.0.1', '10.0.0.1\n', '10.0.0.1 # x', 'localhost'),
  },
  { weight: 1, arbitrary: fc.domain() },
  { weight: 1, arbitrary: untrustedText },
);

export const port = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 65535 }) },
  { weight: 2, arbitrary: fc.constantFrom(0, 65535, 65536, -1, -0, 80.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 2) },
  { weight: 1, arbitrary: fc.double() },
);

export const weight = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 256 }) },
  { weight: 2, arbitrary: fc.constantFrom(0, -1, 257, 65535, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53) },
  { weight: 1, arbitrary: fc.double() },
);

// 'maintenance' is not a HealthStatus: a broken producer could still send it.
export const status = fc.constantFrom<HealthStatus>('passing', 'passing', 'warning', 'critical', 'maintenance' as HealthStatus);

export const instanceEntry: fc.Arbitrary<InstanceEntry> = fc.record({
  id: idOrNode(['web-1', 'web-2', 'dup', 'a b', 'a_b']),
  node: idOrNode(['node-a', 'node-b']),
  address,
  port,
  tags: fc.array(untrustedText, { maxLength: 3 }),
  meta: fc.dictionary(untrustedText, untrustedText, { maxKeys: 3 }),
  status,
  weight,
});

export const serviceEntry: fc.Arbitrary<ServiceEntry> = fc.record({ name: serviceName, instances: fc.array(instanceEntry, { maxLength: 6 }) });

export const kvEntry: fc.Arbitrary<KvEntry> = fc.record({
  key: fc.oneof(fc.constantFrom('ipx/services/web', 'ipx/a'), untrustedText.map((key) => `ipx/${key}`)),
  value: fc.oneof(untrustedText, fc.integer({ min: 0, max: 3000 }).map((n) => 'v'.repeat(n))),
});

export const snapshotArb: fc.Arbitrary<Snapshot> = fc
  .record({
    services: fc.array(serviceEntry, { maxLength: 8 }),
    kv: fc.array(kvEntry, { maxLength: 4 }),
    unwatched: fc.option(fc.array(serviceName, { minLength: 1, maxLength: 2 }), { nil: undefined }),
  })
  .map(({ unwatched, ...rest }) => (unwatched ? { ...rest, unwatched } : rest));

/** Routing and limits small enough that the generated snapshots cross them. */
export const configInput: fc.Arbitrary<ConfigInput> = fc.record({
  routing: fc.record({ passingOnly: fc.boolean(), balance: fc.constantFrom('roundrobin' as const, 'leastconn' as const, 'random' as const) }),
  limits: fc.record({
    services: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.constant(5000)),
    instancesPerService: fc.oneof({ weight: 2, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: fc.constant(1000) }),
    fieldLength: fc.constantFrom(64, 100, 512, 512),
    kvEntries: fc.integer({ min: 1, max: 4 }),
    kvValueBytes: fc.constantFrom(16, 1024, 65_536),
  }),
});

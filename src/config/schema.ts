import { z } from 'zod';
import { accessSchema, gatewayRateLimitSchema, gatewaySchema, identitySchema } from './caller-schema.ts';
import { duration } from './duration.ts';
import { aggregatorSchema, compositesSchema } from './composites.ts';

// Listen addresses are literal IPs so that a bind can never fail on name
// resolution at reload time (see HAPROXY-2.6.md: a failing bind pauses every listener).
// No leading zeros: HAProxy would read 010 as octal.
const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);
const IPV6_BRACKETED = /^\[[0-9a-fA-F:.]+\]$/;

function isIpPort(value: string): boolean {
  const at = value.lastIndexOf(':');
  if (at <= 0) return false;
  const host = value.slice(0, at);
  const port = Number(value.slice(at + 1));
  return (IPV4.test(host) || IPV6_BRACKETED.test(host)) && Number.isInteger(port) && port > 0 && port < 65536;
}

const listenAddress = (description: string, fallback: string) =>
  z
    .string()
    .refine(isIpPort, 'must be <ip>:<port>, e.g. 127.0.0.1:8080 or [::1]:8080 (literal IPs only, so a bind never fails on lookup)')
    .default(fallback)
    .describe(description);

const DNS_NAME = /^(?=.{1,200}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

export const consulSchema = z
  .strictObject({
    address: z
      .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL, e.g. http://127.0.0.1:8500' })
      .default('http://127.0.0.1:8500')
      .describe('Consul HTTP API address (env CONSUL_HTTP_ADDR)'),
    token: z.string().default('').describe('Consul ACL token (env CONSUL_HTTP_TOKEN); never logged; prefer tokenFile'),
    tokenFile: z.string().default('').describe('File holding the ACL token (env CONSUL_HTTP_TOKEN_FILE); read at start'),
    tls: z
      .strictObject({
        caFile: z.string().default('').describe('CA bundle that verifies Consul\'s certificate (env CONSUL_CACERT); empty: the system CAs'),
        certFile: z.string().default('').describe('Client certificate for mutual TLS (env CONSUL_CLIENT_CERT)'),
        keyFile: z.string().default('').describe('Client key for mutual TLS (env CONSUL_CLIENT_KEY)'),
        serverName: z.string().default('').describe('Name to verify in Consul\'s certificate when it differs from the address host (env CONSUL_TLS_SERVER_NAME)'),
        insecureSkipVerify: z.boolean().default(false).describe('Do not verify Consul\'s certificate (env CONSUL_HTTP_SSL_VERIFY=false); for tests only'),
      })
      .refine((tls) => Boolean(tls.certFile) === Boolean(tls.keyFile), { message: 'certFile and keyFile go together: set both or neither' })
      .prefault({})
      .describe('TLS to Consul (https:// addresses)'),
    datacenter: z.string().regex(/^[A-Za-z0-9_-]*$/, 'letters, digits, _ and - only').default('').describe('Consul datacenter; empty means the agent\'s own'),
    kvPrefix: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*\/$/, 'a KV path ending in /, e.g. ipx/')
      .default('ipx/')
      .describe('KV prefix watched for runtime policy'),
    wait: duration('Blocking query wait time (Consul caps it at 10m)', '55s'),
    stale: z.boolean().default(true).describe('Allow stale reads from any Consul server (less load on the leader)'),
    // The agent allows limits.http_max_conns_per_client (200) connections per client IP, shared by
    // every process on the host: 18 (four long-held queries, node views for up to 12 nodes, two reads)
    // leaves the rest to the application and other tools, ten gateways on one host included, and on 2
    // cores refetch throughput stops growing well before 13 parallel reads (README, Consul at scale).
    maxConnections: z
      .number()
      .int()
      .min(5, 'must be at least 5: four long-held blocking queries plus one connection for reads')
      .max(1_000)
      .default(18)
      .describe('Most TCP connections ipx opens to the Consul agent, whatever the number of services (the agent allows 200 per client IP by default); catalogs on up to maxConnections - 6 nodes (- 7 with access.consulIntentions) get a blocking query per node'),
  })
  .refine((consul) => !(consul.token && consul.tokenFile), { message: 'set token or tokenFile, not both', path: ['tokenFile'] })
  .describe('Where and how to read Consul');

export const haproxySchema = z
  .strictObject({
    binary: z.string().min(1).default('haproxy').describe('HAProxy binary: a path or a name on PATH'),
    runDir: z.string().min(1).default('./.ipx/run').describe('Rendered configuration, sockets, pid file and last-known-good copy'),
    manage: z.boolean().default(true).describe('Start and stop HAProxy (master-worker) from ipx; false: reload an HAProxy started elsewhere through masterSocket'),
    masterSocket: z.string().default('').describe('Master CLI socket; empty means <runDir>/master.sock'),
    socketGroup: z
      .string()
      .regex(/^([a-z_][a-z0-9_-]{0,31})?$/, 'a Unix group name, e.g. haproxy-admins')
      .default('')
      .describe('Unix group given read-write access to the master and admin sockets (mode 0660); empty: owner only (0600)'),
    maxconn: z.number().int().min(100).max(9000).default(4000).describe('Global maxconn; must fit the open-file limit (about ulimit -n / 2)'),
    threads: z
      .number()
      .int()
      .min(0)
      .max(64)
      .default(0)
      .describe('HAProxy worker threads (nbthread); 0: HAProxy\'s default, one per CPU. 1 costs less CPU per request on a small host shared with other work'),
    hardStopAfter: duration('How long an old worker may keep serving its connections after a reload', '30s'),
    reloadTimeout: duration('How long to wait for a reload to be confirmed by the master', '10s'),
    reloadFloor: duration('Least time between two reloads: a reload due sooner waits (runtime API changes never wait)', '1s'),
    drainTimeout: duration('How long a removed instance may finish its requests in flight before they are cut and its server deleted', '30s'),
  })
  .describe('The HAProxy ipx drives');

export const listenSchema = z
  .strictObject({
    http: listenAddress('The frontend services call', '127.0.0.1:8080'),
    stats: listenAddress('HAProxy stats page and Prometheus metrics (/metrics)', '127.0.0.1:8404'),
    admin: listenAddress("ipx's own /healthz, /readyz and /metrics (watch and dev only)", '127.0.0.1:8405'),
    accessLog: listenAddress('UDP address where ipx receives HAProxy\'s access log lines (log.access: stdout)', '127.0.0.1:8406'),
  })
  .describe('Addresses HAProxy listens on');

export const routingSchema = z
  .strictObject({
    domain: z
      .string()
      .transform((value) => value.toLowerCase())
      .pipe(z.string().regex(DNS_NAME, 'must be a DNS name such as service.internal'))
      .default('service.internal')
      .describe('Host: <service>.<domain> routes to Consul service <service>'),
    passingOnly: z.boolean().default(true).describe('Route only to instances whose checks all pass; false also routes to "warning" ones'),
    balance: z.enum(['roundrobin', 'leastconn', 'random']).default('roundrobin').describe('Load-balancing algorithm for every service'),
    tcpPorts: z
      .strictObject({
        from: z.number().int().min(1).max(65535).default(9100),
        to: z.number().int().min(1).max(65535).default(9199),
      })
      .refine((range) => range.to >= range.from, { message: 'to must be at least from' })
      .prefault({})
      .describe('Ports TCP services (protocol: tcp) may take with tcpPort, on the IP of listen.http'),
  })
  .describe('How requests find services');

export const watchSchema = z
  .strictObject({
    waitMin: duration('Quiet time that ends a burst of changes; the first change after a quiet period applies at once', '250ms'),
    waitMax: duration('Longest a change waits while changes keep coming', '2s'),
  })
  .refine((value) => value.waitMax >= value.waitMin, { message: 'waitMax must be at least waitMin' })
  .describe('Debounce between Consul changes and HAProxy');

export const guardSchema = z
  .strictObject({
    maxDropShare: z.number().min(0).max(1).default(0.5).describe('Hold back a change that removes more than this share of all routable instances at once (a service counts its losses net of its new instances)'),
    minDrop: z.number().int().min(1).default(3).describe('...and at least this many instances; a small service can always scale to zero'),
    holdFor: duration('Apply a held change anyway once it has persisted this long (or confirm it: ipx confirm)', '5m'),
  })
  .describe('Mass-deregistration guard');

// What one registration, or a flood of them, can make ipx do: each limit keeps
// the loop's cost bounded, and what lies beyond it is rejected with the key to raise.
export const limitsSchema = z
  .strictObject({
    services: z
      .number()
      .int()
      .min(1)
      .default(5000)
      .describe('Most services watched and routed: the first ones in name order; each costs a health read when it changes and a backend'),
    instancesPerService: z
      .number()
      .int()
      .min(1)
      .default(1000)
      .describe('Most servers per service: the first valid instances in (node, ID) order'),
    fieldLength: z
      .number()
      .int()
      .min(64)
      .default(512)
      .describe('Longest service name, instance ID, node name, tag, meta key or meta value, in characters; an instance with a longer one is rejected'),
    kvEntries: z.number().int().min(1).default(10_000).describe('Most KV entries read under consul.kvPrefix: the first ones in key order'),
    kvValueBytes: z.number().int().min(1).default(65_536).describe('Largest KV value read, in bytes (UTF-8)'),
  })
  .describe('Bounds on what Consul data can make ipx do');

export const statsSchema = z
  .strictObject({
    user: z
      .string()
      .regex(/^[A-Za-z0-9._-]{0,64}$/, 'letters, digits, ".", "_" and "-" only')
      .default('')
      .describe('Basic-auth user for the stats page and /metrics on listen.stats; empty: no authentication'),
    passwordHash: z
      .string()
      .regex(/^(|\$(5|6)\$(rounds=\d{4,9}\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{43,86})$/, 'a SHA-256 or SHA-512 crypt hash, e.g. from `openssl passwd -6`')
      .default('')
      .describe('crypt(3) hash of the password (openssl passwd -6); the password itself is never stored'),
  })
  .refine((stats) => Boolean(stats.user) === Boolean(stats.passwordHash), { message: 'user and passwordHash go together: set both or neither' })
  .describe('Access to HAProxy\'s stats page and metrics');

export const logSchema = z
  .strictObject({
    level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info').describe('Log level'),
    format: z
      .enum(['auto', 'human', 'json'])
      .default('auto')
      .describe('human: one readable line per event; json: JSON lines; auto: human when stderr is a terminal, else json (env IPX_LOG_FORMAT, flag --log-format)'),
    access: z
      .enum(['stdout', 'off'])
      .default('stdout')
      .describe('One JSON line per request on ipx\'s standard output (HAProxy sends them to listen.accessLog); off: none'),
  })
  .describe('Logging');

export const templatesSchema = z
  .strictObject({
    dir: z
      .string()
      .default('')
      .describe('Folder with haproxy.cfg.hbs and/or partials/*.hbs replacing the built-in templates of the same name (relative to the working directory); empty: built-ins only'),
  })
  .describe('Your own templates');

// Policy documents are checked key by key by the model (src/model/policy/), like
// the KV and meta layers, so that one bad key is rejected alone and reported.
export const policiesSchema = z
  .strictObject({
    defaults: z.record(z.string(), z.unknown()).default({}).describe('Policy document for every service (layer 2 of POLICIES.md)'),
    services: z
      .record(z.string(), z.record(z.string(), z.unknown()))
      .default({})
      .describe('Policy document per service name (layer 5 of POLICIES.md); KV <kvPrefix>services/<name> overrides it'),
  })
  .describe('Gateway policies from the config file; KV and instance meta add to them');

export const staticSchema = z
  .record(
    z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/, 'a static upstream name is a DNS label, as a service name'),
    z.strictObject({
      instances: z
        .array(z.string().refine(isIpPort, 'must be <ip>:<port>, e.g. 10.0.5.1:8080 or [2001:db8::1]:8080 (literal IPs only)'))
        .min(1, 'list at least one instance')
        .describe('Instances as <ip>:<port>'),
      policy: z.record(z.string(), z.unknown()).default({}).describe('Its policy document (as policies.services.<name>)'),
    }),
  )
  .default({})
  .describe('Upstreams outside Consul, routed like services: Host <name>.<domain>, with the same policy document');

export const configSchema = z.strictObject({
  consul: consulSchema.prefault({}),
  haproxy: haproxySchema.prefault({}),
  listen: listenSchema.prefault({}),
  routing: routingSchema.prefault({}),
  watch: watchSchema.prefault({}),
  guard: guardSchema.prefault({}),
  limits: limitsSchema.prefault({}),
  stats: statsSchema.prefault({}),
  templates: templatesSchema.prefault({}),
  log: logSchema.prefault({}),
  composites: compositesSchema,
  aggregator: aggregatorSchema,
  policies: policiesSchema.prefault({}),
  static: staticSchema,
  identity: identitySchema,
  access: accessSchema,
  rateLimit: gatewayRateLimitSchema,
  gateway: gatewaySchema,
});

/** What a user writes (every key optional). */
export type ConfigInput = z.input<typeof configSchema>;
/** What the rest of ipx reads: every key resolved, durations in milliseconds. */
export type Config = z.output<typeof configSchema>;

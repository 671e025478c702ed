/**
 * The peer ipx is compared with: HAProxy's own Consul discovery. A second
 * master-worker HAProxy whose backends are `server-template`s on Consul's SRV
 * records, re-resolved by HAProxy's resolvers. Its configuration is static:
 * every service it will ever route, including those the benchmark adds later,
 * is declared up front (DNS discovery can fill servers, not create backends).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startHaproxy, type HaproxyProcess } from '../../src/haproxy/index.ts';

/** What a careful operator would pick for fast, stable discovery from a local Consul agent. */
export const RESOLVER_SETTINGS = [
  // EDNS0 size: without it Consul answers at most 3 SRV records per query.
  'accepted_payload_size 8192',
  'resolve_retries 3',
  'timeout resolve 1s',
  'timeout retry 1s',
  // Also how long a valid answer is reused before the next query (default 10s).
  'hold valid 1s',
  // Drop a server as soon as its SRV record is missing from an answer.
  'hold obsolete 0s',
  // A whole service gone (NXDOMAIN): drop its servers after 1s, not the default 30s.
  'hold nx 1s',
  // Consul DNS unreachable or failing: keep the servers we have (the default).
  'hold other 30s',
  'hold refused 30s',
  'hold timeout 30s',
] as const;

// allow-dup-ip: every instance here listens on 127.0.0.1 (own port); without it HAProxy
// refuses a second server with the same address and one slot of each backend stays unused.
export const SERVER_OPTIONS = 'resolvers consul resolve-prefer ipv4 init-addr none resolve-opts allow-dup-ip';

export interface DnsPeerOptions {
  readonly runDir: string;
  readonly port: number;
  readonly consulDnsPort: number;
  /** Every service the peer may route (Host `<name>.<domain>`). */
  readonly services: readonly string[];
  readonly domain: string;
  /** Server slots per service: the most instances a service may have at once. */
  readonly slots: number;
}

export interface DnsPeer {
  readonly port: number;
  readonly process: HaproxyProcess;
  /** The settings, for the report. */
  readonly settings: { readonly resolvers: readonly string[]; readonly server: string; readonly slots: number };
  stop(): Promise<void>;
}

export function renderPeerConfig(options: DnsPeerOptions): { cfg: string; map: string } {
  const backends = options.services.flatMap((name) => [
    `backend be_${name}`,
    '    balance roundrobin',
    `    server-template s 1-${options.slots} _${name}._tcp.service.consul ${SERVER_OPTIONS}`,
    '',
  ]);
  const cfg = [
    'global',
    '    default-path config',
    '    maxconn 4000',
    '    hard-stop-after 30s',
    `    stats socket ${path.join(options.runDir, 'admin.sock')} mode 600 level admin`,
    '',
    'resolvers consul',
    `    nameserver consul 127.0.0.1:${options.consulDnsPort}`,
    ...RESOLVER_SETTINGS.map((line) => `    ${line}`),
    '',
    // The same defaults ipx renders, so the two differ only in how servers are found.
    'defaults',
    '    mode http',
    '    option idle-close-on-response',
    '    option http-keep-alive',
    '    timeout connect 5s',
    '    timeout client 30s',
    '    timeout server 30s',
    '    timeout http-request 10s',
    '    timeout http-keep-alive 10s',
    '    timeout queue 5s',
    '    retries 2',
    '    option redispatch 1',
    '',
    'frontend http',
    `    bind 127.0.0.1:${options.port}`,
    '    http-request return status 404 unless { req.hdr(host),field(1,:),lower,map(hosts.map) -m found }',
    '    use_backend %[req.hdr(host),field(1,:),lower,map(hosts.map)]',
    '',
    ...backends,
  ].join('\n');
  const map = options.services.map((name) => `${name}.${options.domain} be_${name}\n`).join('');
  return { cfg, map };
}

export async function startDnsPeer(options: DnsPeerOptions): Promise<DnsPeer> {
  const { cfg, map } = renderPeerConfig(options);
  const configFile = path.join(options.runDir, 'haproxy.cfg');
  await writeFile(configFile, cfg);
  await writeFile(path.join(options.runDir, 'hosts.map'), map);
  const process = await startHaproxy({
    binary: 'haproxy',
    runDir: options.runDir,
    configFile,
    masterSocket: path.join(options.runDir, 'master.sock'),
    pidFile: path.join(options.runDir, 'haproxy.pid'),
    logFile: path.join(options.runDir, 'haproxy.log'),
  });
  return {
    port: options.port,
    process,
    settings: { resolvers: RESOLVER_SETTINGS, server: SERVER_OPTIONS, slots: options.slots },
    stop: () => process.stop({ softTimeoutMs: 2000 }),
  };
}

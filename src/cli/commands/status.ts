import type { Command } from 'commander';
import { IpxError } from '../../errors.ts';
import type { Following } from '../../consul/node-views.ts';
import type { BackendStatus } from '../../daemon/status-document.ts';
import { adminRequest } from '../admin-request.ts';
import { loadFromFlags, withConfigOptions, type ConfigFlags } from '../load-options.ts';
import { formatTable } from '../table.ts';
import type { CliIo } from '../io.ts';

interface StatusFlags extends ConfigFlags {
  json?: boolean;
  service?: string;
}

/** The parts of GET /status this command prints; the rest is in --json. */
export interface DaemonStatus {
  readiness: { ready: boolean; reasons: string[]; warnings: string[] };
  consul: { address: string; services: number; views: number; viewsRead: number; lastIndex?: string; stale: boolean; staleSince?: number; lastSuccessAt?: number; connections?: number; registrations?: Following };
  applied?: { hash: string; action: string; at: string; services: number; rejections: unknown[] };
  lastFailure?: { message: string; at: string };
  guard: { held: boolean; dropped?: number; total?: number; releaseAt?: string };
  haproxy: {
    running: boolean;
    pid?: number;
    workers: number[];
    oldWorkers: number[];
    reloads?: number;
    failedReloads?: number;
    draining: string[];
    lastApply?: { at: string; ok: boolean; action?: string; durationMs: number; error?: string };
  };
  backends: BackendStatus[];
}

/** `ipx status`: what the running `ipx watch` at listen.admin reports. Exit 0 when ready, 1 when not. */
export function statusCommand(program: Command, io: CliIo): void {
  withConfigOptions(program.command('status'))
    .description('Show the state of the running ipx watch (asks listen.admin): Consul, last apply, HAProxy, backends; exit 0 when ready, 1 when not')
    .option('--json', 'print the whole /status document')
    .option('--service <name>', 'show only this service\'s backend')
    .action(async (flags: StatusFlags) => {
      const { config } = await loadFromFlags(flags, io);
      const query = flags.service ? `?service=${encodeURIComponent(flags.service)}` : '';
      const status = (await (await adminRequest('status', config.listen.admin, `/status${query}`)).json()) as DaemonStatus;
      io.stdout.write(flags.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status, config.listen.admin, Date.now(), flags.service === undefined));
      if (flags.service && status.backends.length === 0) {
        throw new IpxError('E_NOT_FOUND', `status: no service ${JSON.stringify(flags.service)} in the applied configuration; \`ipx explain ${flags.service}\` says why`);
      }
      if (!status.readiness.ready) throw new IpxError('E_NOT_READY', 'status: not ready (reasons above)');
    });
}

/** Pure: the summary lines, then one table row per server. */
export function formatStatus(s: DaemonStatus, admin: string, now: number, summary = true): string {
  const ago = (ms: number) => `${Math.max(0, Math.round((now - ms) / 1000))} s ago`;
  const list = (pids: number[]) => (pids.length > 0 ? pids.join(', ') : 'none');
  const c = s.consul;
  const last = s.haproxy.lastApply;
  const lines = [
    `ipx at ${admin}: ${s.readiness.ready ? 'ready' : 'NOT READY'}`,
    ...s.readiness.reasons.map((r) => `  not ready: ${r}`),
    ...s.readiness.warnings.map((w) => `  warning: ${w}`),
  ];
  if (summary) {
    lines.push(
      `consul:  ${c.address}, ${c.services} services, ${c.viewsRead} of ${c.views} views read, index ${c.lastIndex ?? 'none'}, ` +
        `${c.stale ? `STALE since ${new Date(c.staleSince ?? 0).toISOString()}` : 'fresh'}${c.lastSuccessAt ? ` (last answer ${ago(c.lastSuccessAt)})` : ''}, ` +
        `${c.connections ?? '?'} connections`,
      ...(c.registrations ? [`         registrations: ${formatFollowing(c.registrations)}`] : []),
      last
        ? `applied: ${last.ok ? `${last.action} ok` : `FAILED: ${last.error}`} at ${last.at} in ${last.durationMs} ms` +
            (s.applied ? `; serving ${s.applied.hash.slice(0, 12)}: ${s.applied.services} services, ${s.applied.rejections.length} items skipped` : '')
        : 'applied: nothing yet',
      ...(s.lastFailure ? [`failed:  ${s.lastFailure.at}: ${s.lastFailure.message}`] : []),
      `guard:   ${s.guard.held ? `holding back a change that removes ${s.guard.dropped} of ${s.guard.total} instances until ${s.guard.releaseAt} (ipx confirm applies it)` : 'nothing held'}`,
      s.haproxy.running
        ? `haproxy: master ${s.haproxy.pid}, workers ${list(s.haproxy.workers)}, old workers ${list(s.haproxy.oldWorkers)}, ${s.haproxy.reloads ?? 0} reloads (${s.haproxy.failedReloads ?? 0} failed), draining ${s.haproxy.draining.length > 0 ? s.haproxy.draining.join(', ') : 'none'}`
        : 'haproxy: NOT RUNNING',
    );
  }
  const rows = s.backends.flatMap((b) =>
    b.servers.length === 0
      ? [[b.service, b.backend, '(none)', '', '', 'no server: 503', '']]
      : b.servers.map((server) => [
          b.service,
          b.backend,
          server.name,
          `${server.address.includes(':') ? `[${server.address}]` : server.address}:${server.port}`,
          String(server.weight),
          server.state,
          server.live ? `${server.live.state}${server.live.weight !== server.weight ? ` (weight ${server.live.weight})` : ''}` : '?',
        ]),
  );
  if (rows.length > 0) lines.push('', ...formatTable(['SERVICE', 'BACKEND', 'SERVER', 'ADDRESS', 'WEIGHT', 'STATE', 'HAPROXY'], rows));
  return `${lines.join('\n')}\n`;
}

/** Pure: how the watcher follows registrations, for the status summary. */
export function formatFollowing(f: Following): string {
  return f.by === 'node views'
    ? `a view per node (${f.nodes} node${f.nodes === 1 ? '' : 's'}${f.http2 ? ', as HTTP/2 streams' : ''})`
    : `a scan of all ${f.nodes} nodes after each, slower at thousands of services; consul.maxConnections ${f.maxConnectionsForViews} would give each node a view`;
}

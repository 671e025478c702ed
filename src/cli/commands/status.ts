import type { Command } from 'commander';
import { IpxError } from '../../errors.ts';
import { adminRequest } from '../admin-request.ts';
import { loadFromFlags, withConfigOptions, type ConfigFlags } from '../load-options.ts';
import type { CliIo } from '../io.ts';

interface StatusFlags extends ConfigFlags {
  json?: boolean;
}

/** The parts of GET /status this command prints; the rest is in --json. */
interface DaemonStatus {
  readiness: { ready: boolean; reasons: string[]; warnings: string[] };
  consul: { services: number; stale: boolean; lastSuccessAt?: number };
  applied?: { hash: string; action: string; at: string; services: number; rejections: unknown[] };
  lastFailure?: { message: string; at: string };
  guard: { held: boolean; dropped?: number; total?: number; releaseAt?: string };
  haproxy: { running: boolean; pid?: number; workers: number[]; oldWorkers: number[]; reloads?: number; failedReloads?: number; draining: string[] };
}

/** `ipx status`: what the running `ipx watch` at listen.admin reports. Exit 0 when ready, 1 when not. */
export function statusCommand(program: Command, io: CliIo): void {
  withConfigOptions(program.command('status'))
    .description('Show the state of the running ipx watch (asks listen.admin); exit 0 when ready, 1 when not')
    .option('--json', 'print the whole /status document')
    .action(async (flags: StatusFlags) => {
      const { config } = await loadFromFlags(flags, io);
      const status = (await (await adminRequest('status', config.listen.admin, '/status')).json()) as DaemonStatus;
      io.stdout.write(flags.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status, config.listen.admin));
      if (!status.readiness.ready) throw new IpxError('E_NOT_READY', 'status: not ready (reasons above)');
    });
}

export function formatStatus(s: DaemonStatus, admin: string): string {
  const ago = (ms: number) => `${Math.max(0, Math.round((Date.now() - ms) / 1000))} s ago`;
  const list = (pids: number[]) => (pids.length > 0 ? pids.join(', ') : 'none');
  const lines = [
    `ipx at ${admin}: ${s.readiness.ready ? 'ready' : 'NOT READY'}`,
    ...s.readiness.reasons.map((r) => `  not ready: ${r}`),
    ...s.readiness.warnings.map((w) => `  warning: ${w}`),
    `consul:  ${s.consul.services} services watched, ${s.consul.stale ? 'STALE' : 'fresh'}${s.consul.lastSuccessAt ? `, last answer ${ago(s.consul.lastSuccessAt)}` : ''}`,
    s.applied
      ? `applied: ${s.applied.hash.slice(0, 12)} (${s.applied.action}) at ${s.applied.at}: ${s.applied.services} services, ${s.applied.rejections.length} items skipped`
      : 'applied: nothing yet',
    ...(s.lastFailure ? [`failed:  ${s.lastFailure.at}: ${s.lastFailure.message}`] : []),
    `guard:   ${s.guard.held ? `holding back a change that removes ${s.guard.dropped} of ${s.guard.total} instances until ${s.guard.releaseAt} (ipx confirm applies it)` : 'nothing held'}`,
    s.haproxy.running
      ? `haproxy: master ${s.haproxy.pid}, workers ${list(s.haproxy.workers)}, old workers ${list(s.haproxy.oldWorkers)}, ${s.haproxy.reloads ?? 0} reloads (${s.haproxy.failedReloads ?? 0} failed), draining ${s.haproxy.draining.length > 0 ? s.haproxy.draining.join(', ') : 'none'}`
      : 'haproxy: NOT RUNNING',
  ];
  return `${lines.join('\n')}\n`;
}

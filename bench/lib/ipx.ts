/**
 * ipx under test, in-process as `ipx watch` runs it: the daemon (Consul
 * watcher, runner, admin server) over a managed master-worker HAProxy whose
 * runDir is a temporary folder. Apply results are counted as the manager
 * reports them; reloads are counted separately, from the master.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { parseConfig, type Config, type ConfigInput } from '../../src/config/index.ts';
import { startDaemon, type Daemon } from '../../src/daemon/daemon.ts';
import { findFreePorts } from '../../src/consul/free-ports.ts';
import { createHaproxyManager, type HaproxyManager } from '../../src/haproxy/index.ts';
import { haproxyPids, killPids } from '../../test/helpers/haproxy.ts';
import { distribution, type Distribution } from './report.ts';

export interface IpxOptions {
  readonly consulAddress: string;
  readonly runDir: string;
  readonly waitMin: string;
  readonly waitMax: string;
  /** ipx's JSON log goes here. */
  readonly logFile: string;
  /** Identity, access and gateway rate-limit config (the caller benches). */
  readonly caller?: Pick<ConfigInput, 'identity' | 'access' | 'rateLimit'>;
  /** haproxy.threads; absent: ipx's default. */
  readonly threads?: number;
}

export interface ApplyRecord {
  readonly action: string;
  readonly durationMs: number;
  /** Runtime API operations by kind, for a runtime apply. */
  readonly runtimeOps?: Readonly<Record<string, number>>;
  /** Why a change needed a reload, for a reload. */
  readonly reasons?: readonly string[];
}

export interface IpxUnderTest {
  readonly config: Config;
  readonly httpPort: number;
  readonly daemon: Daemon;
  readonly manager: HaproxyManager;
  /** Every apply as the manager reported it (start, reload, runtime, noop…). */
  readonly applies: readonly ApplyRecord[];
  stop(): Promise<void>;
}

export async function startIpx(options: IpxOptions): Promise<IpxUnderTest> {
  const [http, stats, admin, accessLog] = (await findFreePorts(4)) as [number, number, number, number];
  const config = parseConfig({
    consul: { address: options.consulAddress },
    haproxy: { runDir: options.runDir, ...(options.threads === undefined ? {} : { threads: options.threads }) },
    listen: { http: `127.0.0.1:${http}`, stats: `127.0.0.1:${stats}`, admin: `127.0.0.1:${admin}`, accessLog: `127.0.0.1:${accessLog}` },
    watch: { waitMin: options.waitMin, waitMax: options.waitMax },
    ...options.caller,
  });
  const logger = pino({ level: 'info' }, pino.destination({ dest: options.logFile, sync: false }));
  const manager = createHaproxyManager({ config: config.haproxy, listen: config.listen, logger });
  const applies: ApplyRecord[] = [];
  const daemon = await startDaemon({
    config,
    logger,
    // HAProxy sends its access lines as in production; ipx receives them and this sink drops them (not the bench's stdout).
    accessLogOut: new Writable({ write: (_chunk, _encoding, done) => done() }),
    applier: {
      apply: async (input) => {
        const result = await manager.apply(input);
        const { action, durationMs, runtimeOps, reasons } = result;
        applies.push({ action, durationMs, ...(runtimeOps ? { runtimeOps: runtimeOps as Record<string, number> } : {}), ...(reasons ? { reasons } : {}) });
        return result;
      },
      stop: () => manager.stop(),
      status: () => manager.status(),
      lastGood: () => manager.lastGood(),
    },
  });
  return {
    config,
    httpPort: http,
    daemon,
    manager,
    applies,
    stop: async () => {
      const pids = haproxyPids(manager.status());
      await daemon.stop();
      // Whatever outlived a clean stop (a worker of a killed master) goes by pid.
      killPids(pids);
      logger.flush();
    },
  };
}

export interface AppliesSummary {
  /** Apply durations (ms) by action, as ipx's HAProxy manager reported them. */
  readonly byAction: Record<string, Distribution>;
  /** Runtime API operations by kind, over every runtime apply. */
  readonly runtimeOps: Record<string, number>;
  /** Why changes needed a reload, and how often. */
  readonly reloadReasons: Record<string, number>;
}

export function summarizeApplies(applies: readonly ApplyRecord[]): AppliesSummary {
  const actions = [...new Set(applies.map((a) => a.action))].sort();
  const runtimeOps: Record<string, number> = {};
  const reloadReasons: Record<string, number> = {};
  for (const apply of applies) {
    for (const [op, n] of Object.entries(apply.runtimeOps ?? {})) runtimeOps[op] = (runtimeOps[op] ?? 0) + n;
    for (const reason of apply.reasons ?? []) reloadReasons[reason] = (reloadReasons[reason] ?? 0) + 1;
  }
  return {
    byAction: Object.fromEntries(actions.map((action) => [action, distribution(applies.filter((a) => a.action === action).map((a) => a.durationMs))])),
    runtimeOps,
    reloadReasons,
  };
}

/** ipx's HAProxy settings other than paths (durations in ms), for the report. */
export function describeHaproxySettings(ipx: IpxUnderTest): string {
  return Object.entries(ipx.config.haproxy)
    .filter(([key]) => !['binary', 'runDir', 'masterSocket'].includes(key))
    .map(([key, value]) => `${key} ${String(value)}`)
    .join(', ');
}

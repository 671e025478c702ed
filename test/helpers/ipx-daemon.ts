import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { parseConfig, type Config, type ConfigInput } from '../../src/config/index.ts';
import { startDaemon, type Daemon } from '../../src/daemon/daemon.ts';
import { createHaproxyManager, type HaproxyManager } from '../../src/haproxy/index.ts';
import { haproxyPids, killPids } from './haproxy.ts';
import { findFreePorts } from './ports.ts';

export interface TestDaemon {
  readonly daemon: Daemon;
  readonly haproxy: HaproxyManager;
  readonly config: Config;
  /** http://<listen.http> */
  readonly http: string;
  /** http://<listen.admin> */
  readonly admin: string;
  /** Access-log lines ipx wrote so far (log.access: stdout, collected instead of printed). */
  readonly accessLines: string[];
  /** Stops the daemon (and its HAProxy); kills what is left of it by PID. */
  stop(): Promise<void>;
}

/** A fresh run folder under the OS temp folder (chattr +i works there too: tmpfs takes it since Linux 6.0). */
export async function makeRunDir(name: string): Promise<string> {
  return mkdtemp(path.join(tmpdir(), `ipx-${name}-`));
}

export async function removeRunDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** How long startTestDaemon waits for the first apply to HAProxy before leaving the rest to the test. */
const FIRST_APPLY_MS = 20_000;

/**
 * ipx watch in-process against `consulAddress`, HAProxy managed, on free loopback ports.
 * Resolves once the first apply to HAProxy succeeded (or none came within 20 s: Consul
 * down and nothing to apply yet). A first apply that fails stops the daemon and throws
 * its reason at once, so a start that cannot bind a port fails the test with HAProxy's
 * message instead of connection refusals until a later timeout. Ports found free can be
 * taken by another process before HAProxy binds them: without `ports` given, fresh ones
 * get one more try.
 */
export async function startTestDaemon(consulAddress: string, runDir: string, extra: ConfigInput = {}, ports?: number[]): Promise<TestDaemon> {
  for (let attempt = 1; ; attempt++) {
    const started = await startOnce(consulAddress, runDir, extra, ports);
    const failure = await firstApplyFailure(started);
    if (failure === undefined) return started;
    await started.stop();
    if (ports !== undefined || attempt === 2 || !PORT_TAKEN.test(failure)) {
      throw new Error(`ipx (http ${started.config.listen.http}, stats ${started.config.listen.stats}) failed its first apply to HAProxy: ${failure}`);
    }
  }
}

/** checkBindable's message, or HAProxy's own when the port went between that check and its bind. */
const PORT_TAKEN = /in use|cannot bind/i;

/** The first apply's error; undefined once it succeeded or FIRST_APPLY_MS passed without one. */
async function firstApplyFailure({ daemon, haproxy }: TestDaemon): Promise<string | undefined> {
  const deadline = Date.now() + FIRST_APPLY_MS;
  while (Date.now() < deadline) {
    const last = haproxy.status().lastApply;
    if (last) return last.ok ? undefined : (last.error ?? 'no reason given');
    // An adopted HAProxy already serving this config is a noop, which leaves no lastApply.
    if (daemon.readiness().ready) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return undefined;
}

async function startOnce(consulAddress: string, runDir: string, extra: ConfigInput, ports: number[] | undefined): Promise<TestDaemon> {
  const [http, stats, admin] = (ports ?? (await findFreePorts(3))) as [number, number, number];
  const [accessLog] = (await findFreePorts(1)) as [number];
  const config = parseConfig({
    ...extra,
    consul: { address: consulAddress, wait: '5s', ...extra.consul },
    haproxy: { runDir, hardStopAfter: '3s', reloadFloor: '0s', ...extra.haproxy },
    listen: { http: `127.0.0.1:${http}`, stats: `127.0.0.1:${stats}`, admin: `127.0.0.1:${admin}`, accessLog: `127.0.0.1:${accessLog}` },
    watch: { waitMin: '50ms', waitMax: '300ms', ...extra.watch },
  });
  const logger = pino({ level: process.env.IPX_TEST_LOG ? 'debug' : 'silent' }, pino.destination(process.env.IPX_TEST_LOG ?? '/dev/null'));
  const haproxy = createHaproxyManager({ config: config.haproxy, listen: config.listen, logger });
  const accessLines: string[] = [];
  const accessLogOut = new Writable({
    write(chunk: Buffer, _encoding, done) {
      accessLines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      done();
    },
  });
  const daemon = await startDaemon({ config, logger, applier: haproxy, watchdogIntervalMs: 200, accessLogOut });
  return {
    daemon,
    haproxy,
    config,
    http: `http://${config.listen.http}`,
    admin: `http://${config.listen.admin}`,
    accessLines,
    stop: async () => {
      const pids = haproxyPids(haproxy.status());
      await daemon.stop();
      killPids(pids);
    },
  };
}

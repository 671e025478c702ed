import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { parseConfig, type Config, type ConfigInput } from '../../src/config/index.ts';
import { startDaemon, type Daemon } from '../../src/daemon/daemon.ts';
import { createHaproxyManager, type HaproxyManager } from '../../src/haproxy/index.ts';
import { haproxyPids, killPids } from './haproxy.ts';
import { findFreePorts } from './ports.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

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

/** A run folder on the checkout's own file system (not tmpfs), so chattr works on it. */
export async function makeRunDir(name: string): Promise<string> {
  const dir = path.join(ROOT, '.ipx', 'test', `${name}-${process.pid}-${Date.now()}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

export async function removeRunDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** ipx watch in-process against `consulAddress`, HAProxy managed, on free loopback ports. */
export async function startTestDaemon(consulAddress: string, runDir: string, extra: ConfigInput = {}, ports?: number[]): Promise<TestDaemon> {
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

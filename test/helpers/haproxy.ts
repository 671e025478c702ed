/**
 * Hand-written HAProxy configs for the HAProxy stage's tests (the real
 * templates are another stage's), and cleanup of the processes a test started.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { parseConfig, type Config } from '../../src/config/index.ts';
import { createHaproxyManager, type HaproxyManager, type HaproxyStatus, type RenderedConfig } from '../../src/haproxy/index.ts';

export interface TestConfigOptions {
  readonly runDir: string;
  /** The frontend's port on 127.0.0.1. */
  readonly port: number;
  /** Backend servers by name; requests go to `route` (default: the first). */
  readonly backends: ReadonlyArray<{ readonly name: string; readonly port: number }>;
  readonly route?: string;
  readonly hardStopAfterMs?: number;
  /** Extra lines appended to the frontend (an unknown keyword, a bind that fails at reload). */
  readonly frontendLines?: readonly string[];
  /** Makes an otherwise equal config hash differently (a comment). */
  readonly generation?: number;
}

/**
 * A gateway-shaped config: a host map file referenced by relative name
 * (`default-path config`), the admin stats socket, and
 * `option idle-close-on-response` which makes reloads hitless for keep-alive clients.
 */
export function testConfig(options: TestConfigOptions): RenderedConfig {
  const route = options.route ?? options.backends[0]?.name ?? 'none';
  const mapContent = `default.test be_${route}\n`;
  const mapFile = `hosts-${sha256(mapContent).slice(0, 12)}.map`;
  const cfg = [
    `# generation ${options.generation ?? 0}`,
    'global',
    '  maxconn 2000',
    `  hard-stop-after ${options.hardStopAfterMs ?? 5000}ms`,
    `  stats socket ${options.runDir}/admin.sock mode 600 level admin expose-fd listeners`,
    '  default-path config',
    '',
    'defaults',
    '  mode http',
    '  option idle-close-on-response',
    '  timeout connect 2s',
    '  timeout client 30s',
    '  timeout server 30s',
    '  timeout http-keep-alive 10s',
    // As a gateway would: a connection that fails before any byte reached a server is retried.
    '  retries 2',
    '  retry-on conn-failure empty-response',
    '',
    'frontend fe_http',
    `  bind 127.0.0.1:${options.port}`,
    `  use_backend %[req.hdr(host),lower,map(${mapFile},be_${route})]`,
    `  default_backend be_${route}`,
    ...(options.frontendLines ?? []).map((line) => `  ${line}`),
    '',
    ...options.backends.flatMap((backend) => [`backend be_${backend.name}`, `  server ${backend.name} 127.0.0.1:${backend.port}`, '']),
  ].join('\n');
  const files = { 'haproxy.cfg': cfg, [mapFile]: mapContent };
  return { files, hash: sha256(JSON.stringify(Object.entries(files).sort())) };
}

export interface TestManager {
  readonly manager: HaproxyManager;
  readonly runDir: string;
  readonly config: Config['haproxy'];
  /** Stops HAProxy (by pid), kills anything of it left, removes runDir. */
  cleanup(): Promise<void>;
}

export async function createTestManager(overrides: Partial<Config['haproxy']> = {}): Promise<TestManager> {
  const runDir = await mkdtemp(join(tmpdir(), 'ipx-hx-'));
  // No reload floor unless a test asks for one: these tests reload back to back on purpose.
  const config = { ...parseConfig({ haproxy: { runDir, hardStopAfter: '5s', reloadTimeout: '10s', reloadFloor: 0 } }).haproxy, ...overrides };
  const manager = createHaproxyManager({ config, logger: pino({ level: 'silent' }), listen: {} });
  return {
    manager,
    runDir,
    config,
    cleanup: async () => {
      const pids = haproxyPids(manager.status());
      await manager.stop().catch(() => undefined);
      killPids(pids);
      await rm(runDir, { recursive: true, force: true });
    },
  };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The master and worker pids of a status, taken before a stop so that what outlives it can be killed. */
export function haproxyPids(status: Pick<HaproxyStatus, 'pid' | 'workers' | 'oldWorkers'> | undefined): number[] {
  if (!status) return [];
  return [...(status.pid === undefined ? [] : [status.pid]), ...status.workers, ...status.oldWorkers];
}

/** SIGKILLs each pid still alive; one already gone is fine. */
export function killPids(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

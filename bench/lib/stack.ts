/**
 * Everything a benchmark runs against, started on free loopback ports and
 * stopped by pid: a Consul dev agent, the backends worker, ipx with its
 * managed HAProxy and, when asked, the DNS SRV peer.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseConfig } from '../../src/config/index.ts';
import { findFreePorts } from '../../src/consul/free-ports.ts';
import { createConsulClient, registerService, startDevAgent, type ConsulClient, type DevAgent } from '../../src/consul/index.ts';
import { get } from '../../test/helpers/http.ts';
import { startBackends, VIA_HEADER, type Backends } from './backends.ts';
import { startDnsPeer, type DnsPeer } from './dns-peer.ts';
import { startIpx, type IpxOptions, type IpxUnderTest } from './ipx.ts';

export const DOMAIN = 'service.internal';
export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

let interruptedBy: NodeJS.Signals | undefined;

/** Runs a benchmark's main; once Ctrl-C stopped the stack, what fails in the run is an expected consequence. */
export async function runBenchmark(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    if (!interruptedBy) throw err;
  }
}

export interface StackOptions {
  readonly waitMin: string;
  readonly waitMax: string;
  /** Start the DNS SRV peer routing these services (all it will ever route). */
  readonly peer?: { readonly services: readonly string[]; readonly slots: number };
  /** Identity, access and gateway rate-limit config for ipx. */
  readonly caller?: IpxOptions['caller'];
  /** haproxy.threads for ipx's HAProxy; absent: ipx's default. */
  readonly threads?: number;
}

export interface Target {
  readonly via: 'ipx' | 'dns';
  readonly port: number;
}

export interface Stack {
  readonly dir: string;
  readonly consul: DevAgent;
  readonly client: ConsulClient;
  readonly backends: Backends;
  readonly ipx: IpxUnderTest;
  readonly peer: DnsPeer | undefined;
  readonly targets: readonly Target[];
  /** Starts a backend named `id` and registers it as a passing instance of `service`. */
  addInstance(service: string, id: string): Promise<void>;
  /** Resolves once every target answers 200 for `Host: <service>.<domain>`. */
  waitRoutable(services: readonly string[], timeoutMs?: number): Promise<void>;
  /** Stops everything by pid; removes the temporary folder unless `keepDir`. */
  stop(options?: { keepDir?: boolean }): Promise<void>;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ipx-bench-'));
  const stoppers: Array<() => Promise<void>> = [];
  let stopping: Promise<void> | undefined;
  const stop = ({ keepDir = false } = {}) =>
    (stopping ??= (async () => {
      process.removeListener('SIGINT', interrupted).removeListener('SIGTERM', interrupted);
      for (const step of stoppers.splice(0).reverse()) await step().catch((err: unknown) => console.error(`bench: cleanup step failed: ${String(err)}`));
      if (!keepDir) await rm(dir, { recursive: true, force: true });
    })());
  // HAProxy runs detached (its own process group): Ctrl-C must not leave it behind.
  const interrupted = (signal: NodeJS.Signals) => {
    console.error(`bench: ${signal}, stopping what was started`);
    interruptedBy = signal;
    void stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    const consul = await startDevAgent({ cwd: REPO_ROOT, logFile: path.join(dir, 'consul.log') });
    stoppers.push(() => consul.stop());
    const client = createConsulClient(parseConfig({ consul: { address: consul.address } }).consul);
    stoppers.push(async () => client.close());
    const backends = startBackends();
    stoppers.push(() => backends.stop());
    const ipx = await startIpx({ consulAddress: consul.address, runDir: path.join(dir, 'ipx'), waitMin: options.waitMin, waitMax: options.waitMax, logFile: path.join(dir, 'ipx.log'), caller: options.caller, threads: options.threads });
    stoppers.push(() => ipx.stop());
    let peer: DnsPeer | undefined;
    if (options.peer) {
      const [port] = (await findFreePorts(1)) as [number];
      const runDir = path.join(dir, 'dns-peer');
      await mkdir(runDir);
      peer = await startDnsPeer({ runDir, port, consulDnsPort: consul.dnsPort, services: options.peer.services, domain: DOMAIN, slots: options.peer.slots });
      stoppers.push(() => peer!.stop());
    }
    const targets: Target[] = [{ via: 'ipx', port: ipx.httpPort }, ...(peer ? [{ via: 'dns' as const, port: peer.port }] : [])];
    return {
      dir,
      consul,
      client,
      backends,
      ipx,
      peer,
      targets,
      addInstance: async (service, id) => registerInstance(client, service, id, await backends.start(id)),
      waitRoutable: async (services, timeoutMs = 15_000) => {
        const deadline = Date.now() + timeoutMs;
        for (const target of targets) {
          for (const service of services) {
            for (;;) {
              const status = await get(`http://127.0.0.1:${target.port}/`, { host: `${service}.${DOMAIN}`, [VIA_HEADER]: 'warm-up' })
                .then((res) => res.status)
                .catch(() => 0);
              if (status === 200) break;
              if (Date.now() > deadline) throw new Error(`bench: ${service} did not answer 200 through ${target.via} within ${timeoutMs} ms (last status ${status})`);
              await sleep(50);
            }
          }
        }
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Registers a passing instance on 127.0.0.1 with a TTL check the benchmark flips by hand. */
export function registerInstance(client: ConsulClient, service: string, id: string, port: number, meta: Record<string, string> = {}): Promise<void> {
  return registerService(client, { name: service, id, address: '127.0.0.1', port, meta, check: { ttl: '30m', status: 'passing' } });
}

/**
 * A throwaway `consul agent -dev` on free loopback ports, for `ipx dev` and the
 * integration tests. Everything is in memory; stop() kills it by PID.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { ConsulError, errorMessage } from '../errors.ts';
import { spawnAgent, waitForLeader } from './agent-process.ts';
import { findFreePorts } from './free-ports.ts';

const TOOLS_BINARY = path.join('.tools', 'consul', 'usr', 'bin', 'consul');
const START_ATTEMPTS = 3;

export interface DevAgentOptions {
  /** Consul binary; found with findConsulBinary(cwd) when absent. */
  readonly binary?: string;
  /** Passed as -data-dir; a dev agent keeps its state in memory either way. */
  readonly dataDir?: string;
  /** Appends the agent's output here (it is also kept in memory for error messages). */
  readonly logFile?: string;
  /** Fixed HTTP port, e.g. to bring an agent back where a client expects it; other ports stay free ones. */
  readonly httpPort?: number;
  readonly nodeName?: string;
  readonly cwd?: string;
  /**
   * Ports the agent must not take although they are free now: the ones the caller's
   * own configuration is about to bind (HAProxy's listen addresses, for `ipx dev`).
   */
  readonly avoidPorts?: ReadonlySet<number>;
  /** More agent arguments, e.g. -hcl for TLS or ACL settings in tests. */
  readonly extraArgs?: readonly string[];
  /** How long to wait for a leader, in ms. */
  readonly timeoutMs?: number;
  /**
   * A single server as production runs one (-server -bootstrap-expect=1, its state in dataDir,
   * which it needs) instead of -dev, which indents every JSON answer: for benchmarks that must
   * not count -dev's own costs (a node's answer of 5,000 instances is 2.6 MB indented, 1.2 MB not).
   */
  readonly server?: boolean;
}

export interface DevAgent {
  /** e.g. http://127.0.0.1:43117 */
  readonly address: string;
  readonly httpPort: number;
  /** Consul's DNS interface on 127.0.0.1 (UDP and TCP), e.g. for SRV lookups of `_<svc>._tcp.service.consul`. */
  readonly dnsPort: number;
  readonly pid: number;
  /** Kills the agent by PID and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
}

/** The `consul` on PATH, else <repo>/.tools/consul/usr/bin/consul in cwd or a parent of it. */
export async function findConsulBinary(cwd: string = process.cwd(), env: NodeJS.ProcessEnv = process.env): Promise<string> {
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, 'consul');
    if (await isExecutable(candidate)) return candidate;
  }
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, TOOLS_BINARY);
    if (await isExecutable(candidate)) return candidate;
    if (path.dirname(dir) === dir) break;
  }
  throw new ConsulError(
    `consul: no consul binary on PATH nor in ${path.join(path.resolve(cwd), TOOLS_BINARY)}; run \`npm run setup\` to fetch one`,
  );
}

export async function startDevAgent(options: DevAgentOptions = {}): Promise<DevAgent> {
  const binary = options.binary ?? (await findConsulBinary(options.cwd));
  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    try {
      return await startOnce(binary, options);
    } catch (err) {
      lastError = err;
      // Another process can grab a free port between finding and binding it; that is worth a retry.
      if (!(err instanceof PortTakenError) || options.httpPort !== undefined) break;
    }
  }
  throw lastError;
}

class PortTakenError extends ConsulError {}

async function startOnce(binary: string, options: DevAgentOptions): Promise<DevAgent> {
  if (options.server && !options.dataDir) throw new ConsulError('consul: a server agent keeps its state on disk: give it a dataDir');
  const [http = 0, dns = 0, serfLan, serfWan, server] = await ports(options.httpPort, options.avoidPorts);
  const address = `http://127.0.0.1:${http}`;
  const args = [
    'agent', ...(options.server ? ['-server', '-bootstrap-expect=1'] : ['-dev']), '-client', '127.0.0.1', '-bind', '127.0.0.1',
    `-http-port=${http}`, `-dns-port=${dns}`, `-serf-lan-port=${serfLan}`, `-serf-wan-port=${serfWan}`,
    `-server-port=${server}`, '-grpc-port=-1', `-node=${options.nodeName ?? 'ipx-dev'}`,
    ...(options.dataDir ? [`-data-dir=${options.dataDir}`] : []),
    ...(options.extraArgs ?? []),
  ];
  const agent = spawnAgent(binary, args, options.logFile);
  const stop = (): Promise<void> => agent.stop();
  if (agent.pid === undefined) {
    await stop();
    throw new ConsulError(`consul: could not start ${binary}; is it executable? run \`npm run setup\``);
  }
  try {
    await waitForLeader(address, { timeoutMs: options.timeoutMs ?? 20_000, hasExited: agent.hasExited });
  } catch (err) {
    await stop();
    const ErrorClass = agent.portInUse() ? PortTakenError : ConsulError;
    throw new ErrorClass(`consul: dev agent on ${address} did not become ready (${errorMessage(err)}); its last output:\n${agent.tail()}`, {
      cause: err,
    });
  }
  return { address, httpPort: http, dnsPort: dns, pid: agent.pid, stop };
}

async function ports(httpPort: number | undefined, avoid?: ReadonlySet<number>): Promise<number[]> {
  if (httpPort === undefined) return findFreePorts(5, '127.0.0.1', avoid);
  return [httpPort, ...(await findFreePorts(4, '127.0.0.1', avoid))];
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * A real Consul cluster on 127.0.0.1: three server agents and one client agent,
 * each a process of its own with its own data folder and free ports, as a
 * datacenter runs them on separate hosts (what the dev agent cannot show:
 * a leader that dies and an election). For the tests and benchmarks only.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findFreePorts } from '../../src/consul/free-ports.ts';
import { errorMessage } from '../../src/errors.ts';
import { findConsulBinary, spawnAgent, waitForLeader, type AgentProcess } from '../../src/consul/index.ts';
import { connectionsFrom } from './tcp-connections.ts';

const REPO = new URL('../..', import.meta.url).pathname;
const START_ATTEMPTS = 3;
/** http, serf_lan, serf_wan, server RPC. */
const PORTS_PER_AGENT = 4;
// Consul's production timers (raft_multiplier 1: 1 s heartbeat and election timeouts)
// rather than the default 5, which is tuned for small cloud instances: elections in a
// few seconds, which is what a well-run datacenter sees.
const SETTINGS = 'performance { raft_multiplier = 1 }';

export interface ClusterAgent {
  /** Node name: consul-server-1..3 or consul-client. */
  readonly node: string;
  readonly role: 'server' | 'client';
  /** e.g. http://127.0.0.1:43117 */
  readonly address: string;
  readonly httpPort: number;
  /** The server RPC address, as /v1/status/leader names the leader: 127.0.0.1:<server port>. */
  readonly rpcAddress: string;
  readonly serverPort: number;
  readonly pid: number;
  /** Stops this agent by PID: SIGKILL is a crash (no leave, no hand-over), SIGTERM a clean shutdown. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  hasExited(): boolean;
}

export interface ConsulCluster {
  readonly servers: readonly ClusterAgent[];
  /** The agent applications (and ipx) talk to; it forwards every read and write to a server. */
  readonly client: ClusterAgent;
  /** The server that leads, as the client agent sees it; undefined while there is none. */
  leader(): Promise<ClusterAgent | undefined>;
  /** The servers the client agent holds RPC connections to: where it forwards reads (and ipx's blocking queries) now. */
  forwardingTo(): Promise<ClusterAgent[]>;
  /** Waits until the client agent names a leader other than `previous`, and returns it. */
  waitForNewLeader(previous: ClusterAgent, timeoutMs?: number): Promise<ClusterAgent>;
  /** Stops every agent by PID and removes their data folders. Idempotent. */
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** Each agent appends its output to <logDir>/<node>.log; by default it is kept in memory only. */
  readonly logDir?: string;
  /** How long to wait for a leader and for every node to be in the catalog. */
  readonly timeoutMs?: number;
}

export async function startConsulCluster(options: ClusterOptions = {}): Promise<ConsulCluster> {
  const binary = await findConsulBinary(REPO);
  for (let attempt = 1; ; attempt++) {
    const dir = await mkdtemp(path.join(tmpdir(), 'ipx-consul-cluster-'));
    const agents: Array<ClusterAgent & { readonly process: AgentProcess }> = [];
    const stopAll = async (): Promise<void> => {
      // The cluster's state is thrown away with its folder: nothing to shut down cleanly.
      await Promise.all(agents.map((agent) => agent.stop('SIGKILL')));
      await rm(dir, { recursive: true, force: true });
    };
    try {
      const ports = await findFreePorts(4 * PORTS_PER_AGENT);
      const portsOf = (i: number) => ports.slice(i * PORTS_PER_AGENT, (i + 1) * PORTS_PER_AGENT) as [number, number, number, number];
      for (let i = 0; i < 4; i++) {
        const [http, serfLan, serfWan, server] = portsOf(i);
        const role = i < 3 ? 'server' : 'client';
        const node = role === 'server' ? `consul-server-${i + 1}` : 'consul-client';
        const joins = [0, 1, 2, 3].filter((j) => j !== i).map((j) => `-retry-join=127.0.0.1:${portsOf(j)[1]}`);
        const args = [
          'agent', ...(role === 'server' ? ['-server', '-bootstrap-expect=3'] : []),
          `-node=${node}`, `-data-dir=${path.join(dir, node)}`, '-bind=127.0.0.1', '-client=127.0.0.1',
          `-http-port=${http}`, `-serf-lan-port=${serfLan}`, `-serf-wan-port=${serfWan}`, `-server-port=${server}`,
          '-dns-port=-1', '-grpc-port=-1',
          // Every agent runs on this one host: the host's id would make them one node.
          '-disable-host-node-id', '-raft-protocol=3', '-hcl', SETTINGS, ...joins,
        ];
        const proc = spawnAgent(binary, args, options.logDir ? path.join(options.logDir, `${node}.log`) : undefined);
        if (proc.pid === undefined) throw new Error(`could not start ${binary}; run \`npm run setup\``);
        agents.push({
          node,
          role,
          address: `http://127.0.0.1:${http}`,
          httpPort: http,
          rpcAddress: `127.0.0.1:${server}`,
          serverPort: server,
          pid: proc.pid,
          process: proc,
          stop: (signal) => proc.stop(signal),
          hasExited: proc.hasExited,
        });
      }
      const client = agents[3] as ClusterAgent;
      const timeoutMs = options.timeoutMs ?? 30_000;
      const deadline = Date.now() + timeoutMs;
      await waitForLeader(client.address, { timeoutMs, hasExited: () => agents.some((agent) => agent.hasExited()) });
      await waitForNodes(client.address, agents.map((agent) => agent.node), deadline - Date.now());
      const byRpc = (rpc: string) => agents.find((agent) => agent.role === 'server' && agent.rpcAddress === rpc);
      let stopping: Promise<void> | undefined;
      return {
        servers: agents.slice(0, 3),
        client,
        leader: async () => byRpc(await currentLeader(client.address)),
        forwardingTo: async () => {
          const servers = agents.slice(0, 3);
          const held = await Promise.all(servers.map(async (server) => (await connectionsFrom(client.pid, server.serverPort)).length > 0));
          return servers.filter((_, i) => held[i]);
        },
        waitForNewLeader: async (previous, ms = 30_000) => {
          const rpc = await waitForLeader(client.address, { timeoutMs: ms, not: previous.rpcAddress });
          const found = byRpc(rpc);
          if (!found) throw new Error(`the leader ${rpc} is none of the cluster's servers`);
          return found;
        },
        stop: () => (stopping ??= stopAll()),
      };
    } catch (err) {
      const taken = agents.some((agent) => agent.process.portInUse());
      const tails = agents.map((agent) => `--- ${agent.node}:\n${agent.process.tail()}`).join('\n');
      await stopAll();
      // Another process can take a free port before an agent binds it: worth another try.
      if (taken && attempt < START_ATTEMPTS) continue;
      throw new Error(`consul cluster did not become ready (${errorMessage(err)}); the agents' last output:\n${tails}`, { cause: err });
    }
  }
}

async function currentLeader(address: string): Promise<string> {
  const res = await fetch(`${address}/v1/status/leader`, { signal: AbortSignal.timeout(2_000) });
  const leader: unknown = await res.json();
  return typeof leader === 'string' ? leader : '';
}

/** Until the catalog (read through `address`) lists every node: the client has joined and the leader has registered it. */
async function waitForNodes(address: string, nodes: readonly string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen: string[] = [];
  while (Date.now() < deadline) {
    const res = await fetch(`${address}/v1/catalog/nodes`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
    const body: unknown = res?.ok ? await res.json() : [];
    seen = Array.isArray(body) ? body.map((entry: { Node?: unknown }) => String(entry.Node)) : [];
    if (nodes.every((node) => seen.includes(node))) return;
    await sleep(100);
  }
  throw new Error(`the catalog lists ${JSON.stringify(seen)}, not every node of ${JSON.stringify(nodes)}, after ${timeoutMs} ms`);
}

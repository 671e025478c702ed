/**
 * The leader-stop scenario, shared by the integration test and `npm run bench:cluster`:
 * ipx watches the client agent of a real 3-server cluster and serves `web` through
 * HAProxy, a load runs through HAProxy while instances of `web` come and go (a new
 * one registered on the client agent, then the oldest deregistered), and the
 * leader is killed in the middle of it. Measures the election, the first change
 * applied after it, and every request sent through HAProxy meanwhile.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseConfig } from '../../src/config/index.ts';
import { createConsulClient, deregisterService, registerService, type ConsulClient } from '../../src/consul/index.ts';
import { errorMessage } from '../../src/errors.ts';
import { startConsulCluster, type ClusterAgent, type ConsulCluster } from './consul-cluster.ts';
import { get } from './http.ts';
import { startBackend, type TestBackend } from './http-backend.ts';
import { makeRunDir, removeRunDir, startTestDaemon, type TestDaemon } from './ipx-daemon.ts';
import { startLoad, type LoadResult } from './load.ts';

const SERVICE = 'web';
const HOST = `${SERVICE}.service.internal`;
/** Live instances between churn steps; a step adds one, then removes the oldest. */
const STEADY_INSTANCES = 2;

export interface ClusterStack {
  readonly cluster: ConsulCluster;
  readonly ipx: TestDaemon;
  /** A client of the client agent: where instances register, as applications on that host do. */
  readonly consul: ConsulClient;
  stop(): Promise<void>;
}

/**
 * A cluster, and ipx (in-process, with its HAProxy) watching the cluster's client agent.
 * IPX_TEST_CONSUL_LOGS=<folder> keeps each agent's log there, to see what Consul did.
 */
export async function startClusterStack(name: string): Promise<ClusterStack> {
  const logDir = process.env.IPX_TEST_CONSUL_LOGS;
  const cluster = await startConsulCluster(logDir ? { logDir } : {});
  let runDir: string | undefined;
  let consul: ConsulClient | undefined;
  let ipx: TestDaemon | undefined;
  const stop = async (): Promise<void> => {
    await ipx?.stop();
    consul?.close();
    await cluster.stop();
    if (runDir) await removeRunDir(runDir);
  };
  try {
    runDir = await makeRunDir(name);
    consul = createConsulClient(parseConfig({ consul: { address: cluster.client.address } }).consul);
    ipx = await startTestDaemon(cluster.client.address, runDir);
    return { cluster, ipx, consul, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface LeaderStopOptions {
  /** Churn (and load) before the leader is stopped. */
  readonly churnBeforeMs?: number;
  /** Churn (and load) after the change made after the election is served. */
  readonly churnAfterMs?: number;
  /** Pause between two churn steps. */
  readonly stepMs?: number;
  /** Gives up on the election, and on the change after it, after this long. */
  readonly timeoutMs?: number;
}

export interface StatusSample {
  readonly atMs: number;
  readonly stale: boolean;
  readonly failing: readonly string[];
  readonly lastError: string | undefined;
}

export interface LeaderStopResult {
  readonly stopped: string;
  /** Whether the client agent held a connection to the leader (where it forwards reads) when it was killed: only then do ipx's reads fail. */
  readonly viaLeader: boolean;
  readonly elected: string;
  /** Leader stopped (SIGKILL) → the client agent names another leader. */
  readonly electionMs: number;
  /** Leader stopped → an instance registered once the new leader was known is served through HAProxy. */
  readonly appliedMs: number;
  /** That instance: registered → served through HAProxy, and registered → in the catalog (Consul's share of it). */
  readonly changeMs: number;
  readonly catalogMs: number;
  /** Churn steps done (one instance added, the oldest removed), and calls to the agent that failed. */
  readonly steps: number;
  readonly churnErrors: number;
  readonly load: LoadResult;
  /** Requests through HAProxy by the probe for the new instance, and how many of them failed. */
  readonly probeRequests: number;
  readonly probeFailures: number;
  /** ipx's /status (its Consul part) every 200 ms from the stop to the change served. */
  readonly status: readonly StatusSample[];
  /** Failed reads of Consul by ipx (ipx_consul_errors_total) from the stop to the change served. */
  readonly consulErrors: number;
}

export async function runLeaderStop(stack: ClusterStack, options: LeaderStopOptions = {}): Promise<LeaderStopResult> {
  const { cluster, ipx, consul } = stack;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const backends: TestBackend[] = [];
  const live: string[] = [];
  let next = 0;
  let churnErrors = 0;
  /** Registers an instance on its own backend; the churn removes it in turn unless `churned` is false. */
  const addInstance = async (id: string, churned = true): Promise<void> => {
    const backend = await startBackend(id);
    backends.push(backend);
    await registerService(consul, { name: SERVICE, id, address: '127.0.0.1', port: backend.port, check: { ttl: '1h', status: 'passing' } });
    if (churned) live.push(id);
  };
  const [host = '', port = ''] = ipx.config.listen.http.split(':');
  const served = new ServedProbe(`http://${ipx.config.listen.http}/`);
  try {
    for (let i = 0; i < STEADY_INSTANCES; i++) await addInstance(`${SERVICE}-${next++}`);
    for (const id of live) await served.waitFor(id, timeoutMs);
    // Before ipx's first apply the service answers 404 or 503: not what is measured.
    served.reset();

    const load = startLoad({ host, port: Number(port), hostHeader: HOST, keepAliveClients: 4, freshClients: 2, maxDurationMs: 4 * timeoutMs });
    let steps = 0;
    let churning = true;
    // Add one, wait until the catalog has it (an operator's rolling deploy does), remove the oldest.
    const churn = (async () => {
      while (churning) {
        try {
          const id = `${SERVICE}-${next++}`;
          await addInstance(id);
          await inCatalog(cluster.client, id, () => churning);
          const oldest = live[0];
          if (oldest) await deregisterService(consul, oldest);
          live.shift();
          steps += 1;
        } catch {
          // The client agent keeps registrations locally and syncs them once a leader is
          // back, so this is not expected; counted, and the step is tried again.
          churnErrors += 1;
        }
        await sleep(options.stepMs ?? 300);
      }
    })();
    try {
      await sleep(options.churnBeforeMs ?? 2_000);
      const leader = await cluster.leader();
      if (!leader) throw new Error('no leader before the stop');
      const viaLeader = (await cluster.forwardingTo()).includes(leader);
      const status = sampleStatus(ipx.admin);
      const errorsBefore = await consulErrors(ipx.admin);
      const stoppedAt = Date.now();
      // SIGKILL: a crash, the hard case. No leave and no hand-over of leadership: the
      // followers only learn from missed heartbeats, and the client agent's connections
      // to the dead server break mid-request.
      await leader.stop('SIGKILL');
      const elected = await cluster.waitForNewLeader(leader, timeoutMs);
      const electedAt = Date.now();
      const probe = `${SERVICE}-after-election`;
      const registeredAt = Date.now();
      await addInstance(probe, false);
      let catalogAt = 0;
      let looking = true;
      const catalogued = inCatalog(cluster.client, probe, () => looking).then(() => void (catalogAt = catalogAt || Date.now()));
      try {
        await served.waitFor(probe, timeoutMs);
      } catch (err) {
        looking = false;
        // Which side it stuck on: Consul (never in the catalog) or ipx (what it read and applied).
        const where = catalogAt ? `in the catalog ${catalogAt - registeredAt} ms after its registration` : 'never in the catalog';
        const seen = await get(`${ipx.admin}/status?service=${SERVICE}`).then((r) => r.body, (e: unknown) => String(e));
        throw new Error(`${errorMessage(err)}; it was ${where}; ipx /status: ${seen.slice(0, 3000)}`, { cause: err });
      }
      const servedAt = Date.now();
      await catalogued;
      const samples = await status.stop(stoppedAt);
      const errors = (await consulErrors(ipx.admin)) - errorsBefore;
      await sleep(options.churnAfterMs ?? 1_500);
      churning = false;
      await churn;
      return {
        stopped: leader.node,
        viaLeader,
        elected: elected.node,
        electionMs: electedAt - stoppedAt,
        appliedMs: servedAt - stoppedAt,
        changeMs: servedAt - registeredAt,
        catalogMs: catalogAt - registeredAt,
        steps,
        churnErrors,
        load: await load.stop(),
        probeRequests: served.requests,
        probeFailures: served.failures,
        status: samples,
        consulErrors: errors,
      };
    } finally {
      churning = false;
      await churn.catch(() => undefined);
      await load.stop();
    }
  } finally {
    await Promise.all(backends.map((backend) => backend.close()));
  }
}

/** Requests through HAProxy until one is answered by a given instance; counts what fails on the way. */
class ServedProbe {
  requests = 0;
  failures = 0;
  constructor(private readonly url: string) {}

  reset(): void {
    this.requests = 0;
    this.failures = 0;
  }

  async waitFor(id: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      this.requests += 1;
      const answer = await get(this.url, { host: HOST }).catch(() => undefined);
      if (answer?.status !== 200) this.failures += 1;
      if (answer?.body === id) return;
      await sleep(10);
    }
    throw new Error(`${id} was not served through HAProxy within ${timeoutMs} ms`);
  }
}

/** Until the catalog, read through the client agent (any server may answer), lists the instance. */
async function inCatalog(agent: ClusterAgent, id: string, going: () => boolean): Promise<void> {
  while (going()) {
    const res = await fetch(`${agent.address}/v1/catalog/service/${SERVICE}?stale`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
    const body: unknown = res?.ok ? await res.json() : [];
    if (Array.isArray(body) && body.some((entry: { ServiceID?: unknown }) => entry.ServiceID === id)) return;
    await sleep(50);
  }
}

async function consulErrors(admin: string): Promise<number> {
  const metrics = await get(`${admin}/metrics`);
  const line = metrics.body.split('\n').find((l) => l.startsWith('ipx_consul_errors_total '));
  return Number(line?.split(' ')[1] ?? 0);
}

function sampleStatus(admin: string): { stop(from: number): Promise<StatusSample[]> } {
  const samples: Array<Omit<StatusSample, 'atMs'> & { at: number }> = [];
  let going = true;
  const loop = (async () => {
    while (going) {
      const answer = await get(`${admin}/status`).catch(() => undefined);
      const consul = answer ? (JSON.parse(answer.body) as { consul?: { stale?: boolean; failing?: string[]; lastError?: { message?: string } } }).consul : undefined;
      if (consul) {
        samples.push({ at: Date.now(), stale: consul.stale === true, failing: consul.failing ?? [], lastError: consul.lastError?.message });
      }
      await sleep(200);
    }
  })();
  return {
    stop: async (from) => {
      going = false;
      await loop;
      return samples.map(({ at, ...sample }) => ({ ...sample, atMs: at - from }));
    },
  };
}

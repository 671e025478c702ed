/**
 * Test helpers around a real `consul agent -dev` (started on free loopback
 * ports, stopped by PID) and around the snapshots a watcher emits.
 */
import { parseConfig, type Config } from '../../src/config/index.ts';
import {
  createConsulClient,
  startDevAgent,
  type ConsulClient,
  type DevAgent,
  type DevAgentOptions,
  type Snapshot,
} from '../../src/consul/index.ts';

export interface TestConsul {
  readonly agent: DevAgent;
  readonly client: ConsulClient;
  readonly config: Config['consul'];
  /** Stops the agent and closes the client; safe to call twice. */
  stop(): Promise<void>;
}

/** A dev agent plus a client for it. `wait` is short so blocking calls cycle within a test. */
export async function startTestConsul(options: DevAgentOptions & { wait?: string } = {}): Promise<TestConsul> {
  const agent = await startDevAgent({ cwd: new URL('../..', import.meta.url).pathname, ...options });
  const config = parseConfig({ consul: { address: agent.address, wait: options.wait ?? '5s' } }).consul;
  const client = createConsulClient(config);
  return {
    agent,
    client,
    config,
    stop: async () => {
      client.close();
      await agent.stop();
    },
  };
}

/** Records snapshots and lets a test wait for one that matches. */
export class SnapshotRecorder {
  readonly snapshots: Snapshot[] = [];
  private waiters: Array<() => void> = [];

  readonly push = (snapshot: Snapshot): void => {
    this.snapshots.push(snapshot);
    for (const wake of this.waiters.splice(0)) wake();
  };

  get last(): Snapshot | undefined {
    return this.snapshots.at(-1);
  }

  /** Resolves with the first snapshot after index `from` that matches, or rejects after timeoutMs. */
  async waitFor(predicate: (snapshot: Snapshot) => boolean, timeoutMs = 2_000, from = 0): Promise<Snapshot> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.snapshots.slice(from).find(predicate);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`no matching snapshot within ${timeoutMs} ms; last: ${JSON.stringify(this.last)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/** Instances of one service in a snapshot, or undefined when the service is absent. */
export function instancesOf(snapshot: Snapshot | undefined, service: string): Snapshot['services'][number]['instances'] | undefined {
  return snapshot?.services.find((entry) => entry.name === service)?.instances;
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until check() is true, failing with `what` after timeoutMs. */
export async function waitUntil(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** Writes a KV key through the HTTP API (ipx itself never writes KV). */
export async function putKv(address: string, key: string, value: string): Promise<void> {
  const res = await fetch(`${address}/v1/kv/${key}`, { method: 'PUT', body: value });
  if (!res.ok) throw new Error(`PUT /v1/kv/${key}: HTTP ${res.status}`);
}

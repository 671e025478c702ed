import { join } from 'node:path';
import { registerService } from '../../src/consul/index.ts';
import { createMasterCli } from '../../src/haproxy/index.ts';
import { startTestConsul, type TestConsul } from './consul.ts';
import { eventually, get } from './http.ts';
import { makeRunDir, removeRunDir, startTestDaemon, type TestDaemon } from './ipx-daemon.ts';
import { startPolicyBackend, type Behaviour, type PolicyBackend } from './policy-backend.ts';
import type { ConfigInput } from '../../src/config/index.ts';

/** Consul, ipx with its HAProxy, and programmable upstreams: what the policy tests call through. */
export interface PolicyStack {
  readonly consul: TestConsul;
  readonly ipx: TestDaemon;
  /** Starts an upstream named `id` and registers it as an instance of `service`. */
  instance(service: string, id: string, meta?: Record<string, string>, behaviour?: Partial<Behaviour>): Promise<PolicyBackend>;
  backend(id: string): PolicyBackend;
  /**
   * Waits until ipx has applied a model holding every one of `services`: registrations
   * made one after another can reach HAProxy in separate applies, so seeing the first
   * one serve says nothing about the last.
   */
  applied(...services: string[]): Promise<void>;
  /** Reloads the HAProxy master has done so far. */
  reloads(): Promise<number>;
  stop(): Promise<void>;
}

export async function startPolicyStack(name: string, config: ConfigInput = {}, beforeStart?: (consul: TestConsul) => Promise<void>): Promise<PolicyStack> {
  const consul = await startTestConsul();
  const runDir = await makeRunDir(name);
  await beforeStart?.(consul);
  const ipx = await startTestDaemon(consul.agent.address, runDir, config);
  const backends = new Map<string, PolicyBackend>();
  return {
    consul,
    ipx,
    instance: async (service, id, meta = {}, behaviour = {}) => {
      const b = await startPolicyBackend(id, behaviour);
      backends.set(id, b);
      await registerService(consul.client, { name: service, id, address: '127.0.0.1', port: b.port, meta, check: { ttl: '1h', status: 'passing' } });
      return b;
    },
    backend: (id) => {
      const b = backends.get(id);
      if (!b) throw new Error(`no backend ${id}`);
      return b;
    },
    applied: async (...services) => {
      await eventually(
        async () => {
          const model = JSON.parse((await get(`${ipx.admin}/model`)).body) as { services: Array<{ name: string }> } | null;
          const names = new Set(model?.services.map((service) => service.name));
          return services.every((name) => names.has(name)) ? true : undefined;
        },
        20_000,
        `ipx to apply ${services.join(', ')}`,
      );
    },
    // The master re-executes itself on a reload: its socket refuses connections for a moment.
    reloads: () => eventually(async () => (await createMasterCli({ socketPath: join(runDir, 'master.sock') }).showProc()).master.reloads, 5_000, 'the master CLI'),
    stop: async () => {
      await ipx.stop();
      await consul.stop();
      await Promise.all([...backends.values()].map((b) => b.close()));
      await removeRunDir(runDir);
    },
  };
}

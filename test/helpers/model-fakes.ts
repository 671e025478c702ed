import { parseConfig } from '../../src/config/parse.ts';
import type { ConfigInput, Config } from '../../src/config/schema.ts';
import { buildModel } from '../../src/model/build-model.ts';
import type { ServiceModel } from '../../src/model/types.ts';
import type { InstanceEntry, ServiceEntry, Snapshot } from '../../src/consul/snapshot.ts';

/** Small builders for model tests: a passing instance unless told otherwise. */
export function instance(fields: Partial<InstanceEntry> & { id: string }): InstanceEntry {
  return { node: 'node-a', address: '10.0.0.1', port: 8080, tags: [], meta: {}, status: 'passing', weight: 1, ...fields };
}

export function service(name: string, instances: readonly InstanceEntry[] = []): ServiceEntry {
  return { name, instances };
}

export function snapshot(...services: ServiceEntry[]): Snapshot {
  return { services, kv: [] };
}

export function config(input: ConfigInput = {}): Config {
  return parseConfig({ ...input, haproxy: { runDir: '/tmp/ipx-golden', ...input.haproxy } });
}

/** A deterministic shuffle (mulberry32), so a failure names its seed. */
export function shuffle<T>(items: readonly T[], seed: number): T[] {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** The policy fields of a service with no policy anywhere, for hand-built models. */
export function defaultPolicyFields(): Pick<ServiceModel, 'policy' | 'policyOrigins' | 'settings' | 'versions' | 'failover' | 'tcp'> {
  const built = buildModel({ snapshot: snapshot(service('x')), config: config() }).services[0] as ServiceModel;
  return { policy: built.policy, policyOrigins: built.policyOrigins, settings: built.settings, versions: built.versions, failover: built.failover, tcp: built.tcp };
}

/**
 * Static upstreams (config `static`): services outside Consul, turned into
 * service entries so that routing, policies and explain treat them like any
 * other. A Consul service of the same name wins; the static one is reported.
 */
import { compareStrings } from '../compare.ts';
import { serviceRejection } from './rejections.ts';
import type { Rejection } from './types.ts';
import type { Config } from '../config/schema.ts';
import type { InstanceEntry, ServiceEntry } from '../consul/snapshot.ts';

/** The node name static instances show under (in explain and logs). */
export const STATIC_NODE = 'static';

export interface StaticServices {
  readonly services: readonly ServiceEntry[];
  /** Their policy documents, by name: the file-service layer (as `policies.services.<name>`). */
  readonly policies: Readonly<Record<string, unknown>>;
  readonly rejections: readonly Rejection[];
}

export function staticServices(upstreams: Config['static'], consul: readonly ServiceEntry[]): StaticServices {
  const taken = new Set(consul.map((s) => s.name.toLowerCase()));
  const services: ServiceEntry[] = [];
  const policies: Record<string, unknown> = {};
  const rejections: Rejection[] = [];
  for (const name of Object.keys(upstreams).sort(compareStrings)) {
    const upstream = upstreams[name] as Config['static'][string];
    if (taken.has(name.toLowerCase())) {
      rejections.push(serviceRejection(name, 'static upstream has the name of a Consul service, which is routed instead; rename one of them'));
      continue;
    }
    taken.add(name.toLowerCase());
    services.push({ name, instances: upstream.instances.map((address, i) => staticInstance(name, i, address)) });
    policies[name] = upstream.policy;
  }
  return { services, policies, rejections };
}

function staticInstance(name: string, index: number, hostPort: string): InstanceEntry {
  const at = hostPort.lastIndexOf(':');
  return {
    id: `${name}-${index + 1}`,
    node: STATIC_NODE,
    address: hostPort.slice(0, at).replace(/^\[|\]$/g, ''),
    port: Number(hostPort.slice(at + 1)),
    tags: [],
    meta: {},
    status: 'passing',
    weight: 1,
  };
}

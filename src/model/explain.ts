import { quoteForLog } from './rejections.ts';
import type { InstanceEntry, Snapshot } from '../consul/snapshot.ts';
import type { Model, Rejection, ServiceModel } from './types.ts';

export interface Explanation {
  /** The Host that routes to the service. */
  readonly host: string;
  readonly service: ServiceModel | undefined;
  /** Consul's view of each server's instance, by server name. */
  readonly instances: ReadonlyMap<string, InstanceEntry>;
  /** What was skipped of this service, and why. */
  readonly rejections: readonly Rejection[];
  /** A routed service Consul does not list: a static upstream from the config file. */
  readonly isStatic: boolean;
}

/**
 * Pure: what happens to a request for `query` (a service name or a Host such
 * as orders.service.internal:8080), from the model and the snapshot it came from.
 */
export function explain(model: Model, snapshot: Snapshot, query: string): Explanation {
  const domain = model.global.domain;
  const host = query.toLowerCase().replace(/:\d+$/, '');
  const name = host.endsWith(`.${domain}`) ? host.slice(0, -domain.length - 1) : host;
  const service = model.services.find((s) => s.name.toLowerCase() === name);
  const entry = snapshot.services.find((s) => s.name.toLowerCase() === name);
  const instances = new Map<string, InstanceEntry>();
  for (const server of service?.servers ?? []) {
    const instance = entry?.instances.find((i) => i.id === server.instanceId);
    if (instance) instances.set(server.name, instance);
  }
  const quoted = [entry?.name ?? name, service?.name].filter((n): n is string => Boolean(n)).map(quoteForLog);
  const rejections = model.rejections.filter((r) => quoted.some((q) => r.subject === `service ${q}` || r.subject.endsWith(`of service ${q}`)));
  return { host: `${name}.${domain}`, service, instances, rejections, isStatic: service !== undefined && entry === undefined };
}

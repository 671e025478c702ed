/**
 * Path routes (POLICIES.md `routes`, `ipx-path-prefix`): on any Host that is
 * not a service host, a request whose path is a route's prefix, or starts with
 * it and a `/`, goes to that route's service; the longest prefix wins. Two
 * services claiming the same prefix: the lower name (code-unit order) keeps
 * it, the other is reported. Failover (`failover.service`) is resolved here too. Pure.
 */
import { compareStrings } from '../compare.ts';
import { quoteForLog } from './rejections.ts';
import type { Rejection, ServiceModel } from './types.ts';

export interface RouteModel {
  /** `/segment[/segment…]` (policy schema PATH_PREFIX). */
  readonly prefix: string;
  readonly service: string;
  readonly backend: string;
  /** Remove the prefix before forwarding (`/orders/x` → `/x`, `/orders` → `/`). */
  readonly strip: boolean;
}

export interface BuiltRoutes {
  /** Longest prefix first, then by prefix. */
  readonly routes: readonly RouteModel[];
  readonly rejections: readonly Rejection[];
}

export function buildRoutes(services: readonly ServiceModel[]): BuiltRoutes {
  const owners = new Map<string, RouteModel>();
  const rejections: Rejection[] = [];
  const byName = [...services].sort((a, b) => compareStrings(a.name, b.name));
  for (const service of byName) {
    if (service.policy.protocol === 'tcp') continue;
    for (const route of service.policy.routes ?? []) {
      const taken = owners.get(route.pathPrefix);
      if (taken && taken.service !== service.name) {
        rejections.push({
          subject: `policy of service ${quoteForLog(service.name)}`,
          reason: `route ${route.pathPrefix} is also claimed by service ${quoteForLog(taken.service)}, which keeps it (the lower name wins); choose another prefix`,
        });
        continue;
      }
      if (!taken) owners.set(route.pathPrefix, { prefix: route.pathPrefix, service: service.name, backend: service.backend, strip: route.stripPrefix });
    }
  }
  const routes = [...owners.values()].sort((a, b) => b.prefix.length - a.prefix.length || compareStrings(a.prefix, b.prefix));
  return { routes, rejections };
}

/** `failover.service` → that service's backend, or null; a missing or self target is reported. */
export function resolveFailover(service: ServiceModel, services: readonly ServiceModel[]): { backend: string | null; rejection?: Rejection } {
  const target = service.policy.failover?.service;
  if (target === undefined) return { backend: null };
  const subject = `policy of service ${quoteForLog(service.name)}`;
  const found = services.find((s) => s.name === target);
  if (!found) return { backend: null, rejection: { subject, reason: `failover.service ${quoteForLog(target)} is not a routed service; no failover until it is` } };
  if (found.name === service.name) return { backend: null, rejection: { subject, reason: 'failover.service names the service itself; ignored' } };
  if (service.policy.protocol === 'tcp' || found.policy.protocol === 'tcp') return { backend: null, rejection: { subject, reason: 'failover is for HTTP services; a TCP service neither has one nor is one' } };
  return { backend: found.backend };
}

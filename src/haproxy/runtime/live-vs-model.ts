import { modelBackends } from '../../model/backends.ts';
import { ipKey } from '../../model/ip-literal.ts';
import { isDraining, isMaint, type LiveServer } from './servers-state.ts';
import type { Model, ServerModel } from '../../model/types.ts';

/** `backend/server`, the key runtime state is tracked by. */
export function serverKey(backend: string, server: string): string {
  return `${backend}/${server}`;
}

/** Every server of the model by `backend/server`. */
export function modelServers(model: Model): Map<string, ServerModel> {
  const servers = new Map<string, ServerModel>();
  for (const { backend, servers: list } of modelBackends(model)) {
    for (const server of list) servers.set(serverKey(backend, server.name), server);
  }
  return servers;
}

/**
 * Pure: how a live server differs from what the model says of it, or
 * undefined when they agree. Addresses compare by value (HAProxy prints IPv6
 * canonically); a draining server never agrees (the model has no such state).
 */
export function serverDisagreement(live: LiveServer, wanted: ServerModel): string | undefined {
  const problems: string[] = [];
  if (ipKey(live.address) !== ipKey(wanted.address) || live.port !== wanted.port) {
    problems.push(`address ${live.address}:${live.port}, model ${wanted.address}:${wanted.port}`);
  }
  if (live.weight !== wanted.weight) problems.push(`weight ${live.weight}, model ${wanted.weight}`);
  const state = isDraining(live) ? 'drain' : isMaint(live) ? 'maint' : 'ready';
  if (state !== wanted.state) problems.push(`state ${state}, model ${wanted.state}`);
  return problems.length === 0 ? undefined : problems.join(', ');
}

/**
 * Pure: every way the live servers differ from the model — missing, extra,
 * or a different address, weight or state. Servers in `draining` (removed
 * from the model, finishing their requests) are left out. Backends the model
 * does not have are not compared: ipx renders no other. With `only`, just
 * those backends are compared (after runtime changes, the ones they touched).
 */
export function liveMismatches(live: readonly LiveServer[], model: Model, draining: ReadonlySet<string> = new Set(), only?: ReadonlySet<string>): string[] {
  const compared = modelBackends(model).filter((b) => !only || only.has(b.backend));
  const backends = new Set(compared.map((b) => b.backend));
  const wanted = new Map<string, ServerModel>();
  for (const { backend, servers } of compared) for (const server of servers) wanted.set(serverKey(backend, server.name), server);
  const seen = new Set<string>();
  const problems: string[] = [];
  for (const server of live) {
    const key = serverKey(server.backend, server.server);
    if (!backends.has(server.backend) || draining.has(key)) continue;
    seen.add(key);
    const model = wanted.get(key);
    if (!model) {
      problems.push(`${key} is live but not in the model`);
      continue;
    }
    const disagreement = serverDisagreement(server, model);
    if (disagreement) problems.push(`${key}: ${disagreement}`);
  }
  for (const key of wanted.keys()) if (!seen.has(key)) problems.push(`${key} is in the model but not live`);
  return problems;
}

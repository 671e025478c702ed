import { isDraining, isMaint, type LiveServer } from '../haproxy/runtime/servers-state.ts';
import type { Model, ServerState } from '../model/index.ts';

/** What HAProxy says a server is doing, in one word. */
export type LiveState = 'up' | 'down' | 'maint' | 'drain' | 'starting' | 'stopping';

export interface BackendServerStatus {
  readonly name: string;
  readonly instanceId?: string;
  readonly address: string;
  readonly port: number;
  /** What ipx applied: ready takes traffic, maint does not; `removed` is still draining in HAProxy. */
  readonly state: ServerState | 'removed';
  readonly weight: number;
  /** What HAProxy reports now, when it could be asked. */
  readonly live?: { readonly state: LiveState; readonly weight: number };
}

export interface BackendStatus {
  readonly service: string;
  readonly host: string;
  readonly backend: string;
  readonly servers: readonly BackendServerStatus[];
}

/**
 * Pure: each backend of the applied model with its servers, joined with
 * HAProxy's own view of them (`show servers state`); servers HAProxy still
 * has but the model dropped are draining and listed as `removed`.
 * `service` narrows to one service (by name, any case).
 */
export function backendStatus(model: Model | undefined, live: readonly LiveServer[] | undefined, service?: string): BackendStatus[] {
  const wanted = service?.toLowerCase();
  const byKey = new Map((live ?? []).map((server) => [`${server.backend}/${server.server}`, server]));
  return (model?.services ?? [])
    .filter((s) => wanted === undefined || s.name.toLowerCase() === wanted)
    .map((s) => {
      const known = new Set(s.servers.map((server) => server.name));
      const servers: BackendServerStatus[] = s.servers.map((server) => {
        const now = byKey.get(`${s.backend}/${server.name}`);
        const { name, instanceId, address, port, state, weight } = server;
        return { name, instanceId, address, port, state, weight, ...(now ? { live: liveOf(now) } : {}) };
      });
      for (const now of live ?? []) {
        if (now.backend !== s.backend || known.has(now.server)) continue;
        servers.push({ name: now.server, address: now.address, port: now.port, state: 'removed', weight: now.weight, live: liveOf(now) });
      }
      return { service: s.name, host: s.host, backend: s.backend, servers };
    });
}

function liveOf(server: LiveServer): { state: LiveState; weight: number } {
  const state: LiveState = isMaint(server)
    ? 'maint'
    : isDraining(server)
      ? 'drain'
      : (['down', 'starting', 'up', 'stopping'] as const)[server.opState] ?? 'down';
  return { state, weight: server.weight };
}

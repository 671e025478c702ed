import { compareStrings } from '../compare.ts';
import { changedGlobalKeys } from '../model/index.ts';
import type { Model, ServerModel, ServiceModel } from '../model/index.ts';

/** Added, removed and changed items of one kind, each named (sorted). */
export interface ChangeSet {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
}

/**
 * What a change does, in the words operators use: services, routes (a Host
 * to a backend; path routes join when the model has them) and servers
 * (`service/server`, with what changed about them), plus global settings.
 */
export interface ChangeSummary {
  readonly services: ChangeSet;
  readonly routes: ChangeSet;
  readonly servers: ChangeSet;
  readonly global: readonly string[];
}

/** Pure: from the applied model (undefined: nothing applied, everything is new) to the next one. */
export function summarizeChange(applied: Model | undefined, next: Model): ChangeSummary {
  const before = new Map((applied?.services ?? []).map((service) => [service.name, service]));
  const after = new Map(next.services.map((service) => [service.name, service]));
  const services = changeSet(before, after, sameService, (name) => name);
  const routes = changeSet(routesOf(applied?.services ?? []), routesOf(next.services), (a, b) => a === b, (host, backend) => `${host} → ${backend}`);
  const servers = { added: [] as string[], removed: [] as string[], changed: [] as string[] };
  for (const name of new Set([...before.keys(), ...after.keys()])) {
    // The model memo keeps an unchanged service the same object: nothing to compare.
    if (before.get(name) === after.get(name)) continue;
    const old = new Map((before.get(name)?.servers ?? []).map((server) => [server.name, server]));
    const now = new Map((after.get(name)?.servers ?? []).map((server) => [server.name, server]));
    for (const [server, s] of now) {
      const was = old.get(server);
      if (!was) servers.added.push(`${name}/${server} ${endpoint(s)}`);
      else if (serverChanges(was, s).length > 0) servers.changed.push(`${name}/${server} ${serverChanges(was, s).join(', ')}`);
    }
    for (const [server, s] of old) if (!now.has(server)) servers.removed.push(`${name}/${server} ${endpoint(s)}`);
  }
  return {
    services,
    routes,
    servers: { added: servers.added.sort(compareStrings), removed: servers.removed.sort(compareStrings), changed: servers.changed.sort(compareStrings) },
    global: applied ? changedGlobalKeys(applied.global, next.global) : [],
  };
}

/** Counts only, for a JSON log field that stays small at thousands of services. */
export function countChanges(summary: ChangeSummary): Record<'services' | 'routes' | 'servers', { added: number; removed: number; changed: number }> & { global: readonly string[] } {
  const count = (set: ChangeSet) => ({ added: set.added.length, removed: set.removed.length, changed: set.changed.length });
  return { services: count(summary.services), routes: count(summary.routes), servers: count(summary.servers), global: summary.global };
}

export function isEmptySummary(summary: ChangeSummary): boolean {
  const sets = [summary.services, summary.routes, summary.servers];
  return summary.global.length === 0 && sets.every((set) => set.added.length + set.removed.length + set.changed.length === 0);
}

/** One line: `services +1 ~1 (+orders; ~hello), servers ~1 (~hello/hello-1 weight 1→2)`; `detail` names per kind, 0 for counts only. */
export function formatSummaryLine(summary: ChangeSummary, detail = 3): string {
  if (isEmptySummary(summary)) return 'no service, route or server changed';
  const parts: string[] = [];
  const counts = (set: ChangeSet) =>
    [set.added.length && `+${set.added.length}`, set.removed.length && `-${set.removed.length}`, set.changed.length && `~${set.changed.length}`].filter(Boolean).join(' ');
  for (const [label, set] of [['services', summary.services], ['routes', summary.routes], ['servers', summary.servers]] as const) {
    const c = counts(set);
    if (!c) continue;
    const named = [...set.added.map((n) => `+${n}`), ...set.removed.map((n) => `-${n}`), ...set.changed.map((n) => `~${n}`)];
    const shown = named.slice(0, detail).join('; ') + (named.length > detail ? `; ${named.length - detail} more` : '');
    parts.push(detail > 0 ? `${label} ${c} (${shown})` : `${label} ${c}`);
  }
  if (summary.global.length > 0) parts.push(`global ${summary.global.join(', ')}`);
  return parts.join(', ');
}

function changeSet<T>(before: ReadonlyMap<string, T>, after: ReadonlyMap<string, T>, same: (a: T, b: T) => boolean, label: (key: string, value: T) => string): ChangeSet {
  const added: string[] = [];
  const removed: string[] = [];
  const changed: string[] = [];
  for (const [key, value] of after) {
    const old = before.get(key);
    if (old === undefined) added.push(label(key, value));
    else if (!same(old, value)) changed.push(label(key, value));
  }
  for (const [key, value] of before) if (!after.has(key)) removed.push(label(key, value));
  return { added: added.sort(compareStrings), removed: removed.sort(compareStrings), changed: changed.sort(compareStrings) };
}

function routesOf(services: readonly ServiceModel[]): Map<string, string> {
  return new Map(services.map((service) => [service.host, service.backend]));
}

function sameService(a: ServiceModel, b: ServiceModel): boolean {
  if (a === b) return true;
  return a.host === b.host && a.backend === b.backend && JSON.stringify(a.servers) === JSON.stringify(b.servers);
}

function endpoint(server: ServerModel): string {
  return `${server.address.includes(':') ? `[${server.address}]` : server.address}:${server.port}`;
}

function serverChanges(a: ServerModel, b: ServerModel): string[] {
  const changes: string[] = [];
  if (a.address !== b.address || a.port !== b.port) changes.push(`address ${endpoint(a)}→${endpoint(b)}`);
  if (a.weight !== b.weight) changes.push(`weight ${a.weight}→${b.weight}`);
  if (a.state !== b.state) changes.push(`${a.state}→${b.state}`);
  return changes;
}

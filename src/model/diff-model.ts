import { compareStrings } from '../compare.ts';
import { flattenPolicy } from './policy/merge.ts';
import type { GlobalModel, Model, ServerModel, ServiceModel } from './types.ts';

export interface ModelDiff {
  /** Service names, sorted. */
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** Present in both with a different host, backend or server list. */
  readonly changed: readonly string[];
  /** Any global setting differs (binds, maxconn, ...): only a reload applies it. */
  readonly globalChanged: boolean;
}

/** What changed from `a` to `b`, by service name. Rejections are not compared. */
export function diffModel(a: Model, b: Model): ModelDiff {
  const before = new Map(a.services.map((service) => [service.name, service]));
  const after = new Map(b.services.map((service) => [service.name, service]));
  const added = [...after.keys()].filter((name) => !before.has(name));
  const removed = [...before.keys()].filter((name) => !after.has(name));
  const changed = [...after.entries()]
    .filter(([name, service]) => {
      const old = before.get(name);
      return old !== undefined && !sameService(old, service);
    })
    .map(([name]) => name);
  return {
    added: added.sort(compareStrings),
    removed: removed.sort(compareStrings),
    changed: changed.sort(compareStrings),
    globalChanged: !sameGlobal(a.global, b.global),
  };
}

export function isEmptyDiff(diff: ModelDiff): boolean {
  return !diff.globalChanged && diff.added.length === 0 && diff.removed.length === 0 && diff.changed.length === 0;
}

function sameService(a: ServiceModel, b: ServiceModel): boolean {
  if (a === b) return true;
  return (
    a.host === b.host &&
    a.backend === b.backend &&
    changedPolicyKeys(a, b).length === 0 &&
    a.servers.length === b.servers.length &&
    a.servers.every((server, i) => sameServer(server, b.servers[i] as ServerModel))
  );
}

function sameServer(a: ServerModel, b: ServerModel): boolean {
  return (
    a.name === b.name &&
    a.instanceId === b.instanceId &&
    a.address === b.address &&
    a.port === b.port &&
    a.weight === b.weight &&
    a.state === b.state
  );
}

function sameGlobal(a: GlobalModel, b: GlobalModel): boolean {
  return changedGlobalKeys(a, b).length === 0;
}

/** The global settings that differ, sorted; values compared by content (statsAuth is an object). */
export function changedGlobalKeys(a: GlobalModel, b: GlobalModel): (keyof GlobalModel)[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort(compareStrings) as (keyof GlobalModel)[];
  return keys.filter((key) => JSON.stringify(a[key]) !== JSON.stringify(b[key]));
}

/** Dotted policy keys whose value differs (origins aside: a value moving between layers changes nothing HAProxy sees). */
export function changedPolicyKeys(a: Pick<ServiceModel, 'policy'>, b: Pick<ServiceModel, 'policy'>): string[] {
  const before = new Map(flattenPolicy(a.policy).map(([key, value]) => [key, JSON.stringify(value)]));
  const after = new Map(flattenPolicy(b.policy).map(([key, value]) => [key, JSON.stringify(value)]));
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort(compareStrings);
  return keys.filter((key) => before.get(key) !== after.get(key));
}

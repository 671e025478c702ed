import { compareStrings } from '../../compare.ts';
import { serviceBackends } from '../../model/backends.ts';
import { changedGlobalKeys, changedPolicyKeys } from '../../model/diff-model.ts';
import { SPLIT_MAP, splitKey } from '../../render/split-map.ts';
import { TIMEOUTS_MAP } from '../../render/timeouts-map.ts';
import { CALLER_RUNTIME_KEYS, planCaller, type MapReplaceOp } from './plan-caller.ts';
import type { Model, ServerModel, ServerState, ServiceModel } from '../../model/types.ts';

/**
 * One change to a server of a backend that exists before and after. `remove`
 * carries the server as it was applied: one in maintenance has no new
 * requests to drain.
 */
export type RuntimeOp =
  | { readonly kind: 'add'; readonly backend: string; readonly server: ServerModel; readonly keywords: string }
  | { readonly kind: 'remove'; readonly backend: string; readonly server: ServerModel }
  | { readonly kind: 'addr'; readonly backend: string; readonly server: string; readonly address: string; readonly port: number }
  | { readonly kind: 'weight'; readonly backend: string; readonly server: string; readonly weight: number }
  | { readonly kind: 'state'; readonly backend: string; readonly server: string; readonly state: ServerState }
  | { readonly kind: 'map'; readonly map: string; readonly key: string; readonly value: string }
  /** 0: no limit. */
  | { readonly kind: 'maxconn'; readonly backend: string; readonly server: string; readonly maxconn: number }
  | MapReplaceOp;

export type RuntimeOpKind = RuntimeOp['kind'];

export type ApplyPlan =
  | { readonly kind: 'noop' }
  | { readonly kind: 'runtime'; readonly ops: readonly RuntimeOp[] }
  | { readonly kind: 'reload'; readonly reasons: readonly string[] };

/**
 * Pure: how to go from the applied model to the next one. Through the
 * runtime API when only servers of existing backends changed (added,
 * removed, address, weight, state); by a reload, with the reasons, when
 * anything else did. Ops come in backend order; in each, additions and
 * changes before removals, so a backend never lacks a server it is about to
 * get; all removals last.
 */
export function planApply(applied: Model | undefined, next: Model): ApplyPlan {
  if (!applied) return { kind: 'reload', reasons: ['no model has been applied yet'] };
  const reasons = applied.global === next.global ? [] : changedGlobalKeys(applied.global, next.global).map((key) => `global setting ${key} changed`);
  const services = pairServices(applied.services, next.services);
  for (const name of services.removed) reasons.push(`service ${JSON.stringify(name)} removed`);
  const changes: RuntimeOp[] = [];
  const removals: RuntimeOp[] = [];
  for (const [old, service] of services.pairs) {
    const name = service.name;
    if (!old) {
      reasons.push(`service ${JSON.stringify(name)} added`);
      continue;
    }
    const structural = serviceChange(old, service);
    if (structural) {
      reasons.push(`service ${JSON.stringify(name)}: ${structural}`);
      continue;
    }
    const oldBackends = new Map(serviceBackends(old).map((b) => [b.backend, b]));
    const slots = slotOps(old, service);
    // Slots move first when they move to versions already serving (away from one going down), last when a version just came up.
    const targetsServed = slots.every((op) => op.kind === 'map' && oldBackends.get(op.value)?.servers.some((s) => s.state === 'ready'));
    if (targetsServed) changes.push(...slots);
    for (const { backend, servers, keywords } of serviceBackends(service)) {
      const ops = serverOps(backend, oldBackends.get(backend)?.servers ?? [], servers, keywords);
      changes.push(...ops.changes);
      removals.push(...ops.removals);
    }
    if (!targetsServed) changes.push(...slots);
    changes.push(...policyValueOps(old, service));
  }
  // Path routes follow from the services; composite routes come from their own KV documents.
  // A patched model keeps what a change of instances cannot touch as the same objects.
  if (applied.routes !== next.routes && JSON.stringify(applied.routes) !== JSON.stringify(next.routes)) reasons.push('path routes changed');
  if (applied.composites !== next.composites && JSON.stringify(applied.composites ?? null) !== JSON.stringify(next.composites ?? null)) reasons.push('composite routes changed');
  const caller = applied.caller === next.caller ? { reasons: [], ops: [] } : planCaller(applied, next);
  reasons.push(...caller.reasons);
  if (reasons.length > 0) return { kind: 'reload', reasons: reasons.sort(compareStrings) };
  const ops = [...changes, ...removals, ...caller.ops];
  return ops.length === 0 ? { kind: 'noop' } : { kind: 'runtime', ops };
}

/**
 * The services of the next model with their applied selves (undefined: added), in the next model's
 * order, leaving out the ones that are the same object (the model memo keeps an unchanged service
 * one object: at thousands of services most are); and the names no longer there. Lists that line
 * up name by name, as after a change of instances, are paired without a lookup.
 */
function pairServices(
  before: readonly ServiceModel[],
  after: readonly ServiceModel[],
): { readonly pairs: ReadonlyArray<readonly [ServiceModel | undefined, ServiceModel]>; readonly removed: readonly string[] } {
  const pairs: Array<readonly [ServiceModel | undefined, ServiceModel]> = [];
  const aligned = before.length === after.length && after.every((service, i) => service === before[i] || service.name === before[i]!.name);
  if (aligned) {
    after.forEach((service, i) => service !== before[i] && pairs.push([before[i], service]));
    return { pairs, removed: [] };
  }
  const old = new Map(before.map((service) => [service.name, service]));
  const names = new Set(after.map((service) => service.name));
  for (const service of after) if (old.get(service.name) !== service) pairs.push([old.get(service.name), service]);
  return { pairs, removed: [...old.keys()].filter((name) => !names.has(name)) };
}

/** What makes an existing service need a reload; undefined when only its servers may differ. */
function serviceChange(a: ServiceModel, b: ServiceModel): string | undefined {
  if (a.host !== b.host) return `host ${a.host} became ${b.host}`;
  if (a.backend !== b.backend) return `backend ${a.backend} became ${b.backend}`;
  const versionsBefore = a.versions.backends.map((v) => v.backend).join(' ');
  const versionsAfter = b.versions.backends.map((v) => v.backend).join(' ');
  if (versionsBefore !== versionsAfter) return `version backends [${versionsBefore}] became [${versionsAfter}]`;
  if ((a.versions.slots.length === 0) !== (b.versions.slots.length === 0)) return `versions.split ${b.versions.slots.length === 0 ? 'removed' : 'added'}`;
  if (a.tcp?.bind !== b.tcp?.bind) return `TCP listener ${a.tcp?.bind ?? 'none'} became ${b.tcp?.bind ?? 'none'}`;
  if (a.versions.pinHeader !== b.versions.pinHeader) return `versions.pinHeader ${a.versions.pinHeader ?? 'none'} became ${b.versions.pinHeader ?? 'none'}`;
  // A new share is a map change (slotOps): no reload.
  // A TCP backend has no set-timeout rule: its server timeout reloads.
  const policy = changedPolicyKeys(a, b).filter((key) => !RUNTIME_POLICY_KEYS.has(key) || (key === 'timeouts.server' && b.tcp !== null));
  if (policy.length > 0) return `policy ${policy.join(', ')} changed`;
  return undefined;
}

function serverOps(
  backend: string,
  before: readonly ServerModel[],
  after: readonly ServerModel[],
  keywords: string,
): { changes: RuntimeOp[]; removals: RuntimeOp[] } {
  const old = new Map(before.map((server) => [server.name, server]));
  const current = new Set(after.map((server) => server.name));
  const changes: RuntimeOp[] = [];
  for (const server of after) {
    const was = old.get(server.name);
    if (!was) {
      changes.push({ kind: 'add', backend, server, keywords });
      continue;
    }
    const attributes: RuntimeOp[] = [];
    // By spelling, not value: the config text changes with it, and the op is harmless.
    if (was.address !== server.address || was.port !== server.port) {
      attributes.push({ kind: 'addr', backend, server: server.name, address: server.address, port: server.port });
    }
    if (was.weight !== server.weight) attributes.push({ kind: 'weight', backend, server: server.name, weight: server.weight });
    if (was.state !== server.state) {
      const state: RuntimeOp = { kind: 'state', backend, server: server.name, state: server.state };
      // Out of service before its address moves; into service only once it has moved.
      if (server.state === 'maint') attributes.unshift(state);
      else attributes.push(state);
    }
    changes.push(...attributes);
  }
  const removals: RuntimeOp[] = before.filter((server) => !current.has(server.name)).map((server) => ({ kind: 'remove', backend, server }));
  return { changes, removals };
}

/** Policy keys whose change the runtime API applies (the rendered rules read them from a map). */
const RUNTIME_POLICY_KEYS = new Set<string>(['versions.split', 'timeouts.server', 'circuitBreaker.maxConnsPerInstance', ...CALLER_RUNTIME_KEYS]);

/** `set map` for each slot of the split map that now names another backend. */
function slotOps(before: ServiceModel, after: ServiceModel): RuntimeOp[] {
  const ops: RuntimeOp[] = [];
  after.versions.slots.forEach((backend, slot) => {
    if (before.versions.slots[slot] !== backend) ops.push({ kind: 'map', map: SPLIT_MAP, key: splitKey(after.backend, slot), value: backend });
  });
  return ops;
}

/** Policy values the runtime API changes in place: the server timeout map, and every server's maxconn. */
function policyValueOps(before: ServiceModel, after: ServiceModel): RuntimeOp[] {
  const ops: RuntimeOp[] = [];
  const backends = serviceBackends(after);
  if (before.settings.timeouts.server !== after.settings.timeouts.server && after.tcp === null) {
    for (const { backend } of backends) ops.push({ kind: 'map', map: TIMEOUTS_MAP, key: backend, value: String(after.settings.timeouts.server) });
  }
  const maxconn = after.policy.circuitBreaker?.maxConnsPerInstance ?? 0;
  if ((before.policy.circuitBreaker?.maxConnsPerInstance ?? 0) !== maxconn) {
    for (const { backend, servers } of backends) for (const server of servers) ops.push({ kind: 'maxconn', backend, server: server.name, maxconn });
  }
  return ops;
}

/** How many ops of each kind, for logs and metrics. */
export function countOps(ops: readonly RuntimeOp[]): Partial<Record<RuntimeOpKind, number>> {
  const counts: Partial<Record<RuntimeOpKind, number>> = {};
  for (const op of ops) counts[op.kind] = (counts[op.kind] ?? 0) + 1;
  return counts;
}

export interface LivePlanInput {
  /** Whether an HAProxy is running (none: it is started, which is a reload in all but name). */
  readonly running: boolean;
  /** The model the live config was rendered from, when known. */
  readonly applied: Model | undefined;
  /** The model of the files being applied; undefined for a hand-written config. */
  readonly next: Model | undefined;
}

/**
 * Pure: the plan for files whose hash differs from the live ones. Runtime
 * changes need a running HAProxy and both models; a model that did not
 * change while the files did means new templates or assets: a reload.
 */
export function planForLive({ running, applied, next }: LivePlanInput): ApplyPlan {
  if (!running) return { kind: 'reload', reasons: ['HAProxy is not running'] };
  if (!next) return { kind: 'reload', reasons: ['the configuration comes without a model'] };
  if (!applied) return { kind: 'reload', reasons: ['the model HAProxy runs is not known (adopted from an earlier ipx, or never applied)'] };
  const plan = planApply(applied, next);
  if (plan.kind !== 'noop') return plan;
  return { kind: 'reload', reasons: ['the rendered files changed but the model did not (new templates or assets)'] };
}

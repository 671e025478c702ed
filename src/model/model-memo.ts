/**
 * What buildModel may reuse from its previous call: at thousands of services one
 * change touches one service, yet building every service again costs hundreds of
 * milliseconds (profiled: policy merge, server naming and sorting, per service).
 *
 * A service is rebuilt only when its snapshot entry is a new object (the watcher
 * keeps an unchanged service's entry, see consul/assemble.ts) or when anything it
 * reads besides its entry changed: the config object, or the shared policy layers
 * (KV and static-upstream policies). Reused results are the same objects, so
 * later stages (the planner, the change summary, the render) skip them by identity.
 * The memo changes no result: buildModel with or without it gives deep-equal models.
 */
import type { ServiceEntry } from '../consul/snapshot.ts';
import type { LastBuild } from './model-patch.ts';
import type { SharedLayers } from './policy/resolve.ts';
import type { Rejection, ServiceModel } from './types.ts';

/** A service as built before failover and TCP ports, which depend on the other services. */
export type UnlinkedService = Omit<ServiceModel, 'failover' | 'tcp'> & { readonly failover: null; readonly tcp: null };

export interface ServiceResult {
  readonly entry: ServiceEntry;
  readonly shared: SharedLayers;
  readonly unlinked: UnlinkedService;
  readonly rejections: readonly Rejection[];
  linked?: ServiceModel;
}

export interface ModelMemo {
  /** The shared layers of the last call, when built from the same config, KV and static policies. */
  shared(config: object, kv: object, staticPolicies: string, build: () => SharedLayers): SharedLayers;
  /** The service as built last time from this entry and these shared layers, or built now. */
  service(entry: ServiceEntry, shared: SharedLayers, build: () => { unlinked: UnlinkedService; rejections: readonly Rejection[] }): ServiceResult;
  /**
   * The linked service of last time when nothing about it changed, else a new one: made only
   * then, as copying thousands of unchanged services on every change costs more than the rest.
   */
  linked(result: ServiceResult, failover: string | null, tcp: ServiceModel['tcp']): ServiceModel;
  /** Forgets services not built since the last sweep. */
  sweep(): void;
  /** A changed service built again by a patch (model-patch.ts), which visits no other and sweeps nothing. */
  replace(entry: ServiceEntry, shared: SharedLayers, build: () => { unlinked: UnlinkedService; rejections: readonly Rejection[] }): ServiceResult;
  /** The last build, for the next one to patch; never kept by NO_MEMO. */
  last: (LastBuild & { readonly shared: SharedLayers }) | undefined;
}

export function createModelMemo(): ModelMemo {
  let last: { config: object; kv: object; statics: string; shared: SharedLayers } | undefined;
  let services = new Map<string, ServiceResult>();
  let seen = new Map<string, ServiceResult>();
  return {
    shared(config, kv, statics, build) {
      if (last && last.config === config && last.kv === kv && last.statics === statics) return last.shared;
      last = { config, kv, statics, shared: build() };
      return last.shared;
    },
    service(entry, shared, build) {
      const previous = services.get(entry.name);
      const result = previous && previous.entry === entry && previous.shared === shared ? previous : { entry, shared, ...build() };
      seen.set(entry.name, result);
      return result;
    },
    linked(result, failover, tcp) {
      const before = result.linked;
      if (before && before.failover === failover && sameTcp(before.tcp, tcp) && hasUnlinked(before, result.unlinked)) return before;
      result.linked = link(result.unlinked, failover, tcp);
      return result.linked;
    },
    sweep() {
      services = seen;
      seen = new Map();
    },
    replace(entry, shared, build) {
      const result = { entry, shared, ...build() };
      services.set(entry.name, result);
      return result;
    },
    last: undefined,
  };
}

function link(unlinked: UnlinkedService, failover: string | null, tcp: ServiceModel['tcp']): ServiceModel {
  return { ...unlinked, failover, tcp };
}

function sameTcp(a: ServiceModel['tcp'], b: ServiceModel['tcp']): boolean {
  return a === b || (a !== null && b !== null && JSON.stringify(a) === JSON.stringify(b));
}

/** `linked` was made from `unlinked` (its fields are the same objects). */
function hasUnlinked(linked: ServiceModel, unlinked: UnlinkedService): boolean {
  return linked.servers === unlinked.servers && linked.policy === unlinked.policy && linked.versions === unlinked.versions && linked.settings === unlinked.settings;
}

/** Builds everything every time (one-shot callers: render --dry-run, explain, tests). */
export const NO_MEMO: ModelMemo = Object.freeze({
  shared: (_config: object, _kv: object, _statics: string, build: () => SharedLayers) => build(),
  service: (entry: ServiceEntry, shared: SharedLayers, build: () => { unlinked: UnlinkedService; rejections: readonly Rejection[] }) => ({ entry, shared, ...build() }),
  linked: (result: ServiceResult, failover: string | null, tcp: ServiceModel['tcp']) => link(result.unlinked, failover, tcp),
  sweep: () => {},
  replace: (entry: ServiceEntry, shared: SharedLayers, build: () => { unlinked: UnlinkedService; rejections: readonly Rejection[] }) => ({ entry, shared, ...build() }),
  get last() {
    return undefined;
  },
  set last(_ignored) {},
});

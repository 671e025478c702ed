import { buildService } from './build-service.ts';
import { buildComposites } from './composites/build.ts';
import { compareStrings } from '../compare.ts';
import { exposedServices } from './gateway/exposure.ts';
import { buildCallerModel } from './identity/caller-model.ts';
import { limitKv, limitServices } from './limits.ts';
import { backendSettings } from './policy/backend-settings.ts';
import { prepareSharedLayers, resolveServicePolicy, type SharedLayers } from './policy/resolve.ts';
import { acceptServiceNames } from './service-names.ts';
import { buildRoutes, resolveFailover } from './routes.ts';
import { staticServices } from './static-upstreams.ts';
import { assignTcpPorts } from './tcp-services.ts';
import { buildVersions, NO_VERSIONS } from './versions.ts';
import { NO_MEMO, type ModelMemo, type UnlinkedService } from './model-memo.ts';
import { patchModel, sortRejections } from './model-patch.ts';
import type { GlobalModel, Model, Rejection, ServiceModel } from './types.ts';
import type { Config } from '../config/schema.ts';
import type { ServiceEntry, Snapshot } from '../consul/snapshot.ts';

export interface BuildModelInput {
  readonly snapshot: Snapshot;
  readonly config: Pick<Config, 'consul' | 'haproxy' | 'limits' | 'listen' | 'log' | 'policies' | 'routing' | 'static' | 'stats' | 'identity' | 'access' | 'rateLimit' | 'gateway'> & Partial<Pick<Config, 'aggregator' | 'composites'>>;
  /** What the previous call built, to reuse for services whose inputs are the same objects (model-memo.ts). */
  readonly memo?: ModelMemo;
}

/**
 * Pure: the same snapshot and config give a deep-equal model whatever the
 * order of the input arrays. Consul data is untrusted (DESIGN.md invariant 1):
 * what cannot be expressed safely lands in `rejections`, the rest still applies.
 */
export function buildModel({ snapshot, config, memo = NO_MEMO }: BuildModelInput): Model {
  const last = memo.last;
  const patched =
    last &&
    patchModel({
      last,
      snapshot,
      config,
      rebuild: (entry) => memo.replace(entry, last.shared, () => buildUnlinked(entry, last.shared, config)),
      link: (result, before) => memo.linked(result, before.failover, before.tcp),
    });
  if (patched) {
    memo.last = patched;
    return patched.model;
  }
  const { limits } = config;
  const limited = limitServices(snapshot.services, snapshot.unwatched ?? [], limits);
  const exposed = exposedServices(limited.within, config.gateway);
  const statics = staticServices(config.static, exposed.services);
  const ordered = [...exposed.services, ...statics.services].sort(compareServices);
  const { accepted, rejections: nameRejections } = acceptServiceNames(ordered);
  const kv = limitKv(snapshot.kv, limits);
  // A static upstream's policy is its file-service layer; policies.services.<name>, when also set, replaces it.
  const policies = { ...config.policies, services: { ...statics.policies, ...config.policies.services } };
  const shared = memo.shared(config, snapshot.kv, JSON.stringify(statics.policies), () =>
    prepareSharedLayers({ policies, balance: config.routing.balance, kvPrefix: config.consul.kvPrefix, kv: kv.accepted, gateway: config.gateway.name }),
  );
  const rejections: Rejection[] = [...limited.rejections, ...exposed.rejections, ...statics.rejections, ...nameRejections, ...kv.rejections, ...shared.rejections];
  const results = accepted.map((service) => memo.service(service, shared, () => buildUnlinked(service, shared, config)));
  memo.sweep();
  const unlinked = results.map((result) => result.unlinked);
  for (const result of results) rejections.push(...result.rejections);
  const ports = assignTcpPorts(unlinked, config);
  rejections.push(...ports.rejections);
  const services: ServiceModel[] = results.map((result) => {
    const service = result.unlinked;
    const { backend, rejection } = resolveFailover(service, unlinked);
    if (rejection) rejections.push(rejection);
    return memo.linked(result, backend, ports.tcp.get(service.name) ?? null);
  });
  const routes = buildRoutes(services);
  rejections.push(...routes.rejections);
  const caller = buildCallerModel(config, services, kv.accepted, snapshot.intentions, limited.within);
  rejections.push(...caller.rejections);
  const composites = buildComposites(config, kv.accepted);
  rejections.push(...composites.rejections);
  sortRejections(rejections);
  const model: Model = { global: buildGlobal(config), services, routes: routes.routes, rejections, caller: caller.caller, ...(composites.model ? { composites: composites.model } : {}) };
  if (memo !== NO_MEMO) {
    const uniqueNames = new Set(snapshot.services.map((service) => service.name)).size === snapshot.services.length;
    memo.last = { snapshot, config, model, results, positions: new Map(results.map((result, i) => [result.entry.name, i])), uniqueNames, shared };
  }
  return model;
}

function buildUnlinked(service: ServiceEntry, shared: SharedLayers, config: BuildModelInput['config']): { unlinked: UnlinkedService; rejections: Rejection[] } {
  const built = buildService({ service, domain: config.routing.domain, passingOnly: config.routing.passingOnly, limits: config.limits });
  const { policy, origins, rejections: policyRejections } = resolveServicePolicy(shared, service.name, service.instances);
  const settings = backendSettings(policy);
  // Versions pick a backend per HTTP request: a TCP service has none.
  const versions = policy.protocol === 'tcp' ? NO_VERSIONS : buildVersions(built.service.backend, built.service.servers, policy, settings);
  return {
    unlinked: { ...built.service, policy, policyOrigins: origins, settings, versions, failover: null, tcp: null },
    rejections: [...built.rejections, ...policyRejections],
  };
}

function buildGlobal(config: BuildModelInput['config']): GlobalModel {
  const runDir = config.haproxy.runDir.replace(/\/+$/, '');
  return {
    maxconn: config.haproxy.maxconn,
    threads: config.haproxy.threads,
    adminSocket: `${runDir}/admin.sock`,
    socketGroup: config.haproxy.socketGroup || null,
    serverStateFile: `${runDir}/server-state`,
    hardStopAfterMs: config.haproxy.hardStopAfter,
    httpBind: config.listen.http,
    statsBind: config.listen.stats,
    domain: config.routing.domain,
    accessLog: config.log.access === 'stdout' ? config.listen.accessLog : null,
    statsAuth: config.stats.user ? { user: config.stats.user, passwordHash: config.stats.passwordHash } : null,
  };
}

/**
 * By lower-cased name (Host order), then by name, so that of names equal but
 * for case the same one wins every time. A name listed twice (only a broken or
 * hostile source does that) is ordered by its instances, for the same reason.
 */
function compareServices(a: ServiceEntry, b: ServiceEntry): number {
  return (
    compareStrings(a.name.toLowerCase(), b.name.toLowerCase()) ||
    compareStrings(a.name, b.name) ||
    compareStrings(instancesKey(a), instancesKey(b))
  );
}

function instancesKey(service: ServiceEntry): string {
  const keys = service.instances.map((i) => JSON.stringify([i.node, i.id, i.address, String(i.port), i.status, String(i.weight), i.meta, i.tags]));
  return JSON.stringify(keys.sort(compareStrings));
}

/**
 * The model of a snapshot that differs from the last one only in the instances
 * of a few services, made from the last model: those services are built again
 * and put in their places, and everything else is kept.
 *
 * At thousands of services a full build, even with every unchanged service
 * reused (model-memo.ts), walks every service a dozen times (limits, exposure,
 * names, TCP ports, failover, routes, caller rules): profiled at 5,000
 * services, 14 ms alone and 25-45 ms in a daemon busy with Consul's answers, on
 * the path of every instance change to HAProxy. Those walks read only names
 * and policies, so while the changed services keep their names, their exposure
 * and their policy, their result is the last one.
 *
 * Anything else falls back to the full build: another config, KV, intentions
 * or unwatched list, services added, removed or renamed, a changed service
 * that was not routed, a policy or exposure that changed (instance meta can
 * change either), a name listed twice, and identity.sourceAddress (its caller
 * map is made of every instance's address). The result is deep-equal to a full
 * build of the same snapshot (test/unit/model-memo.test.ts).
 */
import { isDeepStrictEqual } from 'node:util';
import { compareTuples } from '../compare.ts';
import { exposedServices } from './gateway/exposure.ts';
import type { ServiceResult } from './model-memo.ts';
import type { Model, Rejection } from './types.ts';
import type { Config } from '../config/schema.ts';
import type { ServiceEntry, Snapshot } from '../consul/snapshot.ts';

/** Past this many changed services a full build is as quick. */
const MAX_CHANGED = 64;

/** What a build leaves for the next one to patch. */
export interface LastBuild {
  readonly snapshot: Snapshot;
  readonly config: object;
  readonly model: Model;
  /** In model order: the results model.services were linked from. */
  readonly results: readonly ServiceResult[];
  /** Model position by service name (kept as is by patches, which never move a service). */
  readonly positions: ReadonlyMap<string, number>;
  /** No name appears twice in the snapshot (which entry is routed then depends on the instances). */
  readonly uniqueNames: boolean;
}

export interface PatchInput<L extends LastBuild> {
  /** The last build, with whatever else its keeper stores beside it (kept as is). */
  readonly last: L;
  readonly snapshot: Snapshot;
  readonly config: PatchConfig;
  /** The service built again (through the memo) from its new entry. */
  rebuild(entry: ServiceEntry): ServiceResult;
  /** The result linked with the failover and TCP listener the service had. */
  link(result: ServiceResult, before: Model['services'][number]): Model['services'][number];
}

type PatchConfig = object & { readonly gateway: Pick<Config['gateway'], 'name' | 'exposeAll'>; readonly identity: Pick<Config['identity'], 'sourceAddress'> };

/** Pure but for `rebuild`: the patched model and what it leaves, or undefined when only a full build will do. */
export function patchModel<L extends LastBuild>({ last, snapshot, config, rebuild, link }: PatchInput<L>): L | undefined {
  if (config !== last.config || config.identity.sourceAddress || !last.uniqueNames) return undefined;
  const previous = last.snapshot;
  if (snapshot.kv !== previous.kv || snapshot.intentions !== previous.intentions || !isDeepStrictEqual(snapshot.unwatched, previous.unwatched)) return undefined;
  const before = previous.services;
  const after = snapshot.services;
  if (before.length !== after.length) return undefined;
  const changed: number[] = [];
  for (let i = 0; i < after.length; i++) {
    if (after[i] === before[i]) continue;
    if ((after[i] as ServiceEntry).name !== (before[i] as ServiceEntry).name || changed.length === MAX_CHANGED) return undefined;
    changed.push(i);
  }
  if (changed.length === 0) return { ...last, snapshot };

  const services = [...last.model.services];
  const results = [...last.results];
  const gone = new Set<Rejection>();
  const added: Rejection[] = [];
  for (const i of changed) {
    const old = before[i] as ServiceEntry;
    const entry = after[i] as ServiceEntry;
    const at = last.positions.get(entry.name);
    const was = at === undefined ? undefined : results[at];
    if (at === undefined || was?.entry !== old || !sameExposure(old, entry, config.gateway)) return undefined;
    const result = rebuild(entry);
    if (result.unlinked.backend !== was.unlinked.backend || !isDeepStrictEqual(result.unlinked.policy, was.unlinked.policy)) return undefined;
    for (const rejection of was.rejections) gone.add(rejection);
    added.push(...result.rejections);
    results[at] = result;
    services[at] = link(result, services[at] as Model['services'][number]);
  }
  const rejections = gone.size === 0 && added.length === 0 ? last.model.rejections : sortRejections([...last.model.rejections.filter((r) => !gone.has(r)), ...added]);
  return { ...last, snapshot, model: { ...last.model, services, rejections }, results };
}

export function sortRejections(rejections: Rejection[]): Rejection[] {
  return rejections.sort((a, b) => compareTuples([a.subject, a.reason], [b.subject, b.reason]));
}

/** The entry is routed by this gateway, with the same rejections, before and after. */
function sameExposure(before: ServiceEntry, after: ServiceEntry, gateway: PatchConfig['gateway']): boolean {
  if (gateway.name === '') return true;
  const was = exposedServices([before], gateway);
  const is = exposedServices([after], gateway);
  return was.services.length === is.services.length && isDeepStrictEqual(was.rejections, is.rejections);
}

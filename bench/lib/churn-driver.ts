/**
 * The churn: instance registrations, deregistrations and health flips at a
 * steady rate, and a whole service added or removed every few seconds; each
 * Consul write is stamped, and what the backends and the load saw afterwards
 * turns into a propagation time per proxy.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { deregisterService, serviceCheckId, updateCheck } from '../../src/consul/index.ts';
import { DOMAIN, registerInstance, type Stack } from './stack.ts';
import type { BackendSeen } from './backends.ts';
import type { LoadResult, LoadRun } from './load.ts';

export type ChangeKind = 'instance-added' | 'instance-removed' | 'instance-critical' | 'instance-passing' | 'service-added' | 'service-removed';

export interface Change {
  readonly kind: ChangeKind;
  /** Instance id or service name. */
  readonly subject: string;
  /** Date.now() just before the Consul write. */
  readonly at: number;
  /** Per proxy: ms from the write to the first (added) or last (removed) request seen; absent when not observed. */
  readonly latencyMs: Record<string, number>;
  /** Per proxy, why there is no latency (never reached, still routed when the window closed). */
  readonly unobserved: Record<string, string>;
  /** Removals, per proxy: requests that reached the instance after the write… */
  readonly afterRemoval: Record<string, number>;
  /** …and more than LATE_AFTER_MS after it. */
  readonly late: Record<string, number>;
}

export interface ChurnOptions {
  readonly stack: Stack;
  readonly load: LoadRun;
  readonly vias: readonly string[];
  readonly services: readonly string[];
  readonly instances: number;
  /** Instance changes per second (register, critical, deregister, passing in turn). */
  readonly rate: number;
  readonly structuralEveryMs: number;
  /** Names of the services the structural changes add, in order (the DNS peer declares them up front). */
  readonly extras: readonly string[];
  /** The instances registered before the churn starts (see seedInstances). */
  readonly seeded: readonly SeededInstance[];
}

export interface SeededInstance {
  readonly id: string;
  readonly service: string;
}

/** Registers `count` passing instances of each service, each a backend of its own. */
export async function seedInstances(stack: Stack, services: readonly string[], count: number): Promise<SeededInstance[]> {
  const seeded: SeededInstance[] = [];
  for (const service of services) {
    for (let i = 1; i <= count; i++) {
      await stack.addInstance(service, `${service}-i${i}`);
      seeded.push({ id: `${service}-i${i}`, service });
    }
  }
  return seeded;
}

/** A removal observed later than this counts its requests as late: they would have failed had the instance stopped then. */
export const LATE_AFTER_MS = 1000;
/** An instance is flipped back to passing only after being critical this long. */
const CRITICAL_HOLD_MS = 5000;
/** A request this close to the end of a window means the instance was still routed. */
const STILL_ROUTED_MS = 500;
/** Time for the load to reach a probe before the service it probes is registered. */
const PROBE_LEAD_MS = 500;

interface Instance {
  readonly id: string;
  readonly service: string;
  state: 'passing' | 'critical' | 'gone';
  since: number;
  /** The change waiting for this instance's first request (added or passing again). */
  awaitingFirst: Change | undefined;
  /** The change waiting for its last request (critical). */
  awaitingLast: Change | undefined;
}

export interface Churn {
  /** Runs the churn for `durationMs`, then stops writing. */
  run(durationMs: number): Promise<void>;
  /** After the load stopped: every change with what could be measured. */
  measure(load: LoadResult, loadStoppedAt: number): Promise<Change[]>;
}

export function createChurn(options: ChurnOptions): Churn {
  const { stack, vias } = options;
  const instances: Instance[] = options.seeded.map(({ id, service }) => ({ id, service, state: 'passing', since: Date.now(), awaitingFirst: undefined, awaitingLast: undefined }));
  const changes: Change[] = [];
  const extrasLive = new Map<string, string[]>();
  let sequence = 0;

  const change = (kind: ChangeKind, subject: string): Change => {
    const entry: Change = { kind, subject, at: Date.now(), latencyMs: {}, unobserved: {}, afterRemoval: {}, late: {} };
    changes.push(entry);
    return entry;
  };

  /** Records first-request times of a pending added/passing change from a backend read. */
  const settleFirst = (instance: Instance, seen: BackendSeen): void => {
    const pending = instance.awaitingFirst;
    if (!pending) return;
    for (const via of vias) {
      const first = seen[via]?.first;
      if (first !== undefined && first >= pending.at && pending.latencyMs[via] === undefined) pending.latencyMs[via] = first - pending.at;
    }
    if (vias.every((via) => pending.latencyMs[via] !== undefined)) instance.awaitingFirst = undefined;
  };

  /** Last-request times of a removal, read at `windowEnd` (a request near it means still routed). */
  const settleLast = (pending: Change, seen: BackendSeen, windowEnd: number): void => {
    for (const via of vias) {
      const last = seen[via]?.last;
      if (last === undefined) pending.unobserved[via] = 'never reached';
      else if (last > windowEnd - STILL_ROUTED_MS) pending.unobserved[via] = `still routed after ${((windowEnd - pending.at) / 1000).toFixed(1)} s`;
      else pending.latencyMs[via] = Math.max(0, last - pending.at);
      pending.afterRemoval[via] = seen[via]?.afterRemoval ?? 0;
      pending.late[via] = seen[via]?.late ?? 0;
    }
  };

  /**
   * The instance passing for longest, among those every proxy already routes to,
   * in a service where another such instance stays: the churn never leaves a proxy
   * without a known instance, so a non-2xx means a change was applied badly.
   */
  async function settledVictim(): Promise<Instance | undefined> {
    const passing = instances.filter((i) => i.state === 'passing');
    for (const instance of passing) if (instance.awaitingFirst) settleFirst(instance, await stack.backends.read(instance.id));
    const settled = passing.filter((i) => !i.awaitingFirst).sort((a, b) => a.since - b.since);
    return settled.find((victim) => settled.some((other) => other !== victim && other.service === victim.service));
  }

  async function addInstance(): Promise<void> {
    const count = (service: string) => instances.filter((i) => i.service === service && i.state !== 'gone').length;
    const service = [...options.services].sort((a, b) => count(a) - count(b))[0]!;
    const id = `${service}-n${++sequence}`;
    const port = await stack.backends.start(id);
    const awaitingFirst = change('instance-added', id);
    await registerInstance(stack.client, service, id, port);
    instances.push({ id, service, state: 'passing', since: Date.now(), awaitingFirst, awaitingLast: undefined });
  }

  async function removeInstance(): Promise<void> {
    const victim = await settledVictim();
    if (!victim) return;
    const removal = change('instance-removed', victim.id);
    await stack.backends.markRemoved(victim.id, removal.at, LATE_AFTER_MS);
    await deregisterService(stack.client, victim.id);
    victim.state = 'gone';
    victim.since = Date.now();
  }

  async function makeCritical(): Promise<void> {
    const victim = await settledVictim();
    if (!victim) return;
    victim.awaitingLast = change('instance-critical', victim.id);
    await stack.backends.markRemoved(victim.id, victim.awaitingLast.at, LATE_AFTER_MS);
    await updateCheck(stack.client, serviceCheckId(victim.id), 'critical', 'bench: churn');
    victim.state = 'critical';
    victim.since = Date.now();
  }

  async function makePassing(): Promise<void> {
    const instance = instances.find((i) => i.state === 'critical' && Date.now() - i.since >= CRITICAL_HOLD_MS);
    if (!instance) return;
    const before = await stack.backends.rearm(instance.id);
    const critical = instance.awaitingLast;
    if (critical) settleLast(critical, before, Date.now());
    instance.awaitingLast = undefined;
    const passing = change('instance-passing', instance.id);
    // Where the critical state never took effect, a "first request" would mean nothing.
    for (const via of vias) if (critical?.unobserved[via]) passing.unobserved[via] = 'was never removed';
    instance.awaitingFirst = passing;
    await updateCheck(stack.client, serviceCheckId(instance.id), 'passing', 'bench: churn');
    instance.state = 'passing';
    instance.since = Date.now();
  }

  async function structuralChange(): Promise<void> {
    const [live] = extrasLive.keys();
    if (live) {
      const ids = extrasLive.get(live)!;
      extrasLive.delete(live);
      change('service-removed', live);
      for (const id of ids) await deregisterService(stack.client, id);
      return;
    }
    const added = changes.filter((c) => c.kind === 'service-added').length;
    const name = options.extras[added];
    if (!name) return;
    // The load probes it before it exists (404/503), so its first 200 is timed from the write;
    // the one removed last stays probed too, so a slow removal is still seen.
    await options.load.probe([name, ...options.extras.slice(Math.max(0, added - 1), added)].map((service) => `${service}.${DOMAIN}`));
    await sleep(PROBE_LEAD_MS);
    const ids = Array.from({ length: options.instances }, (_, i) => `${name}-i${i + 1}`);
    const ports = await Promise.all(ids.map((id) => stack.backends.start(id)));
    change('service-added', name);
    for (const [i, id] of ids.entries()) await registerInstance(stack.client, name, id, ports[i]!);
    extrasLive.set(name, ids);
  }

  /**
   * Runs `step` about every `everyMs` (first after `firstAfterMs`) until `end`. Each gap is
   * drawn between half and one and a half times `everyMs`: at a fixed period the writes
   * would lock onto the phase of HAProxy's 1 s resolver timer and bias the DNS peer's times.
   */
  async function every(everyMs: number, firstAfterMs: number, end: number, step: (n: number) => Promise<void>): Promise<void> {
    let next = Date.now() + firstAfterMs;
    for (let n = 0; next < end; n++) {
      await sleep(Math.max(0, next - Date.now()));
      await step(n);
      next += everyMs * (0.5 + Math.random());
    }
  }

  const OPS = [addInstance, makeCritical, removeInstance, makePassing] as const;

  return {
    run: async (durationMs) => {
      const end = Date.now() + durationMs;
      await Promise.all([
        every(1000 / options.rate, 0, end, (n) => OPS[n % OPS.length]!()),
        every(options.structuralEveryMs, options.structuralEveryMs / 2, end, () => structuralChange()),
      ]);
    },
    measure: async (load, loadStoppedAt) => {
      for (const instance of instances) {
        const seen = await stack.backends.read(instance.id);
        settleFirst(instance, seen);
        if (instance.awaitingLast) settleLast(instance.awaitingLast, seen, loadStoppedAt);
      }
      for (const entry of changes) {
        if (entry.kind === 'instance-removed') settleLast(entry, await stack.backends.read(entry.subject), loadStoppedAt);
        if (entry.kind === 'instance-added' || entry.kind === 'instance-passing') {
          for (const via of vias) if (entry.latencyMs[via] === undefined) entry.unobserved[via] ??= 'never reached';
        }
        if (entry.kind === 'service-added' || entry.kind === 'service-removed') {
          for (const via of vias) {
            const seen = load.vias[via]?.probes[`${entry.subject}.${DOMAIN}`];
            const time = entry.kind === 'service-added' ? seen?.first200 : seen?.last200;
            if (time === undefined) entry.unobserved[via] = entry.kind === 'service-added' ? 'no 200 seen' : 'never answered 200';
            else if (entry.kind === 'service-removed' && time > loadStoppedAt - STILL_ROUTED_MS) entry.unobserved[via] = 'still answering 200 at the end';
            else entry.latencyMs[via] = Math.max(0, time - entry.at);
          }
        }
      }
      return changes;
    },
  };
}

import type { Model } from '../model/index.ts';

export interface GuardSettings {
  /** Hold back a change that removes more than this share of all routable instances (0–1). */
  readonly maxDropShare: number;
  /** ...and at least this many: a small service can always scale to zero. */
  readonly minDrop: number;
  /** Apply a held change anyway once it has persisted this long (ms). */
  readonly holdFor: number;
}

export interface DropAssessment {
  /** Routable instances in the applied model. */
  readonly total: number;
  /** Of those, how many the next model routes to fewer of (per service, net of new instances). */
  readonly dropped: number;
  readonly exceeds: boolean;
}

// An unchanged service keeps its servers array from one model to the next (model/model-memo.ts):
// counted once, not 50,000 servers again on every change at thousands of services.
const readyCounts = new WeakMap<Model['services'][number]['servers'], number>();

/** How many of these servers take traffic. */
function countReady(servers: Model['services'][number]['servers']): number {
  let count = readyCounts.get(servers);
  if (count === undefined) {
    count = servers.filter((server) => server.state === 'ready').length;
    readyCounts.set(servers, count);
  }
  return count;
}

const readyTotals = new WeakMap<Model, number>();

/** Routable instances of a model, counted once per model. */
export function totalReady(model: Model): number {
  let total = readyTotals.get(model);
  if (total === undefined) {
    total = model.services.reduce((sum, service) => sum + countReady(service.servers), 0);
    readyTotals.set(model, total);
  }
  return total;
}

/**
 * The backends of the services that are not the same objects in both models
 * (the model memo keeps an unchanged service the same object): the only ones whose
 * count can differ. Undefined when the lists do not line up name by name.
 */
function touchedBackends(applied: Model, next: Model): Set<string> | undefined {
  const before = applied.services;
  const after = next.services;
  if (before.length !== after.length) return undefined;
  const touched = new Set<string>();
  for (let i = 0; i < before.length; i++) {
    const was = before[i]!;
    const is = after[i]!;
    if (was === is) continue;
    if (was.name !== is.name) return undefined;
    touched.add(was.backend).add(is.backend);
  }
  return touched;
}

/** How many instances take traffic, by backend (of the backends in `only`, when given). */
function routableCounts(model: Model, only: ReadonlySet<string> | undefined): Map<string, number> {
  const counts = new Map<string, number>();
  for (const service of model.services) {
    if (only && !only.has(service.backend)) continue;
    counts.set(service.backend, (counts.get(service.backend) ?? 0) + countReady(service.servers));
  }
  return counts;
}

function sum(counts: Iterable<number>): number {
  let total = 0;
  for (const count of counts) total += count;
  return total;
}

/** Pure; at thousands of services it counts only the backends a change touched. */
export function assessDrop(applied: Model, next: Model, settings: GuardSettings): DropAssessment {
  const touched = touchedBackends(applied, next);
  const total = totalReady(applied);
  let dropped = 0;
  if (touched?.size !== 0) {
    const after = routableCounts(next, touched);
    const before = routableCounts(applied, touched);
    for (const [backend, count] of before) dropped += Math.max(0, count - (after.get(backend) ?? 0));
    // The next model's total follows from the backends touched: it is the applied one next time.
    if (touched && !readyTotals.has(next)) readyTotals.set(next, total - sum(before.values()) + sum(after.values()));
  } else readyTotals.set(next, total);
  const exceeds = dropped >= settings.minDrop && dropped > settings.maxDropShare * total;
  return { total, dropped, exceeds };
}

export type GuardVerdict =
  | { readonly apply: true; readonly confirmed?: boolean }
  | { readonly apply: false; readonly assessment: DropAssessment; readonly heldSince: number; readonly releaseAt: number };

export interface GuardStatus {
  readonly held: boolean;
  readonly heldSince?: string;
  readonly releaseAt?: string;
  readonly dropped?: number;
  readonly total?: number;
}

/**
 * DESIGN.md invariant 3: an implausibly large drop (a wrong ACL token that
 * makes the catalog look empty, a pipeline deregistering everything) is held
 * back until it has persisted for `holdFor` or an operator confirms it. A
 * change that stops exceeding the limit clears the hold.
 */
export class MassDropGuard {
  private heldSince: number | undefined;
  private last: DropAssessment | undefined;
  private confirmed = false;

  constructor(
    private readonly settings: GuardSettings,
    private readonly now: () => number = Date.now,
  ) {}

  evaluate(applied: Model | undefined, next: Model): GuardVerdict {
    const assessment = applied ? assessDrop(applied, next, this.settings) : undefined;
    if (!assessment?.exceeds) {
      this.clear();
      return { apply: true };
    }
    const now = this.now();
    this.heldSince ??= now;
    this.last = assessment;
    const releaseAt = this.heldSince + this.settings.holdFor;
    if (this.confirmed || now >= releaseAt) {
      const confirmed = this.confirmed;
      this.clear();
      return { apply: true, confirmed };
    }
    return { apply: false, assessment, heldSince: this.heldSince, releaseAt };
  }

  /** An operator says the drop is real: the next evaluation applies it. Returns whether anything was held. */
  confirm(): boolean {
    if (this.heldSince === undefined) return false;
    this.confirmed = true;
    return true;
  }

  status(): GuardStatus {
    if (this.heldSince === undefined || !this.last) return { held: false };
    return {
      held: true,
      heldSince: new Date(this.heldSince).toISOString(),
      releaseAt: new Date(this.heldSince + this.settings.holdFor).toISOString(),
      dropped: this.last.dropped,
      total: this.last.total,
    };
  }

  private clear(): void {
    this.heldSince = undefined;
    this.last = undefined;
    this.confirmed = false;
  }
}

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
export function countReady(servers: Model['services'][number]['servers']): number {
  let count = readyCounts.get(servers);
  if (count === undefined) {
    count = servers.filter((server) => server.state === 'ready').length;
    readyCounts.set(servers, count);
  }
  return count;
}

/** How many instances take traffic, by backend. */
function routableCounts(model: Model): Map<string, number> {
  const counts = new Map<string, number>();
  for (const service of model.services) counts.set(service.backend, (counts.get(service.backend) ?? 0) + countReady(service.servers));
  return counts;
}

/**
 * Pure: how much of the fleet the next model takes away, and whether that is implausible.
 * A service counts what it loses net of what it gains: instances replaced by as many new
 * routable ones in the same change (a rolling deploy that lands in one snapshot, or the
 * writes a Consul cluster held back during a leader election) are not a drop.
 */
export function assessDrop(applied: Model, next: Model, settings: GuardSettings): DropAssessment {
  const after = routableCounts(next);
  let total = 0;
  let dropped = 0;
  for (const [backend, before] of routableCounts(applied)) {
    total += before;
    dropped += Math.max(0, before - (after.get(backend) ?? 0));
  }
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

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildModel } from '../../src/model/index.ts';
import { MassDropGuard, assessDrop, totalReady } from '../../src/runner/mass-drop-guard.ts';
import { config, instance, service, snapshot } from '../helpers/model-fakes.ts';
import type { HealthStatus } from '../../src/consul/snapshot.ts';

const settings = { maxDropShare: 0.5, minDrop: 3, holdFor: 60_000 };

/** A model with `counts[name]` passing instances per service (and `down` of them critical). */
function fleet(counts: Record<string, number>, down: Record<string, number> = {}) {
  const services = Object.entries(counts).map(([name, n]) =>
    service(
      name,
      Array.from({ length: n }, (_, i) =>
        instance({ id: `${name}-${i}`, address: `10.0.${name.length}.${i + 1}`, status: (i < (down[name] ?? 0) ? 'critical' : 'passing') as HealthStatus }),
      ),
    ),
  );
  return buildModel({ snapshot: snapshot(...services), config: config() });
}

/** Every backend's servers taking traffic, counted from scratch. */
function readyByBackend(model: ReturnType<typeof fleet>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const service of model.services) counts.set(service.backend, (counts.get(service.backend) ?? 0) + service.servers.filter((s) => s.state === 'ready').length);
  return counts;
}

describe('assessDrop', () => {
  it.each([
    { name: 'nothing removed', next: fleet({ a: 4, b: 4 }), dropped: 0, exceeds: false },
    { name: 'half removed is not more than half', next: fleet({ a: 4 }), dropped: 4, exceeds: false },
    { name: 'most removed', next: fleet({ a: 1 }), dropped: 7, exceeds: true },
    { name: 'everything gone (empty catalog)', next: fleet({}), dropped: 8, exceeds: true },
    { name: 'most turned critical', next: fleet({ a: 4, b: 4 }, { a: 4, b: 3 }), dropped: 7, exceeds: true },
  ])('$name', ({ next, dropped, exceeds }) => {
    expect(assessDrop(fleet({ a: 4, b: 4 }), next, settings)).toEqual({ total: 8, dropped, exceeds });
  });

  it('does not count instances replaced by as many new ones in the same change as a drop', () => {
    // Every instance of `a` replaced (new IDs and addresses), as when the writes of a rolling
    // deploy that a Consul leader election held back arrive in one snapshot.
    const replacing = (n: number) =>
      buildModel({
        snapshot: snapshot(
          service('a', Array.from({ length: n }, (_, i) => instance({ id: `a-new-${i}`, address: `10.9.0.${i + 1}` }))),
          service('b', Array.from({ length: 4 }, (_, i) => instance({ id: `b-${i}`, address: `10.0.1.${i + 1}` }))),
        ),
        config: config(),
      });
    expect(assessDrop(fleet({ a: 4, b: 4 }), replacing(4), settings)).toEqual({ total: 8, dropped: 0, exceeds: false });
    // Replaced by fewer: the shortfall is what counts.
    expect(assessDrop(fleet({ a: 4, b: 4 }), replacing(1), settings)).toEqual({ total: 8, dropped: 3, exceeds: false });
    expect(assessDrop(fleet({ a: 10, b: 4 }), replacing(2), settings)).toEqual({ total: 14, dropped: 8, exceeds: true });
  });

  it('counts the same when the models share the services a change left alone (the memo keeps them one object)', () => {
    const names = ['a', 'b', 'c', 'd', 'e'];
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 6 }), { minLength: 5, maxLength: 5 }),
        fc.array(fc.option(fc.tuple(fc.nat({ max: 6 }), fc.nat({ max: 6 })), { nil: undefined }), { minLength: 5, maxLength: 5 }),
        (sizes, changes) => {
          const applied = fleet(Object.fromEntries(names.map((name, i) => [name, sizes[i]!])));
          const changed = fleet(
            Object.fromEntries(names.map((name, i) => [name, changes[i]?.[0] ?? 0])),
            Object.fromEntries(names.map((name, i) => [name, changes[i]?.[1] ?? 0])),
          );
          const next = { ...applied, services: applied.services.map((service, i) => (changes[i] ? changed.services[i]! : service)) };
          const before = readyByBackend(applied);
          const after = readyByBackend(next);
          const total = [...before.values()].reduce((sum, n) => sum + n, 0);
          const dropped = [...before].reduce((sum, [backend, n]) => sum + Math.max(0, n - (after.get(backend) ?? 0)), 0);
          expect(assessDrop(applied, next, settings)).toEqual({ total, dropped, exceeds: dropped >= settings.minDrop && dropped > settings.maxDropShare * total });
          // The next model's total, which the next change is measured against, follows from the backends touched.
          expect(totalReady(next)).toBe([...after.values()].reduce((sum, n) => sum + n, 0));
        },
      ),
    );
  });

  it('lets a small service scale to zero even when it is most of a small fleet', () => {
    expect(assessDrop(fleet({ tiny: 2, other: 1 }), fleet({ other: 1 }), settings)).toMatchObject({ dropped: 2, exceeds: false });
  });
});

describe('MassDropGuard', () => {
  it('holds an implausible drop until it has persisted for holdFor', () => {
    let now = 1_000;
    const guard = new MassDropGuard(settings, () => now);
    const applied = fleet({ a: 10 });
    expect(guard.evaluate(applied, fleet({}))).toMatchObject({ apply: false, releaseAt: 61_000, assessment: { dropped: 10 } });
    expect(guard.status()).toMatchObject({ held: true, dropped: 10, total: 10 });
    now = 30_000;
    expect(guard.evaluate(applied, fleet({}))).toMatchObject({ apply: false, heldSince: 1_000 });
    now = 61_000;
    expect(guard.evaluate(applied, fleet({}))).toEqual({ apply: true, confirmed: false });
    expect(guard.status()).toEqual({ held: false });
  });

  it('applies at once when an operator confirms', () => {
    const guard = new MassDropGuard(settings, () => 0);
    const applied = fleet({ a: 10 });
    expect(guard.confirm()).toBe(false);
    expect(guard.evaluate(applied, fleet({})).apply).toBe(false);
    expect(guard.confirm()).toBe(true);
    expect(guard.evaluate(applied, fleet({}))).toEqual({ apply: true, confirmed: true });
  });

  it('clears the hold when the instances come back, and starts the clock again on the next drop', () => {
    let now = 0;
    const guard = new MassDropGuard(settings, () => now);
    const applied = fleet({ a: 10 });
    guard.evaluate(applied, fleet({}));
    now = 50_000;
    expect(guard.evaluate(applied, fleet({ a: 10 }))).toEqual({ apply: true });
    now = 55_000;
    expect(guard.evaluate(applied, fleet({}))).toMatchObject({ apply: false, heldSince: 55_000 });
  });

  it('has nothing to protect before the first apply', () => {
    expect(new MassDropGuard(settings).evaluate(undefined, fleet({}))).toEqual({ apply: true });
  });
});

/**
 * The check signal made of two blocking queries, critical and warning: the
 * union is what one query for every check not passing would show, dated by the
 * newer answer unless a query is failing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkSignalOf, fetchedServiceOf, isBehind } from '../../src/consul/change-signals.ts';
import { checkSignalChanges, concernedBy, mergeCheckSignals, startCheckViews, type CheckChanges } from '../../src/consul/check-views.ts';
import type { CheckSignal } from '../../src/consul/change-signals.ts';
import type { Query } from '../../src/consul/query.ts';
import type { Slot } from '../../src/consul/signal-slot.ts';

const check = (node: string, id: string, service: string, status: string, modify: number) => ({
  Node: node, CheckID: id, ServiceID: service ? `${service}-1` : '', ServiceName: service, Status: status, ModifyIndex: modify,
});
const part = (index: number, checks: object[], failing = false) => ({ signal: checkSignalOf(checks, String(index)), failing });

describe('mergeCheckSignals', () => {
  it('is what one answer holding both states would be', () => {
    const arbitraryCheck = fc.record({
      node: fc.constantFrom('n1', 'n2'),
      id: fc.constantFrom('a', 'b', 'c'),
      service: fc.constantFrom('', 'web', 'api'),
      status: fc.constantFrom('critical', 'warning'),
      modify: fc.integer({ min: 1, max: 50 }),
    });
    fc.assert(
      fc.property(fc.array(arbitraryCheck, { maxLength: 12 }), fc.integer({ min: 50, max: 60 }), fc.integer({ min: 50, max: 60 }), (checks, a, b) => {
        const all = checks.map((c) => check(c.node, c.id, c.service, c.status, c.modify));
        const merged = mergeCheckSignals([part(a, all.filter((c) => c.Status === 'critical')), part(b, all.filter((c) => c.Status === 'warning'))]);
        const one = checkSignalOf(all, String(Math.max(a, b)));
        expect(merged).toEqual(one);
      }),
    );
  });

  it('is dated by the newer answer, and no later than a failing query\'s last answer', () => {
    expect(mergeCheckSignals([part(40, []), part(55, [])]).index).toBe(55n);
    expect(mergeCheckSignals([part(40, [], true), part(55, [])]).index).toBe(40n);
    expect(mergeCheckSignals([part(40, []), part(55, [], true)]).index).toBe(55n);
    expect(mergeCheckSignals([part(40, [], true), part(55, [], true)]).index).toBe(40n);
  });

  it('shows a service behind when its check moves from one state to the other', () => {
    const read = fetchedServiceOf([{ Node: { Node: 'n1' }, Service: { ID: 'web-1', Service: 'web' }, Checks: [check('n1', 'c', 'web', 'critical', 20)] }], '20');
    const before = mergeCheckSignals([part(20, [check('n1', 'c', 'web', 'critical', 20)]), part(20, [])]);
    expect(isBehind('web', read, before)).toBe(false);
    // Warning now: the write is above the read, and the status in the key differs.
    const after = mergeCheckSignals([part(21, []), part(21, [check('n1', 'c', 'web', 'warning', 21)])]);
    expect(isBehind('web', read, after)).toBe(true);
  });
});

describe('checkSignalChanges', () => {
  const arbitraryChecks = fc.array(
    fc.record({
      node: fc.constantFrom('n1', 'n2', 'n3'),
      id: fc.constantFrom('a', 'b'),
      service: fc.constantFrom('', 'web', 'api'),
      status: fc.constantFrom('critical', 'warning'),
      modify: fc.integer({ min: 1, max: 30 }),
    }),
    { maxLength: 8 },
  );

  it('names every service that a read current with the signal before can be behind of after it', () => {
    fc.assert(
      fc.property(arbitraryChecks, arbitraryChecks, fc.subarray(['n1', 'n2', 'n3'], { minLength: 1 }), (was, is, nodes) => {
        // A service's checks are on the nodes its instances run on (others would be instances the read lacks); node checks anywhere.
        const toChecks = (list: typeof was) => list.filter((c) => c.service === '' || nodes.includes(c.node)).map((c) => check(c.node, c.id, c.service, c.status, c.modify));
        const before = checkSignalOf(toChecks(was), '40');
        const after = checkSignalOf(toChecks(is), '41');
        const changes = checkSignalChanges(before, after);
        for (const service of ['web', 'api']) {
          // What a read of the service at index 40 returned: its checks and its nodes' checks not passing.
          const mine = toChecks(was).filter((c) => nodes.includes(c.Node) && (c.ServiceName === service || c.ServiceName === ''));
          const body = nodes.map((node) => ({ Node: { Node: node }, Service: { ID: `${service}-1`, Service: service }, Checks: mine.filter((c) => c.Node === node) }));
          const fetched = fetchedServiceOf(body, '40');
          expect(isBehind(service, fetched, before)).toBe(false);
          if (isBehind(service, fetched, after)) expect(concernedBy(changes)({ name: service, data: { fetched } })).toBe(true);
        }
      }),
    );
  });

  it('is empty between signals that differ only in their index', () => {
    const checks = [check('n1', 'c', 'web', 'critical', 5), check('n1', 'serf', '', 'critical', 6)];
    const changes = checkSignalChanges(checkSignalOf(checks, '9'), checkSignalOf(checks, '12'));
    expect([...changes.services, ...changes.nodes]).toEqual([]);
  });
});

describe('startCheckViews', () => {
  function harness() {
    const slots: Array<Slot<CheckSignal> & { data: { value: CheckSignal } | undefined; failures: number }> = [];
    const answered: Array<() => void> = [];
    const keys: string[] = [];
    const signals: Array<{ changes?: CheckChanges; since?: bigint }> = [];
    const views = startCheckViews(
      (query: Query<CheckSignal>, onData) => {
        keys.push(query.key);
        const slot = { key: query.key, done: Promise.resolve(), data: undefined, failures: 0, failingSince: undefined, stop() {}, retire: async () => {} };
        slots.push(slot);
        answered.push(onData);
        return slot;
      },
      (changes, since) => void signals.push({ changes, since }),
    );
    const answer = (i: number, value: CheckSignal) => {
      (slots[i] as { data: { value: CheckSignal } | undefined }).data = { value };
      answered[i]?.();
    };
    return { views, slots, keys, signals, answer };
  }

  it('signals once both have answered, then with what changed since the signal before', () => {
    const { signals, answer } = harness();
    answer(0, checkSignalOf([check('n1', 'c', 'web', 'critical', 5)], '9'));
    expect(signals).toEqual([]);
    answer(1, checkSignalOf([], '9'));
    expect(signals).toEqual([{ changes: undefined, since: undefined }]);
    // web recovers, api turns warning: both named, dated from the signal before.
    answer(0, checkSignalOf([], '10'));
    answer(1, checkSignalOf([check('n2', 'd', 'api', 'warning', 11)], '11'));
    expect(signals[1]).toEqual({ changes: { services: new Set(['web']), nodes: new Set() }, since: 9n });
    expect(signals[2]).toEqual({ changes: { services: new Set(['api']), nodes: new Set() }, since: 10n });
  });

  it('reads one query per state and has no signal until both have answered', () => {
    const { views, slots, keys } = harness();
    expect(keys).toEqual(['health.state(critical)', 'health.state(warning)']);
    slots[0]!.data = { value: checkSignalOf([check('n1', 'c', 'web', 'critical', 5)], '9') };
    expect(views.signal()).toBeUndefined();
    slots[1]!.data = { value: checkSignalOf([], '12') };
    expect(views.signal()).toMatchObject({ index: 12n });
    expect(views.signal()?.services.get('web')?.maxIndex).toBe(5n);
  });

  it('merges again when an answer or a failure streak changes, not on every question', () => {
    const { views, slots } = harness();
    slots[0]!.data = { value: checkSignalOf([], '9') };
    slots[1]!.data = { value: checkSignalOf([], '12') };
    const first = views.signal();
    expect(views.signal()).toBe(first);
    slots[0]!.failures = 1;
    expect(views.signal()?.index).toBe(9n);
    slots[0]!.failures = 0;
    slots[0]!.data = { value: checkSignalOf([], '14') };
    expect(views.signal()?.index).toBe(14n);
  });
});

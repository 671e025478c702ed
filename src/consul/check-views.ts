/**
 * The check signal from two blocking queries, GET /v1/health/state/critical
 * and /v1/health/state/warning: together every check that is not passing
 * (a check in maintenance is critical), with its node, service, status and
 * ModifyIndex. A check turning critical or warning joins an answer, one
 * turning passing leaves it; either way the service's set of unhealthy checks
 * changes.
 *
 * Why two by state, not one on /v1/health/state/any?filter=Status != "passing":
 * Consul keeps checks indexed by status, so a state's answer costs the agent
 * what is unhealthy; the filtered query reads and filters every check in the
 * datacenter, on every check write anywhere. Measured on Consul 1.8.7 with
 * 50,000 checks: 52-68 ms of the agent's time per answer filtered, 1-2 ms per
 * state, and a check flip woke a state's query in 3-7 ms against 51-142 ms.
 * The price is one more connection held.
 *
 * Both answers carry the whole checks table's X-Consul-Index. As with the node
 * views (node-views.ts), a query that is blocked has seen every write to its
 * state, so the signal is dated by the newer answer, no later than the last
 * answer of a query that is failing, and counts once both have answered.
 */
import { joinSorted, type CheckSignal, type FetchedService, type Seen } from './change-signals.ts';
import { checksInStateQuery, type Query } from './query.ts';
import type { Slot } from './signal-slot.ts';

export const CHECK_STATES = ['critical', 'warning'] as const;

export interface CheckViews {
  readonly slots: ReadonlyArray<Slot<CheckSignal>>;
  /** Both answers as one signal; undefined until both have answered. */
  signal(): CheckSignal | undefined;
}

/** What differs between two check signals: only services named here, or running on a node named here, can have become behind. */
export interface CheckChanges {
  readonly services: ReadonlySet<string>;
  readonly nodes: ReadonlySet<string>;
}

/**
 * Starts one blocking query per state; `onSignal` after each new answer once both have answered,
 * with what changed since the signal before (dated `since`; none for the first).
 */
export function startCheckViews(
  start: (query: Query<CheckSignal>, onData: () => void) => Slot<CheckSignal>,
  onSignal: (changes?: CheckChanges, since?: bigint) => void,
): CheckViews {
  let published: CheckSignal | undefined;
  // Consul 1.8 wakes both queries on every check write, whatever its state (measured): at thousands
  // of services, asking each whether it is behind took 5-40 ms per answer, twice per change.
  const answered = (): void => {
    const signal = views.signal();
    if (!signal) return;
    const before = published;
    published = signal;
    if (before) onSignal(checkSignalChanges(before, signal), before.index);
    else onSignal();
  };
  const slots = CHECK_STATES.map((state) => start(checksInStateQuery(state), answered));
  type Part = { readonly signal: CheckSignal; readonly failing: boolean };
  let cached: { parts: readonly Part[]; signal: CheckSignal } | undefined;
  // Asked once per service a signal may concern (thousands per answer): merged once per answer
  // or failure streak, and compared without building anything while neither changed.
  const same = (parts: readonly Part[]): boolean =>
    slots.every((slot, i) => slot.data?.value === parts[i]?.signal && slot.failures > 0 === parts[i]?.failing);
  const views: CheckViews = {
    slots,
    signal() {
      if (cached && same(cached.parts)) return cached.signal;
      const parts: Part[] = [];
      for (const slot of slots) {
        if (!slot.data) return undefined;
        parts.push({ signal: slot.data.value, failing: slot.failures > 0 });
      }
      cached = { parts, signal: mergeCheckSignals(parts) };
      return cached.signal;
    },
  };
  return views;
}

/** Whether a service's last read can be behind after these changes: it is named, or runs on a node named. */
export function concernedBy(changes: CheckChanges): (record: { readonly name: string; readonly data: { readonly fetched: FetchedService } }) => boolean {
  return (record) => changes.services.has(record.name) || (changes.nodes.size > 0 && record.data.fetched.nodes.some((node) => changes.nodes.has(node)));
}

/** Pure: the services and nodes whose unhealthy checks are not the same in `after` as in `before`. */
export function checkSignalChanges(before: CheckSignal, after: CheckSignal): CheckChanges {
  return { services: changedNames(before.services, after.services), nodes: changedNames(before.nodes, after.nodes) };
}

function changedNames(before: ReadonlyMap<string, Seen>, after: ReadonlyMap<string, Seen>): Set<string> {
  const changed = new Set<string>();
  for (const [name, seen] of before) {
    const now = after.get(name);
    if (!now || now.keys !== seen.keys || now.maxIndex !== seen.maxIndex) changed.add(name);
  }
  for (const name of after.keys()) if (!before.has(name)) changed.add(name);
  return changed;
}

/** Pure: one signal out of the states' signals, dated by the newest answer, capped by the answer of any that is failing. */
export function mergeCheckSignals(parts: ReadonlyArray<{ readonly signal: CheckSignal; readonly failing: boolean }>): CheckSignal {
  let index = 0n;
  for (const { signal } of parts) if (signal.index > index) index = signal.index;
  for (const { signal, failing } of parts) if (failing && signal.index < index) index = signal.index;
  return { index, services: mergeSeen(parts.map((part) => part.signal.services)), nodes: mergeSeen(parts.map((part) => part.signal.nodes)) };
}

function mergeSeen(maps: ReadonlyArray<ReadonlyMap<string, Seen>>): Map<string, Seen> {
  const out = new Map<string, Seen>();
  for (const map of maps) {
    for (const [name, seen] of map) {
      const before = out.get(name);
      out.set(name, before ? { keys: joinSorted([...before.keys.split('\n'), ...seen.keys.split('\n')]), maxIndex: seen.maxIndex > before.maxIndex ? seen.maxIndex : before.maxIndex } : seen);
    }
  }
  return out;
}

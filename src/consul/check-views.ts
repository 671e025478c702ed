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
import { joinSorted, type CheckSignal, type Seen } from './change-signals.ts';
import { checksInStateQuery, type Query } from './query.ts';
import type { Slot } from './signal-slot.ts';

export const CHECK_STATES = ['critical', 'warning'] as const;

export interface CheckViews {
  readonly slots: ReadonlyArray<Slot<CheckSignal>>;
  /** Both answers as one signal; undefined until both have answered. */
  signal(): CheckSignal | undefined;
}

/** Starts one blocking query per state; `onSignal` after each new answer. */
export function startCheckViews(start: (query: Query<CheckSignal>, onData: () => void) => Slot<CheckSignal>, onSignal: () => void): CheckViews {
  const slots = CHECK_STATES.map((state) => start(checksInStateQuery(state), onSignal));
  type Part = { readonly signal: CheckSignal; readonly failing: boolean };
  let cached: { parts: readonly Part[]; signal: CheckSignal } | undefined;
  // Asked once per service a signal may concern (thousands per answer): merged once per answer
  // or failure streak, and compared without building anything while neither changed.
  const same = (parts: readonly Part[]): boolean =>
    slots.every((slot, i) => slot.data?.value === parts[i]?.signal && slot.failures > 0 === parts[i]?.failing);
  return {
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

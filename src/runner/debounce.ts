export interface DebounceState {
  /** When the oldest change not yet handed to a run arrived; undefined when none is pending. */
  readonly firstPendingAt: number | undefined;
  /** When the latest change arrived (pending or not). */
  readonly lastChangeAt: number | undefined;
}

export interface DebounceWindow {
  readonly waitMin: number;
  readonly waitMax: number;
}

export const IDLE: DebounceState = { firstPendingAt: undefined, lastChangeAt: undefined };

/**
 * Pure: records a change arriving at `now` and returns the new state and when
 * the pending changes are due. The first change after a quiet period (no
 * change for waitMin) is due at once; during a burst, a run waits for waitMin
 * of quiet but never longer than waitMax after the first pending change.
 */
export function onChange(state: DebounceState, now: number, window: DebounceWindow): { state: DebounceState; dueAt: number } {
  const quiet = state.lastChangeAt === undefined || now - state.lastChangeAt >= window.waitMin;
  if (state.firstPendingAt === undefined && quiet) {
    return { state: { firstPendingAt: now, lastChangeAt: now }, dueAt: now };
  }
  const firstPendingAt = state.firstPendingAt ?? now;
  const dueAt = Math.min(now + window.waitMin, firstPendingAt + window.waitMax);
  return { state: { firstPendingAt, lastChangeAt: now }, dueAt };
}

/** Pure: the pending changes were handed to a run. */
export function onTaken(state: DebounceState): DebounceState {
  return { firstPendingAt: undefined, lastChangeAt: state.lastChangeAt };
}

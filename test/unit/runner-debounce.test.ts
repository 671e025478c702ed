import { describe, expect, it } from 'vitest';
import { IDLE, onChange, onTaken, type DebounceState } from '../../src/runner/debounce.ts';

const window = { waitMin: 100, waitMax: 1000 };

describe('debounce', () => {
  it.each([
    { name: 'first change ever applies at once', state: IDLE, now: 5000, dueAt: 5000 },
    {
      name: 'first change after a quiet period applies at once',
      state: { firstPendingAt: undefined, lastChangeAt: 4000 },
      now: 5000,
      dueAt: 5000,
    },
    {
      name: 'a change soon after the last one waits for waitMin of quiet',
      state: { firstPendingAt: undefined, lastChangeAt: 4950 },
      now: 5000,
      dueAt: 5100,
    },
    {
      name: 'a change during a burst pushes the run back by waitMin',
      state: { firstPendingAt: 4500, lastChangeAt: 4990 },
      now: 5000,
      dueAt: 5100,
    },
    {
      name: 'a long burst is cut at waitMax after its first change',
      state: { firstPendingAt: 4050, lastChangeAt: 4990 },
      now: 5000,
      dueAt: 5050,
    },
  ] satisfies Array<{ name: string; state: DebounceState; now: number; dueAt: number }>)('$name', ({ state, now, dueAt }) => {
    expect(onChange(state, now, window).dueAt).toBe(dueAt);
  });

  it('keeps the first pending time through a burst and clears it when taken', () => {
    let state = onChange(IDLE, 0, window).state;
    state = onTaken(state);
    state = onChange(state, 10, window).state;
    state = onChange(state, 20, window).state;
    expect(state).toEqual({ firstPendingAt: 10, lastChangeAt: 20 });
    expect(onTaken(state)).toEqual({ firstPendingAt: undefined, lastChangeAt: 20 });
  });
});

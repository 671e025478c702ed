import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  DEFAULT_VIEW_TIMING,
  nextIndex,
  pacingDelay,
  requestTimeout,
  runBlockingView,
  type ViewEffects,
} from '../../src/consul/blocking-view.ts';
import type { ConsulClient } from '../../src/consul/client.ts';
import type { FetchOptions, Query } from '../../src/consul/query.ts';
import { ConsulError } from '../../src/errors.ts';

describe('nextIndex', () => {
  it.each([
    { name: 'first answer moves to its index', previous: '0', received: '12', want: { index: '12', fresh: true } },
    { name: 'same index loops without looking at data', previous: '12', received: '12', want: { index: '12', fresh: false } },
    { name: 'a higher index is taken', previous: '12', received: '13', want: { index: '13', fresh: true } },
    { name: 'an index that went backwards resets to 0', previous: '12', received: '7', want: { index: '0', fresh: true } },
    { name: 'index 0 resets to 0', previous: '12', received: '0', want: { index: '0', fresh: true } },
    { name: 'a missing index resets to 0', previous: '12', received: '', want: { index: '0', fresh: true } },
    { name: 'a garbled index resets to 0', previous: '12', received: '12abc', want: { index: '0', fresh: true } },
    { name: 'a negative index resets to 0', previous: '12', received: '-3', want: { index: '0', fresh: true } },
    {
      name: 'uint64 indexes beyond 2^53 compare exactly',
      previous: '18446744073709551614',
      received: '18446744073709551615',
      want: { index: '18446744073709551615', fresh: true },
    },
    {
      name: 'uint64 indexes beyond 2^53 that are equal loop',
      previous: '9007199254740993',
      received: '9007199254740993',
      want: { index: '9007199254740993', fresh: false },
    },
  ])('$name', ({ previous, received, want }) => {
    expect(nextIndex(previous, received)).toEqual(want);
  });
});

describe('timing rules', () => {
  const timing = { ...DEFAULT_VIEW_TIMING, jitterMs: 100 };

  it.each([
    { attempt: 1, random: 0, want: 250 },
    { attempt: 2, random: 0, want: 500 },
    { attempt: 3, random: 0, want: 1_000 },
    { attempt: 8, random: 0, want: 30_000 },
    { attempt: 500, random: 0, want: 30_000 },
    { attempt: 1, random: 0.5, want: 300 },
    { attempt: 500, random: 0.99, want: 30_099 },
  ])('backoff for attempt $attempt (random $random) is $want ms', ({ attempt, random, want }) => {
    expect(backoffDelay(attempt, timing, random)).toBe(want);
  });

  it.each([
    { elapsed: 0, random: 0, want: 100 },
    { elapsed: 40, random: 0.5, want: 110 },
    { elapsed: 150, random: 0.5, want: 0 },
    { elapsed: 55_000, random: 0.9, want: 0 },
  ])('pacing after a call of $elapsed ms is $want ms', ({ elapsed, random, want }) => {
    expect(pacingDelay(elapsed, timing, random)).toBe(want);
  });

  it.each([
    { name: 'a blocking read waits for Consul\'s wait plus its wait/16 jitter plus a margin', index: '42', want: 55_000 + 3_438 + 10_000 },
    { name: 'a read at index 0 does not block: the margin alone', index: '0', want: 10_000 },
  ])('$name', ({ index, want }) => {
    expect(requestTimeout(index, 55_000, DEFAULT_VIEW_TIMING)).toBe(want);
  });
});

type Step = { data: string[]; index: string } | Error;

/** Runs a view over scripted answers with instant sleeps; returns what it reported. */
async function runScript(steps: Step[]) {
  const controller = new AbortController();
  const sent: FetchOptions[] = [];
  const sleeps: number[] = [];
  const data: string[][] = [];
  const errors: Array<[string, number]> = [];
  let successes = 0;
  const query: Query<string[]> = {
    key: 'fake',
    fetch: async (_client, options) => {
      sent.push(options);
      const step = steps[sent.length - 1];
      if (!step) {
        controller.abort();
        throw new Error('aborted');
      }
      if (step instanceof Error) throw step;
      return step;
    },
  };
  let clock = 0;
  const effects: ViewEffects = {
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    now: () => clock,
    random: () => 0,
  };
  await runBlockingView({
    client: {} as ConsulClient,
    query,
    wait: 1_000,
    signal: controller.signal,
    effects,
    onData: (value) => data.push(value),
    onError: (error, attempt) => errors.push([error.message, attempt]),
    onSuccess: () => void (successes += 1),
  });
  return { sent: sent.map((options) => options.index), sleeps, data, errors, successes };
}

describe('runBlockingView', () => {
  it('starts at index 0, blocks on the index it got, and emits only changed data', async () => {
    const result = await runScript([
      { data: ['a'], index: '5' },
      { data: ['a'], index: '5' }, // wait timed out: same index
      { data: ['a'], index: '9' }, // index moved, data did not (e.g. check output)
      { data: ['a', 'b'], index: '11' },
      { data: ['a', 'b'], index: '3' }, // went backwards: reset
      { data: ['b'], index: '4' },
    ]);
    expect(result.sent).toEqual(['0', '5', '5', '9', '11', '0', '4']);
    expect(result.data).toEqual([['a'], ['a', 'b'], ['b']]);
    expect(result.successes).toBe(6);
    expect(result.errors).toEqual([]);
  });

  it('paces answers that come back at once', async () => {
    const result = await runScript([
      { data: ['a'], index: '0' },
      { data: ['a'], index: '0' },
    ]);
    expect(result.sent).toEqual(['0', '0', '0']);
    expect(result.sleeps).toEqual([100, 100]);
  });

  it('backs off on errors, never emits for them, and resets the backoff after a success', async () => {
    const down = new ConsulError('consul: down');
    const result = await runScript([
      { data: ['a'], index: '5' },
      down,
      down,
      down,
      { data: ['a'], index: '5' },
      down,
    ]);
    expect(result.data).toEqual([['a']]);
    expect(result.errors).toEqual([
      ['consul: down', 1],
      ['consul: down', 2],
      ['consul: down', 3],
      ['consul: down', 1],
    ]);
    expect(result.sleeps).toEqual([100, 250, 500, 1_000, 100, 250]);
    // After an error the view re-reads at once (index 0): the agent may have restarted with a lower index.
    expect(result.sent).toEqual(['0', '5', '0', '0', '0', '5', '0']);
  });

  it('wraps an unexpected error in a ConsulError naming the query', async () => {
    const result = await runScript([new TypeError('boom')]);
    expect(result.errors[0]?.[0]).toMatch(/^consul: reading fake failed unexpectedly \(boom\)/);
  });

  it('passes a request timeout: short for the first read, above the wait when blocking', async () => {
    const timeouts: Array<number | undefined> = [];
    const controller = new AbortController();
    await runBlockingView({
      client: {} as ConsulClient,
      query: {
        key: 'fake',
        fetch: async (_client, options) => {
          timeouts.push(options.timeout);
          if (timeouts.length === 1) return { data: 1, index: '3' };
          controller.abort();
          throw new Error('aborted');
        },
      },
      effects: { sleep: async () => {} },
      wait: 16_000,
      signal: controller.signal,
      onData: () => {},
      onError: () => {},
    });
    expect(timeouts).toEqual([10_000, 16_000 + 1_000 + 10_000]);
  });

  it('ends at once, without a request, when the signal is already aborted', async () => {
    let calls = 0;
    await runBlockingView({
      client: {} as ConsulClient,
      query: { key: 'fake', fetch: async () => ((calls += 1), { data: 1, index: '1' }) },
      wait: 1_000,
      signal: AbortSignal.abort(),
      onData: () => {},
      onError: () => {},
    });
    expect(calls).toBe(0);
  });

  it('once retired, lets the call in flight answer, reports it, and sends no other', async () => {
    let retired = false;
    const signals: AbortSignal[] = [];
    const data: number[] = [];
    let answer: (value: { data: number; index: string }) => void = () => {};
    const view = runBlockingView<number>({
      client: {} as ConsulClient,
      query: {
        key: 'fake',
        fetch: (_client, options) => {
          signals.push(options.signal as AbortSignal);
          return new Promise<{ data: number; index: string }>((resolve) => (answer = resolve));
        },
      },
      wait: 1_000,
      signal: new AbortController().signal,
      retired: () => retired,
      onData: (value) => void data.push(value),
      onError: () => {},
    });
    await Promise.resolve();
    retired = true;
    answer({ data: 7, index: '3' });
    await view;
    // Not cut short: its signal never aborted, so its connection goes back to the pool.
    expect(signals).toHaveLength(1);
    expect(signals[0]?.aborted).toBe(false);
    expect(data).toEqual([7]);
  });
});

import { describe, expect, it } from 'vitest';
import { Runner, type RunnerEvent } from '../../src/runner/runner.ts';
import { ManualClock } from '../helpers/manual-clock.ts';

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

function setup(run: (input: string) => Promise<string>) {
  const clock = new ManualClock();
  const events: Array<RunnerEvent<string>> = [];
  const runner = new Runner<string, string>({ window: { waitMin: 100, waitMax: 1000 }, run, clock, onEvent: (e) => events.push(e) });
  return { clock, events, runner };
}

describe('Runner', () => {
  it('applies the first change at once and batches a burst into one run with the latest input', async () => {
    const seen: string[] = [];
    const { clock, runner } = setup(async (input) => {
      seen.push(input);
      return input;
    });
    runner.submit('a');
    await flush();
    expect(seen).toEqual(['a']);
    runner.submit('b');
    clock.advance(50);
    runner.submit('c');
    clock.advance(50);
    runner.submit('d');
    await flush();
    expect(seen).toEqual(['a']);
    clock.advance(100);
    await runner.idle();
    expect(seen).toEqual(['a', 'd']);
  });

  it('never runs two at once and keeps only the latest input while one is in flight', async () => {
    const gates: Array<ReturnType<typeof deferred<string>>> = [];
    let active = 0;
    let maxActive = 0;
    const seen: string[] = [];
    const { clock, runner } = setup(async (input) => {
      active++;
      maxActive = Math.max(maxActive, active);
      seen.push(input);
      const gate = deferred<string>();
      gates.push(gate);
      const out = await gate.promise;
      active--;
      return out;
    });
    runner.submit('a');
    await flush();
    for (const input of ['b', 'c', 'd']) {
      clock.advance(200);
      runner.submit(input);
    }
    clock.advance(2000);
    await flush();
    expect(seen).toEqual(['a']);
    gates[0]?.resolve('a');
    await flush();
    await flush();
    expect(seen).toEqual(['a', 'd']);
    gates[1]?.resolve('d');
    await runner.idle();
    expect(maxActive).toBe(1);
  });

  it('reports a failed run and keeps working', async () => {
    const { clock, events, runner } = setup(async (input) => {
      if (input === 'bad') throw new Error('boom');
      return input;
    });
    runner.submit('bad');
    await runner.idle();
    expect(events[0]).toMatchObject({ type: 'run-failed' });
    runner.submit('good');
    clock.advance(100);
    await runner.idle();
    expect(events.map((e) => e.type)).toEqual(['run-failed', 'run-ok']);
    expect(events[1]).toMatchObject({ result: 'good' });
  });

  it('close() waits for the run in flight, drops what is pending and ignores later input', async () => {
    const gate = deferred<string>();
    const seen: string[] = [];
    const { clock, runner } = setup(async (input) => {
      seen.push(input);
      return input === 'a' ? gate.promise : input;
    });
    runner.submit('a');
    await flush();
    clock.advance(10);
    runner.submit('b');
    let closed = false;
    const closing = runner.close().then(() => (closed = true));
    await flush();
    expect(closed).toBe(false);
    gate.resolve('a');
    await closing;
    runner.submit('c');
    clock.advance(5000);
    await flush();
    expect(seen).toEqual(['a']);
    await runner.close();
  });
});

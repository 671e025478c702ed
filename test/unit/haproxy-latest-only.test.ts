import { describe, expect, it } from 'vitest';
import { latestOnly } from '../../src/haproxy/files/latest-only.ts';

describe('latestOnly', () => {
  it('runs one at a time, and of the values handed in during a run only the latest', async () => {
    const ran: number[] = [];
    let release: () => void = () => {};
    const queue = latestOnly(async (value: number) => {
      ran.push(value);
      if (value === 1) await new Promise<void>((resolve) => (release = resolve));
    });
    queue.push(1);
    queue.push(2);
    queue.push(3);
    await Promise.resolve();
    expect(ran).toEqual([1]);
    release();
    await queue.flush();
    expect(ran).toEqual([1, 3]);
  });

  it('drops the value waiting, and flush resolves at once when idle', async () => {
    const ran: number[] = [];
    let release: () => void = () => {};
    const queue = latestOnly(async (value: number) => {
      ran.push(value);
      if (value === 1) await new Promise<void>((resolve) => (release = resolve));
    });
    await queue.flush();
    queue.push(1);
    queue.push(2);
    queue.drop();
    release();
    await queue.flush();
    expect(ran).toEqual([1]);
  });
});

describe('latestOnly rest', () => {
  it('rests after a run before the next, and a flush cuts the rest short', async () => {
    const ran: number[] = [];
    const queue = latestOnly(async (value: number) => {
      ran.push(value);
    }, () => 60_000);
    queue.push(1);
    await new Promise((resolve) => setTimeout(resolve, 10));
    queue.push(2);
    await new Promise((resolve) => setTimeout(resolve, 10));
    // Resting after 1: 2 waits.
    expect(ran).toEqual([1]);
    const flushed = queue.flush();
    await flushed;
    expect(ran).toEqual([1, 2]);
  });
});

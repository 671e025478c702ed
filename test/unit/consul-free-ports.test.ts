import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createPortAllocator, findFreePorts } from '../../src/consul/free-ports.ts';
import {
  DEFAULT_EPHEMERAL,
  POOL_FLOOR,
  WORKER_SLICES,
  parseEphemeralRange,
  poolRange,
  workerIdOf,
  workerSlice,
  type PortRange,
} from '../../src/consul/port-range.ts';
import { ConsulError } from '../../src/errors.ts';

const within = (port: number, range: PortRange) => port >= range.from && port <= range.to;
const overlaps = (a: PortRange, b: PortRange) => a.from <= b.to && b.from <= a.to;

describe('parseEphemeralRange', () => {
  it.each([
    ['32768\t60999\n', { from: 32768, to: 60999 }],
    ['  1024 65535', { from: 1024, to: 65535 }],
    ['', undefined],
    ['32768', undefined],
    ['60999\t32768\n', undefined],
    ['0\t70000\n', undefined],
    ['a b', undefined],
  ])('%j -> %j', (text, want) => {
    expect(parseEphemeralRange(text)).toEqual(want);
  });
});

describe('poolRange', () => {
  it.each<[string, PortRange | undefined, PortRange]>([
    ["Linux's default: everything from the floor up to just below it", { from: 32768, to: 60999 }, { from: POOL_FLOOR, to: 32767 }],
    ['unknown (not Linux): as for the default', undefined, { from: POOL_FLOOR, to: DEFAULT_EPHEMERAL.from - 1 }],
    ["IANA's 49152-65535", { from: 49152, to: 65535 }, { from: POOL_FLOOR, to: 49151 }],
    ['starting too close to the floor: above it', { from: 10500, to: 60999 }, { from: 61000, to: 65535 }],
    ['no room on either side: everything from the floor', { from: 1024, to: 65000 }, { from: POOL_FLOOR, to: 65535 }],
  ])('%s', (_name, ephemeral, want) => {
    expect(poolRange(ephemeral)).toEqual(want);
  });
});

describe('workerSlice', () => {
  const pool = poolRange({ from: 32768, to: 60999 });

  it('gives each worker a part of the pool that no other worker has', () => {
    const slices = Array.from({ length: WORKER_SLICES }, (_, i) => workerSlice(pool, i + 1));
    for (const [i, a] of slices.entries()) {
      expect(a.from).toBeGreaterThanOrEqual(pool.from);
      expect(a.to).toBeLessThanOrEqual(pool.to);
      expect(a.to - a.from).toBeGreaterThan(1000);
      for (const b of slices.slice(i + 1)) expect(overlaps(a, b), `${JSON.stringify(a)} and ${JSON.stringify(b)}`).toBe(false);
    }
  });

  it('is the whole pool outside a test worker, and wraps worker ids past the slice count', () => {
    expect(workerSlice(pool, undefined)).toEqual(pool);
    expect(workerSlice(pool, WORKER_SLICES + 2)).toEqual(workerSlice(pool, 2));
  });
});

describe('workerIdOf', () => {
  it.each([
    [{ VITEST_POOL_ID: '2', VITEST_WORKER_ID: '7' }, 2],
    [{ VITEST_WORKER_ID: '7' }, 7],
    [{}, undefined],
    [{ VITEST_POOL_ID: '', VITEST_WORKER_ID: 'x' }, undefined],
    [{ VITEST_POOL_ID: '0' }, undefined],
  ])('%j -> %j', (env, want) => {
    expect(workerIdOf(env)).toBe(want);
  });
});

describe('createPortAllocator', () => {
  const range = { from: 20000, to: 20099 };
  const free = async () => true;

  it('hands out ports of its range, none twice, even to calls running at once', async () => {
    const allocator = createPortAllocator({ range, start: 20090, canListen: free });
    const ports = (await Promise.all(Array.from({ length: 20 }, () => allocator.take(5)))).flat();
    expect(new Set(ports).size).toBe(100);
    for (const port of ports) expect(within(port, range)).toBe(true);
  });

  it('starts where it is told and walks round the end of the range', async () => {
    const allocator = createPortAllocator({ range, start: 20098, canListen: free });
    expect(await allocator.take(4)).toEqual([20098, 20099, 20000, 20001]);
  });

  it('never hands out a port that fetch refuses (10080 is on the Fetch standard\'s bad-port list)', async () => {
    const allocator = createPortAllocator({ range: { from: 10078, to: 10082 }, start: 10079, canListen: free });
    expect(await allocator.take(4)).toEqual([10079, 10081, 10082, 10078]);
  });

  it('starts somewhere random in the range when not told', async () => {
    const starts = await Promise.all(Array.from({ length: 20 }, async () => (await createPortAllocator({ range, canListen: free }).take(1))[0] as number));
    for (const port of starts) expect(within(port, range)).toBe(true);
    expect(new Set(starts).size).toBeGreaterThan(1);
  });

  it('skips a busy port for the next one', async () => {
    const busy = new Set([20010, 20011, 20013]);
    const tried: number[] = [];
    const allocator = createPortAllocator({
      range,
      start: 20010,
      canListen: async (port) => {
        tried.push(port);
        return !busy.has(port);
      },
    });
    expect(await allocator.take(2)).toEqual([20012, 20014]);
    expect(tried).toEqual([20010, 20011, 20012, 20013, 20014]);
  });

  it('never hands out a port the caller is about to bind itself, though it is free now', async () => {
    const allocator = createPortAllocator({ range, start: 20010, canListen: free });
    expect(await allocator.take(3, '127.0.0.1', new Set([20011, 20012]))).toEqual([20010, 20013, 20014]);
  });

  it('hands a port out again only after every other port of the range, and fails clearly when none is free', async () => {
    const small = { from: 20000, to: 20002 };
    const allocator = createPortAllocator({ range: small, start: 20000, canListen: free });
    expect(await allocator.take(3)).toEqual([20000, 20001, 20002]);
    expect(await allocator.take(1)).toEqual([20000]);
    const full = createPortAllocator({ range: small, canListen: async () => false });
    const error = await full.take(1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConsulError);
    expect((error as Error).message).toMatch(/no TCP port on 127\.0\.0\.1 between 20000 and 20002 can be listened on/);
  });

  describe('with real sockets', () => {
    const servers: Server[] = [];
    afterEach(async () => {
      await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    });

    it('passes over a port another socket listens on', async () => {
      const [port] = (await findFreePorts(1)) as [number];
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
      const [got] = (await createPortAllocator({ range: { from: port, to: port + 20 }, start: port }).take(1)) as [number];
      expect(got).toBeGreaterThan(port);
      expect(got).toBeLessThanOrEqual(port + 20);
    });

    it('rejects an address that is not this host', async () => {
      const error = await createPortAllocator({ range: { from: 20000, to: 20010 } }).take(1, '192.0.2.1').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConsulError);
      expect((error as Error).message).toMatch(/cannot listen on 192\.0\.2\.1:\d+ \(EADDRNOTAVAIL\); use a local address/);
    });
  });
});

describe('findFreePorts', () => {
  it("hands out distinct listenable ports below the kernel's ephemeral range, within this worker's slice", async () => {
    const text = await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').catch(() => '');
    const slice = workerSlice(poolRange(parseEphemeralRange(text)), workerIdOf(process.env));
    const ephemeral = parseEphemeralRange(text) ?? DEFAULT_EPHEMERAL;
    const ports = [...(await findFreePorts(5)), ...(await findFreePorts(5))];
    expect(new Set(ports).size).toBe(10);
    for (const port of ports) {
      expect(within(port, slice), `${port} in ${JSON.stringify(slice)}`).toBe(true);
      expect(port).toBeLessThan(ephemeral.from);
    }
  });
});

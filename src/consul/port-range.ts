/**
 * Pure: which loopback ports findFreePorts may hand out.
 *
 * A port taken from the kernel's ephemeral range (what binding port 0 gives) can be
 * taken again, between "found free" and "bound by Consul or HAProxy", as the source
 * port of any outgoing connection of any process on the host. Ports below that range
 * are never given to outgoing connections, so only a process that binds them
 * explicitly can race us there.
 */

/** Inclusive. */
export interface PortRange {
  readonly from: number;
  readonly to: number;
}

/** Below 10000 live the well-known defaults of services a developer runs (8080, 8500, 5432, …). */
export const POOL_FLOOR = 10_000;
const MAX_PORT = 65_535;
/** Linux's default net.ipv4.ip_local_port_range; also below IANA's 49152–65535 that other kernels use. */
export const DEFAULT_EPHEMERAL: PortRange = { from: 32_768, to: 60_999 };
/** A side of the ephemeral range narrower than this is not worth using on its own. */
const MIN_SPAN = 1_000;
/**
 * Fixed, so every worker of a test run computes the same slices whatever the worker
 * count; worker ids above it wrap around and share a slice (the bind check still holds).
 */
export const WORKER_SLICES = 16;

/** The text of /proc/sys/net/ipv4/ip_local_port_range ("32768\t60999\n"); undefined when it is not two ports. */
export function parseEphemeralRange(text: string): PortRange | undefined {
  const match = /^\s*(\d+)\s+(\d+)\s*$/.exec(text);
  if (!match) return undefined;
  const [from, to] = [Number(match[1]), Number(match[2])];
  if (from < 1 || to > MAX_PORT || from > to) return undefined;
  return { from, to };
}

/**
 * POOL_FLOOR up to just below the ephemeral range; above it when the kernel's range
 * starts too low to leave room below; everything from POOL_FLOOR when neither side
 * has room (then only the bind check protects a port).
 */
export function poolRange(ephemeral: PortRange = DEFAULT_EPHEMERAL): PortRange {
  const below = { from: POOL_FLOOR, to: ephemeral.from - 1 };
  if (span(below) >= MIN_SPAN) return below;
  const above = { from: Math.max(ephemeral.to + 1, POOL_FLOOR), to: MAX_PORT };
  if (span(above) >= MIN_SPAN) return above;
  return { from: POOL_FLOOR, to: MAX_PORT };
}

/**
 * The part of `pool` that worker `workerId` (1, 2, … as vitest numbers its pool
 * slots) owns, disjoint from every other worker's; the whole pool without a worker.
 */
export function workerSlice(pool: PortRange, workerId: number | undefined): PortRange {
  if (workerId === undefined) return pool;
  const size = Math.floor(span(pool) / WORKER_SLICES);
  const from = pool.from + ((workerId - 1) % WORKER_SLICES) * size;
  return { from, to: from + size - 1 };
}

/**
 * The test worker this process is: VITEST_POOL_ID (1…maxWorkers, unique among the
 * workers running at once), else VITEST_WORKER_ID; undefined outside vitest. A
 * process a test spawns inherits its worker's slice through the environment.
 */
export function workerIdOf(env: Readonly<Record<string, string | undefined>>): number | undefined {
  for (const raw of [env.VITEST_POOL_ID, env.VITEST_WORKER_ID]) {
    const id = Number(raw);
    if (raw !== undefined && raw !== '' && Number.isInteger(id) && id >= 1) return id;
  }
  return undefined;
}

function span(range: PortRange): number {
  return range.to - range.from + 1;
}

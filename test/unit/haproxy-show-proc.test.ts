import { describe, expect, it } from 'vitest';
import { HaproxyRuntimeError } from '../../src/errors.ts';
import { parseShowProc } from '../../src/haproxy/index.ts';

// Captured from HAProxy 2.6.12 (Debian) master CLI `show proc`.
const HEADER = '#<PID>          <type>          <reloads>       <uptime>        <version>      \n';

const FRESH = `${HEADER}4713            master          0 [failed: 0]   0d00h10m05s     2.6.12-1+deb12u4
# workers
4724            worker          0               0d00h10m05s     2.6.12-1+deb12u4
# programs

`;

const WITH_OLD_WORKERS = `${HEADER}4713            master          5 [failed: 0]   0d00h10m37s     2.6.12-1+deb12u4
# workers
12541           worker          0               0d00h00m00s     2.6.12-1+deb12u4
# old workers
12512           worker          1               0d00h00m01s     2.6.12-1+deb12u4
12460           worker          2               0d00h00m08s     2.6.12-1+deb12u4
# programs

`;

// After a reload whose new process could not bind: the counter moved, failed grew,
// and the previous worker (now "survived 1 reload") keeps serving.
const AFTER_FAILED_RELOAD = `${HEADER}4713            master          2 [failed: 1]   0d00h10m29s     2.6.12-1+deb12u4
# workers
11872           worker          1               0d00h00m18s     2.6.12-1+deb12u4
# programs

`;

// The next successful reload resets [failed: N].
const AFTER_RECOVERY = `${HEADER}4713            master          3 [failed: 0]   0d00h10m29s     2.6.12-1+deb12u4
# workers
12460           worker          0               0d00h00m00s     2.6.12-1+deb12u4
# programs

`;

const worker = (pid: number, reloads: number, uptime: string, uptimeSeconds: number) => ({ pid, reloads, uptime, uptimeSeconds, version: '2.6.12-1+deb12u4' });

describe('parseShowProc', () => {
  it.each([
    {
      name: 'fresh start',
      text: FRESH,
      master: { pid: 4713, reloads: 0, failed: 0, uptimeSeconds: 605 },
      workers: [worker(4724, 0, '0d00h10m05s', 605)],
      oldWorkers: [],
    },
    {
      name: 'old workers finishing their connections',
      text: WITH_OLD_WORKERS,
      master: { pid: 4713, reloads: 5, failed: 0, uptimeSeconds: 637 },
      workers: [worker(12541, 0, '0d00h00m00s', 0)],
      oldWorkers: [worker(12512, 1, '0d00h00m01s', 1), worker(12460, 2, '0d00h00m08s', 8)],
    },
    {
      name: 'after a failed reload',
      text: AFTER_FAILED_RELOAD,
      master: { pid: 4713, reloads: 2, failed: 1 },
      workers: [worker(11872, 1, '0d00h00m18s', 18)],
      oldWorkers: [],
    },
    {
      name: 'after the next successful reload',
      text: AFTER_RECOVERY,
      master: { pid: 4713, reloads: 3, failed: 0 },
      workers: [worker(12460, 0, '0d00h00m00s', 0)],
      oldWorkers: [],
    },
  ])('$name', ({ text, master, workers, oldWorkers }) => {
    const proc = parseShowProc(text);
    expect(proc.master).toMatchObject({ ...master, version: '2.6.12-1+deb12u4' });
    expect(proc.workers).toEqual(workers);
    expect(proc.oldWorkers).toEqual(oldWorkers);
  });

  it('reads days in the uptime', () => {
    expect(parseShowProc(`${HEADER}1 master 0 [failed: 0] 2d03h04m05s 2.6\n# workers\n`).master.uptimeSeconds).toBe(((2 * 24 + 3) * 60 + 4) * 60 + 5);
  });

  it('ignores programs', () => {
    const text = WITH_OLD_WORKERS.replace('# programs\n', '# programs\n999             dataplaneapi    0               0d00h00m10s     -\n');
    expect(parseShowProc(text).workers.map((w) => w.pid)).toEqual([12541]);
  });

  it.each([
    ['an empty answer', ''],
    ['the stats socket instead of the master socket', 'Unknown command: \'show proc\', but maybe one of the following ones is a better match:\n'],
  ])('throws a HaproxyRuntimeError on %s', (_name, text) => {
    expect(() => parseShowProc(text)).toThrow(HaproxyRuntimeError);
    expect(() => parseShowProc(text)).toThrow(/master socket/);
  });
});

import { HaproxyRuntimeError } from '../../errors.ts';

export interface ProcEntry {
  readonly pid: number;
  /** How many reloads this process has lived through (for the master: reload attempts). */
  readonly reloads: number;
  /** As printed, e.g. `0d00h10m37s`. */
  readonly uptime: string;
  readonly uptimeSeconds: number;
  readonly version: string;
}

export interface MasterEntry extends ProcEntry {
  /** Failed reloads since the last successful one (resets to 0 on success). */
  readonly failed: number;
}

/** The master CLI's `show proc`, parsed. */
export interface ShowProc {
  readonly master: MasterEntry;
  /** Workers started by the last successful (re)load. */
  readonly workers: ProcEntry[];
  /** Workers of earlier configurations still finishing their connections. */
  readonly oldWorkers: ProcEntry[];
}

// `<pid> <type> <reloads> [failed: N]? <uptime> <version>`; [failed: N] only on the master line.
const LINE = /^(\d+)\s+(\S+)\s+(\d+)(?:\s+\[failed:\s*(\d+)\])?\s+(\S+)(?:\s+(\S+))?\s*$/;
const UPTIME = /^(\d+)d(\d+)h(\d+)m(\d+)s$/;

/** Pure: parses `show proc` output of HAProxy 2.6. Throws when there is no master line. */
export function parseShowProc(text: string): ShowProc {
  let section: 'head' | 'workers' | 'old' | 'programs' = 'head';
  let master: MasterEntry | undefined;
  const workers: ProcEntry[] = [];
  const oldWorkers: ProcEntry[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#<')) continue;
    if (line.startsWith('#')) {
      const name = line.slice(1).trim();
      section = name === 'workers' ? 'workers' : name === 'old workers' ? 'old' : name === 'programs' ? 'programs' : section;
      continue;
    }
    const match = LINE.exec(line);
    if (!match || section === 'programs') continue;
    const [, pid, type, reloads, failed, uptime = '', version = ''] = match;
    const entry: ProcEntry = { pid: Number(pid), reloads: Number(reloads), uptime, uptimeSeconds: uptimeSeconds(uptime), version };
    if (type === 'master') master = { ...entry, failed: Number(failed ?? 0) };
    else if (section === 'workers') workers.push(entry);
    else if (section === 'old') oldWorkers.push(entry);
  }
  if (!master) {
    throw new HaproxyRuntimeError(
      `haproxy: 'show proc' on the master CLI returned no master line (got ${JSON.stringify(text.slice(0, 200))}); is haproxy.masterSocket the master socket (-S) and not the stats socket?`,
    );
  }
  return { master, workers, oldWorkers };
}

function uptimeSeconds(uptime: string): number {
  const match = UPTIME.exec(uptime);
  if (!match) return 0;
  const [, d, h, m, s] = match.map(Number) as [number, number, number, number, number];
  return ((d * 24 + h) * 60 + m) * 60 + s;
}

import type { ApplyResult } from './apply.ts';
import type { HaproxyProcess } from './process/process.ts';
import type { ShowProc } from './process/show-proc.ts';

/** A synchronous snapshot for /status; `refresh()` asks the master first. */
export interface HaproxyStatus {
  readonly managed: boolean;
  readonly running: boolean;
  readonly pid?: number;
  readonly masterSocket: string;
  readonly workers: number[];
  readonly oldWorkers: number[];
  readonly reloads?: number;
  readonly failedReloads?: number;
  readonly liveHash?: string;
  /** Removed servers still finishing their requests (`backend/server`). */
  readonly draining: string[];
  readonly lastApply?: {
    readonly at: string;
    readonly ok: boolean;
    readonly action?: ApplyResult['action'];
    readonly hash: string;
    readonly durationMs: number;
    readonly error?: string;
  };
}

export interface StatusParts {
  readonly managed: boolean;
  readonly masterSocket: string;
  readonly haproxy: HaproxyProcess | undefined;
  readonly proc: ShowProc | undefined;
  readonly live: { readonly hash: string } | undefined;
  readonly draining: Iterable<string>;
  readonly lastApply: HaproxyStatus['lastApply'];
}

/** The manager's state as /status shows it; workers are listed only while the master lives. */
export function composeStatus(parts: StatusParts): HaproxyStatus {
  const { haproxy, proc, live, lastApply } = parts;
  const running = haproxy?.alive() ?? false;
  return {
    managed: parts.managed,
    running,
    ...(haproxy ? { pid: haproxy.pid } : {}),
    masterSocket: parts.masterSocket,
    workers: running ? (proc?.workers.map((worker) => worker.pid) ?? []) : [],
    oldWorkers: running ? (proc?.oldWorkers.map((worker) => worker.pid) ?? []) : [],
    ...(proc ? { reloads: proc.master.reloads, failedReloads: proc.master.failed } : {}),
    ...(live ? { liveHash: live.hash } : {}),
    draining: [...parts.draining].sort(),
    ...(lastApply ? { lastApply } : {}),
  };
}

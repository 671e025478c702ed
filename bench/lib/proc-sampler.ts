/**
 * Reads `show proc` on a master CLI, as an operator would: the reload
 * counter (attempts, from the master itself, not from ipx) and the old
 * workers still finishing their connections, sampled through the run.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createMasterCli, type ShowProc } from '../../src/haproxy/index.ts';

export interface ProcSummary {
  /** Reload attempts the master counted since the sampler started. */
  readonly reloads: number;
  /** Failed reloads since the last successful one, at the end. */
  readonly failedAtEnd: number;
  readonly oldWorkersAtEnd: number;
  readonly maxOldWorkers: number;
  readonly samples: number;
}

export interface ProcSampler {
  /** The master's reload counter now. */
  reloadsNow(): Promise<number>;
  /** Stops sampling and reads `show proc` once more. */
  stop(): Promise<ProcSummary>;
}

export async function sampleProcs(socketPath: string, everyMs = 200): Promise<ProcSampler> {
  const cli = createMasterCli({ socketPath, exchangeTimeoutMs: 2000 });
  // While the master re-executes for a reload, its socket refuses connections for a moment.
  const read = (): Promise<ShowProc> => cli.showProc({ waitMs: 5000 });
  const first = await read();
  let maxOld = first.oldWorkers.length;
  let samples = 1;
  let running = true;
  const loop = (async () => {
    while (running) {
      await sleep(everyMs);
      const proc = await read().catch(() => undefined);
      if (!proc) continue;
      samples++;
      maxOld = Math.max(maxOld, proc.oldWorkers.length);
    }
  })();
  return {
    reloadsNow: async () => (await read()).master.reloads - first.master.reloads,
    stop: async () => {
      running = false;
      await loop;
      const last = await read();
      maxOld = Math.max(maxOld, last.oldWorkers.length);
      return {
        reloads: last.master.reloads - first.master.reloads,
        failedAtEnd: last.master.failed,
        oldWorkersAtEnd: last.oldWorkers.length,
        maxOldWorkers: maxOld,
        samples: samples + 1,
      };
    },
  };
}

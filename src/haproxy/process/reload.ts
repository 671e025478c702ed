import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage, HaproxyRuntimeError } from '../../errors.ts';
import { failureReasons, logOffset, readLogSince } from '../logs/log-tail.ts';
import type { MasterCli } from './master-cli.ts';
import type { ShowProc } from './show-proc.ts';

export interface ReloadOptions {
  /** How long the master may take to confirm the reload (haproxy.reloadTimeout). */
  readonly timeoutMs: number;
  /** HAProxy's stderr log; what the reload wrote there explains a failure. */
  readonly logFile?: string | undefined;
}

export interface ReloadResult {
  readonly ok: true;
  readonly durationMs: number;
  /** The master's reload counter after this reload. */
  readonly reloads: number;
  /** `show proc` once the reload was confirmed. */
  readonly proc: ShowProc;
}

const POLL_MS = 25;

/**
 * One seamless reload through the master CLI. In 2.6 `reload` prints nothing
 * either way, so success is read from `show proc`: the master's reload
 * counter moved, `[failed: N]` did not grow, and a worker that was not there
 * before is serving. The caller runs one reload at a time: while the master
 * re-executes, a second `reload` is refused and lost.
 */
export async function reload(cli: MasterCli, options: ReloadOptions): Promise<ReloadResult> {
  const { timeoutMs } = options;
  const before = await cli.showProc({ waitMs: timeoutMs });
  const offset = await logOffset(options.logFile);
  const started = performance.now();
  const deadline = Date.now() + timeoutMs;
  let sendError: unknown;
  try {
    // A reset after the command was written is expected (the master re-executes); only
    // retry when it certainly never arrived, since a second reload would queue behind the first.
    await cli.command('reload', { waitMs: timeoutMs, retryOnlyBeforeWrite: true });
  } catch (err) {
    sendError = err;
  }

  let after: ShowProc | undefined;
  while (Date.now() < deadline) {
    after = await cli.showProc({ waitMs: Math.max(0, deadline - Date.now()) }).catch(() => after);
    if (after && after.master.reloads !== before.master.reloads) {
      if (after.master.failed > before.master.failed) break;
      if (hasNewWorker(before, after)) {
        return { ok: true, durationMs: Math.round(performance.now() - started), reloads: after.master.reloads, proc: after };
      }
    }
    await sleep(POLL_MS);
  }

  const logged = failureReasons(await readLogSince(options.logFile, offset));
  const where = options.logFile ? `; see ${options.logFile}` : '';
  if (!after || after.master.reloads === before.master.reloads) {
    const why = sendError ? ` (${errorMessage(sendError)})` : '';
    throw new HaproxyRuntimeError(`haproxy: reload was not confirmed within ${timeoutMs} ms: the master's reload counter did not move${why}${where}`);
  }
  const reason = after.master.failed > before.master.failed ? `the master reports a failed reload ([failed: ${after.master.failed}])` : 'no new worker appeared';
  throw new HaproxyRuntimeError(`haproxy: reload failed: ${reason}${logged ? `: ${logged}` : ''}${where}`);
}

function hasNewWorker(before: ShowProc, after: ShowProc): boolean {
  const previous = new Set(before.workers.map((worker) => worker.pid));
  return after.workers.some((worker) => !previous.has(worker.pid));
}

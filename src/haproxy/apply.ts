import { rm } from 'node:fs/promises';
import { errorMessage, HaproxyRuntimeError } from '../errors.ts';
import { writeFileAtomic } from './files/atomic-write.ts';
import { reload, type ReloadResult } from './process/reload.ts';
import { extraFileNames, type RunDirLayout } from './files/run-dir.ts';
import { stageConfig, type LiveConfig, type StageDeps } from './files/stage-config.ts';
import { promoteStaged, readIfExists, writeLive } from './files/stage-files.ts';
import type { RuntimeOpKind } from './plan/plan-apply.ts';
import type { HaproxyProcess } from './process/process.ts';
import type { ShowProc } from './process/show-proc.ts';
import type { RenderedConfig } from './types.ts';

export type { LiveConfig } from './files/stage-config.ts';

export interface ApplyDeps extends StageDeps {
  readonly reloadTimeoutMs: number;
  /** The HAProxy to reload; undefined (or dead) means start one. */
  readonly running: HaproxyProcess | undefined;
  /** Starts HAProxy on the live config (called after the swap). */
  readonly start: () => Promise<HaproxyProcess>;
  /** Reload even when the hash is live: the running state has drifted from the files. */
  readonly force?: boolean;
}

export type ApplyAction = 'noop' | 'start' | 'runtime' | 'reload';

export type ApplyPhase = 'check' | 'ops' | 'verify' | 'swap' | 'reload' | 'start';

export interface ApplyResult {
  readonly action: ApplyAction;
  readonly hash: string;
  readonly durationMs: number;
  readonly checkWarnings: string[];
  /** For a reload: how long the master took to confirm it. */
  readonly reloadMs?: number;
  /** For a runtime apply: how many runtime API operations of each kind. */
  readonly runtimeOps?: Partial<Record<RuntimeOpKind, number>>;
  /**
   * Milliseconds per step. Runtime apply: the runtime API (ops), reading back (verify), staging and
   * `haproxy -c` (check), swapping the file in (swap). Reload or start: check, then reload or start.
   */
  readonly phasesMs?: Readonly<Partial<Record<ApplyPhase, number>>>;
  /** For a reload: why the change could not go through the runtime API. */
  readonly reasons?: readonly string[];
}

/** The result and the state the caller keeps for the next apply. */
export interface ApplyOutcome extends ApplyResult {
  readonly process: HaproxyProcess;
  readonly live: LiveConfig;
  readonly proc?: ShowProc;
}

const short = (hash: string) => hash.slice(0, 12);

/**
 * The transaction: stage → `haproxy -c` → swap → reload (or first start) →
 * verify → mark last-known-good. A failed check swaps nothing; a failed
 * reload puts the last-known-good files back and reloads them, so what
 * serves and what is on disk agree. The caller runs one apply at a time.
 */
export async function applyRender(rendered: RenderedConfig, deps: ApplyDeps): Promise<ApplyOutcome> {
  const { layout } = deps;
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const running = deps.running?.alive() ? deps.running : undefined;
  if (running && deps.live?.hash === rendered.hash && !deps.force) {
    return { action: 'noop', hash: rendered.hash, durationMs: elapsed(), checkWarnings: [], process: running, live: deps.live };
  }

  const staged = await stageConfig(rendered, deps);
  const checkMs = elapsed();
  const { extraNames, checkWarnings, lastGood, discard, confirm } = staged;
  // Kept in memory in case there is no last-good copy yet (an HAProxy adopted before ipx ever confirmed one).
  const previousMain = await readIfExists(layout.config);
  await promoteStaged(layout);
  const live: LiveConfig = { hash: rendered.hash, extraNames };

  if (!running) {
    let haproxy: HaproxyProcess;
    try {
      haproxy = await deps.start();
    } catch (err) {
      await restoreFiles(layout, lastGood?.rendered, previousMain);
      // Nothing good to go back to: no config beats one that names files being removed.
      if (!lastGood && previousMain === undefined) await rm(layout.config, { force: true });
      await discard();
      throw err;
    }
    await confirm();
    const durationMs = elapsed();
    return { action: 'start', hash: rendered.hash, durationMs, checkWarnings, process: haproxy, live, phasesMs: { check: checkMs, start: durationMs - checkMs } };
  }

  let result: ReloadResult;
  try {
    result = await reload(running.cli, { timeoutMs: deps.reloadTimeoutMs, logFile: running.logFile });
  } catch (err) {
    await restoreFiles(layout, lastGood?.rendered, previousMain);
    const rollback = await reload(running.cli, { timeoutMs: deps.reloadTimeoutMs, logFile: running.logFile }).then(
      () => undefined,
      (rollbackErr: unknown) => rollbackErr,
    );
    await discard();
    const restored = lastGood ? `the last known-good configuration ${short(lastGood.rendered.hash)}` : 'the previous configuration';
    const outcome = rollback
      ? `Restored ${restored} on disk, but reloading it failed too (${errorMessage(rollback)}); the workers started before this change keep serving. Check ${running.logFile ?? 'the HAProxy log'} and restart HAProxy if this persists`
      : `Rolled back to ${restored}, which keeps serving; fix the cause and the next change will apply`;
    throw new HaproxyRuntimeError(`haproxy: applying configuration ${short(rendered.hash)} failed: ${errorMessage(err).replace(/^haproxy: /, '')}. ${outcome}.`, { cause: err });
  }
  await confirm();
  return {
    action: 'reload',
    hash: rendered.hash,
    durationMs: elapsed(),
    reloadMs: result.durationMs,
    phasesMs: { check: checkMs, reload: result.durationMs },
    checkWarnings,
    process: running,
    live,
    proc: result.proc,
  };
}

/** Puts the good files back into place: the whole last-good set, or at least the previous main config. */
async function restoreFiles(layout: RunDirLayout, lastGood: RenderedConfig | undefined, previousMain: string | undefined): Promise<void> {
  if (lastGood) await writeLive(layout, lastGood, extraFileNames(lastGood));
  else if (previousMain !== undefined) await writeFileAtomic(layout.config, previousMain);
}

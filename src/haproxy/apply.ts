import { mkdir, rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import { errorMessage, HaproxyRuntimeError } from '../errors.ts';
import { writeFileAtomic } from './atomic-write.ts';
import { checkConfig } from './check-config.ts';
import { readLastGood, saveLastGood } from './last-good.ts';
import { reload, type ReloadResult } from './reload.ts';
import { extraFileNames, STAGED_NAME, type RunDirLayout } from './run-dir.ts';
import { promoteStaged, pruneFiles, readIfExists, removeStagingLeftovers, stageFiles, writeLive } from './stage-files.ts';
import type { ExecFn } from './exec.ts';
import type { HaproxyProcess } from './process.ts';
import type { ShowProc } from './show-proc.ts';
import { MAIN_CONFIG, type RenderedConfig } from './types.ts';

/** What is live in runDir: the hash HAProxy was last confirmed with and its extra files. */
export interface LiveConfig {
  readonly hash: string;
  readonly extraNames: readonly string[];
}

export interface ApplyDeps {
  readonly layout: RunDirLayout;
  readonly binary: string;
  readonly reloadTimeoutMs: number;
  readonly logger: Logger;
  readonly exec?: ExecFn | undefined;
  /** The HAProxy to reload; undefined (or dead) means start one. */
  readonly running: HaproxyProcess | undefined;
  /** Starts HAProxy on the live config (called after the swap). */
  readonly start: () => Promise<HaproxyProcess>;
  readonly live: LiveConfig | undefined;
}

export interface ApplyResult {
  readonly action: 'noop' | 'start' | 'reload';
  readonly hash: string;
  readonly durationMs: number;
  readonly checkWarnings: string[];
  /** For a reload: how long the master took to confirm it. */
  readonly reloadMs?: number;
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
  const { layout, logger } = deps;
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const extraNames = extraFileNames(rendered);
  const running = deps.running?.alive() ? deps.running : undefined;
  if (running && deps.live?.hash === rendered.hash) {
    return { action: 'noop', hash: rendered.hash, durationMs: elapsed(), checkWarnings: [], process: running, live: deps.live };
  }

  await mkdir(layout.dir, { recursive: true });
  const lastGood = await readLastGood(layout);
  // Files a failure must not delete: those the live and the last-good configs name.
  const keep = new Set([...(deps.live?.extraNames ?? []), ...(lastGood ? extraFileNames(lastGood.rendered) : [])]);
  let written: string[];
  try {
    written = await stageFiles(layout, rendered, extraNames);
  } catch (err) {
    // Disk full or the like: leave runDir as it was (names not in `keep` are not live).
    await removeStagingLeftovers(layout);
    await pruneFiles(layout, extraNames, keep);
    throw new HaproxyRuntimeError(`haproxy: could not write the configuration into ${layout.dir} (${errorMessage(err)}); check free space and permissions`, { cause: err });
  }
  const discard = async () => {
    await removeStagingLeftovers(layout);
    await pruneFiles(layout, written, keep);
  };

  let checkWarnings: string[];
  try {
    ({ warnings: checkWarnings } = await checkConfig({
      binary: deps.binary,
      dir: layout.dir,
      configFile: STAGED_NAME,
      displayName: `${MAIN_CONFIG} (staged)`,
      exec: deps.exec,
    }));
  } catch (err) {
    await discard();
    throw err;
  }
  for (const warning of checkWarnings) logger.warn({ hash: short(rendered.hash), warning }, 'haproxy -c warning');

  // Kept in memory in case there is no last-good copy yet (an HAProxy adopted before ipx ever confirmed one).
  const previousMain = await readIfExists(layout.config);
  await promoteStaged(layout);
  const live: LiveConfig = { hash: rendered.hash, extraNames };
  const confirm = async () => {
    await saveLastGood(layout, rendered);
    await pruneFiles(layout, [...keep, ...written], new Set(extraNames));
  };

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
    return { action: 'start', hash: rendered.hash, durationMs: elapsed(), checkWarnings, process: haproxy, live };
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

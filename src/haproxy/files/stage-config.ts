import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-write.ts';
import type { Logger } from 'pino';
import { checkConfig } from '../check/check-config.ts';
import type { LastGood, LastGoodStore } from './last-good.ts';
import { extraFileNames, STAGED_NAME, type RunDirLayout } from './run-dir.ts';
import { pruneFiles, removeStagingLeftovers, stageFiles } from './stage-files.ts';
import type { ExecFn } from '../process/exec.ts';
import { MAIN_CONFIG, type RenderedConfig } from '../types.ts';
import type { Model } from '../../model/types.ts';

/** What is live in runDir: the hash HAProxy was last confirmed with, its extra files, and the model it came from. */
export interface LiveConfig {
  readonly hash: string;
  readonly extraNames: readonly string[];
  /** Undefined when not known (a hand-written config, or an HAProxy adopted from an earlier ipx). */
  readonly model?: Model;
}

export interface StageDeps {
  readonly layout: RunDirLayout;
  readonly binary: string;
  readonly logger: Logger;
  readonly exec?: ExecFn | undefined;
  readonly live: LiveConfig | undefined;
  readonly lastGood: LastGoodStore;
}

/**
 * The niceness of a check nobody waits on (the files of a runtime change, whose servers are
 * live already): under it, Consul, HAProxy and ipx keep the CPU while the check runs.
 */
export const BACKGROUND_NICENESS = 10;

/** A config staged beside the live one and accepted by `haproxy -c`, not yet swapped in. */
export interface StagedConfig {
  readonly extraNames: string[];
  readonly checkWarnings: string[];
  readonly lastGood: LastGood | undefined;
  /** Removes the staged main config and the extra files only this staging wrote. */
  discard(): Promise<void>;
  /** After the swap: records it as last-known-good and prunes files no live or good config names. */
  confirm(): Promise<void>;
}

/**
 * Stage → `haproxy -c`. Shared by the reload and the runtime transactions:
 * both swap in a checked file, so that the config on disk is always the one
 * a reload or a restart would bring back. A failed check leaves runDir as it was.
 */
export async function stageConfig(rendered: RenderedConfig, deps: StageDeps, options: { readonly background?: boolean } = {}): Promise<StagedConfig> {
  const { layout, logger } = deps;
  const extraNames = extraFileNames(rendered);
  await mkdir(layout.dir, { recursive: true });
  const lastGood = await deps.lastGood.read();
  // Files a failure must not delete: those the live and the last-good configs name.
  const keep = new Set([...(deps.live?.extraNames ?? []), ...(lastGood ? extraFileNames(lastGood.rendered) : [])]);
  let written: string[];
  try {
    written = await stageFiles(layout, rendered, extraNames);
  } catch (err) {
    // Disk full or the like: leave runDir as it was (names not in `keep` are not live).
    await removeStagingLeftovers(layout);
    await pruneFiles(layout, extraNames, keep);
    // writeFileAtomic already names the file and the fix; wrapping again would say it twice.
    throw err;
  }
  const discard = async () => {
    await removeStagingLeftovers(layout);
    await pruneFiles(layout, written, keep);
    // A fixed-name file that is live (the version split map) goes back to what the last good config has.
    for (const name of written) {
      const good = lastGood?.rendered.files[name];
      if (keep.has(name) && good !== undefined) await writeFileAtomic(join(layout.dir, name), good);
    }
  };

  let checkWarnings: string[];
  try {
    ({ warnings: checkWarnings } = await checkConfig({
      binary: deps.binary,
      dir: layout.dir,
      configFile: STAGED_NAME,
      displayName: `${MAIN_CONFIG} (staged)`,
      exec: deps.exec,
      ...(options.background ? { niceness: BACKGROUND_NICENESS } : {}),
    }));
  } catch (err) {
    await discard();
    throw err;
  }
  for (const warning of checkWarnings) logger.warn({ hash: rendered.hash.slice(0, 12), warning }, 'haproxy -c warning');

  return {
    extraNames,
    checkWarnings,
    lastGood,
    discard,
    confirm: async () => {
      await deps.lastGood.save(rendered);
      await pruneFiles(layout, [...keep, ...written], new Set(extraNames));
    },
  };
}

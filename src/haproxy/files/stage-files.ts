import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { renameDurable, TEMP_PREFIX, writeFileAtomic } from './atomic-write.ts';
import { STAGED_NAME, type RunDirLayout } from './run-dir.ts';
import { MAIN_CONFIG, type RenderedConfig } from '../types.ts';

/**
 * Writes the extra files under their own names (content-addressed names never
 * clash with the live ones) and the main config as `.haproxy.cfg.next` beside
 * the live one, so `haproxy -c` on it resolves relative names exactly as the
 * live config will. Returns the extra names it had to write.
 */
export async function stageFiles(layout: RunDirLayout, rendered: RenderedConfig, extraNames: readonly string[]): Promise<string[]> {
  const written: string[] = [];
  for (const name of extraNames) {
    const content = rendered.files[name] ?? '';
    if ((await readIfExists(join(layout.dir, name))) === content) continue;
    await writeFileAtomic(join(layout.dir, name), content);
    written.push(name);
  }
  await writeFileAtomic(layout.staged, rendered.files[MAIN_CONFIG] ?? '');
  return written;
}

/** The swap: the staged main config becomes the live one in one rename. */
export async function promoteStaged(layout: RunDirLayout): Promise<void> {
  await renameDurable(layout.staged, layout.config);
}

/** Writes a full set of files into place, the main config last so it only names files already there. */
export async function writeLive(layout: RunDirLayout, rendered: RenderedConfig, extraNames: readonly string[]): Promise<void> {
  for (const name of extraNames) await writeFileAtomic(join(layout.dir, name), rendered.files[name] ?? '');
  await writeFileAtomic(layout.config, rendered.files[MAIN_CONFIG] ?? '');
}

/** Removes `candidates` not in `keep`. Only names ipx wrote are ever candidates, so sockets and logs are safe. */
export async function pruneFiles(layout: RunDirLayout, candidates: Iterable<string>, keep: ReadonlySet<string>): Promise<string[]> {
  const removed: string[] = [];
  for (const name of new Set(candidates)) {
    if (keep.has(name) || name === MAIN_CONFIG) continue;
    if (await unlinkIfExists(join(layout.dir, name))) removed.push(name);
  }
  return removed;
}

/** A staged config that failed its check, and temp files a crash left behind. */
export async function removeStagingLeftovers(layout: RunDirLayout): Promise<void> {
  const names = await readdir(layout.dir).catch(() => [] as string[]);
  for (const name of names) {
    if (name === STAGED_NAME || name.startsWith(TEMP_PREFIX)) await unlinkIfExists(join(layout.dir, name));
  }
}

export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function unlinkIfExists(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

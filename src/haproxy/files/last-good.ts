import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage, HaproxyRuntimeError } from '../../errors.ts';
import { writeFileAtomic } from './atomic-write.ts';
import type { RunDirLayout } from './run-dir.ts';
import type { RenderedConfig } from '../types.ts';

/** The configuration a reload last confirmed, kept to roll back to and to cold-start from. */
export interface LastGood {
  readonly rendered: RenderedConfig;
  /** ISO time the reload that confirmed it finished. */
  readonly savedAt: string;
}

interface Manifest {
  readonly hash: string;
  readonly dir: string;
  readonly files: string[];
  readonly savedAt: string;
}

const POINTER = 'current.json';

/**
 * Each good config is copied into its own folder (named by hash) and then
 * `current.json` is switched to it in one atomic write, so a crash never
 * leaves a half-updated copy; older folders are removed afterwards.
 */
export async function saveLastGood(layout: RunDirLayout, rendered: RenderedConfig, now = new Date()): Promise<void> {
  const dir = `h-${rendered.hash.replace(/[^A-Za-z0-9]/g, '').slice(0, 64)}`;
  const folder = join(layout.lastGoodDir, dir);
  await mkdir(folder, { recursive: true });
  const files = Object.keys(rendered.files).sort();
  for (const name of files) await writeFileAtomic(join(folder, name), rendered.files[name] ?? '');
  const manifest: Manifest = { hash: rendered.hash, dir, files, savedAt: now.toISOString() };
  await writeFileAtomic(join(layout.lastGoodDir, POINTER), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const entry of await readdir(layout.lastGoodDir)) {
    if (entry !== dir && entry !== POINTER && entry.startsWith('h-')) await rm(join(layout.lastGoodDir, entry), { recursive: true, force: true });
  }
}

/** The last good configuration, or undefined when none was ever confirmed here. */
export async function readLastGood(layout: RunDirLayout): Promise<LastGood | undefined> {
  let text: string;
  try {
    text = await readFile(join(layout.lastGoodDir, POINTER), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const manifest = JSON.parse(text) as Manifest;
    const files: Record<string, string> = {};
    for (const name of manifest.files) files[name] = await readFile(join(layout.lastGoodDir, manifest.dir, name), 'utf8');
    return { rendered: { files, hash: manifest.hash }, savedAt: manifest.savedAt };
  } catch (err) {
    throw new HaproxyRuntimeError(
      `haproxy: the last-known-good copy in ${layout.lastGoodDir} is unreadable (${errorMessage(err)}); delete that folder and ipx will save a new one after the next confirmed reload`,
      { cause: err },
    );
  }
}

/**
 * The last good copy, read from disk once and then kept in memory: this process
 * writes every new copy itself, so reading it back on every apply (megabytes at
 * thousands of services) would only return what it already holds.
 */
export interface LastGoodStore {
  read(): Promise<LastGood | undefined>;
  save(rendered: RenderedConfig): Promise<void>;
}

export function createLastGoodStore(layout: RunDirLayout): LastGoodStore {
  let known: { readonly value: LastGood | undefined } | undefined;
  return {
    read: async () => (known ??= { value: await readLastGood(layout) }).value,
    save: async (rendered) => {
      const now = new Date();
      // Forget first: if the write fails half-way, the next read goes to the disk again.
      known = undefined;
      await saveLastGood(layout, rendered, now);
      known = { value: { rendered, savedAt: now.toISOString() } };
    },
  };
}

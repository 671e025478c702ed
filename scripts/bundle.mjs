// ipx's TypeScript sources bundled into plain JavaScript under dist/ (the CLI and the composites
// aggregator's child process), built again whenever a source is newer than the bundle. Running
// the bundle instead of the sources through tsx spares the process tsx's loader thread: 24-30 MB
// of resident memory at 1,000 and 5,000 services, measured with bench:scale (README, Performance).
import { mkdir, readdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = path.join(ROOT, 'dist');
/** Bundles by source entry point, paths relative to src/ and dist/ alike (src/runner/assets.ts counts on the depth). */
const ENTRIES = { 'cli/main': 'cli/main.ts', 'composites/child': 'composites/child.ts' };

async function newestSource(dir) {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, await newestSource(file));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, (await stat(file)).mtimeMs);
  }
  return newest;
}

async function isFresh() {
  const newest = Math.max(await newestSource(path.join(ROOT, 'src')), (await stat(fileURLToPath(import.meta.url))).mtimeMs);
  for (const name of Object.keys(ENTRIES)) {
    const built = await stat(path.join(DIST, `${name}.mjs`)).catch(() => undefined);
    if (!built || built.mtimeMs < newest) return false;
  }
  return true;
}

async function build() {
  const { build: esbuild } = await import('esbuild');
  const result = await esbuild({
    absWorkingDir: ROOT,
    entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, source]) => [name, path.join('src', source)])),
    outdir: DIST,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    write: false,
    logLevel: 'silent',
  });
  // Each file is written beside its place and renamed into it: a process starting meanwhile reads
  // the old bundle or the new one, never half of one.
  for (const file of result.outputFiles) {
    await mkdir(path.dirname(file.path), { recursive: true });
    const temporary = `${file.path}.${process.pid}.tmp`;
    await writeFile(temporary, file.contents);
    await rename(temporary, file.path);
  }
}

/**
 * The bundle's file URL for `name` (a key of ENTRIES), built first when missing or older than a
 * source; undefined when it cannot be built here (a read-only install): the caller then runs the
 * sources through tsx, which behaves the same.
 */
export async function bundled(name) {
  try {
    if (!(await isFresh())) await build();
    return pathToFileURL(path.join(DIST, `${name}.mjs`)).href;
  } catch {
    return undefined;
  }
}

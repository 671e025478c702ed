/**
 * The launcher (scripts/ipx.mjs) runs ipx from a bundle of its sources, built again whenever a
 * source is newer, and through tsx where the bundle cannot be written. Each test works on a copy
 * of the package (scripts, sources, templates, package.json; node_modules linked), so that
 * rebuilding never races the other tests' processes.
 */
import { execFile, fork } from 'node:child_process';
import { cp, readFile, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/ipx-cli.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import type { ReplyMessage, StateMessage } from '../../src/composites/messages.ts';

const dir = useTempDir('ipx-launcher-');
const VERSION = (JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

async function copyPackage(): Promise<string> {
  const copy = dir();
  for (const part of ['scripts', 'src', 'templates', 'package.json']) await cp(path.join(ROOT, part), path.join(copy, part), { recursive: true });
  await symlink(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
  return copy;
}

async function version(copy: string): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(copy, 'scripts', 'ipx.mjs'), '--version'], { cwd: copy, timeout: 30_000 });
  return stdout.trim();
}

const mtime = async (file: string) => (await stat(file)).mtimeMs;

describe('the ipx launcher', () => {
  it('builds the bundle on first use, and runs the CLI from it', async () => {
    const copy = await copyPackage();
    expect(await version(copy)).toContain(`ipx ${VERSION}`);
    for (const bundle of ['dist/cli/main.mjs', 'dist/composites/child.mjs']) expect((await stat(path.join(copy, bundle))).size).toBeGreaterThan(1000);
    // The CLI's path to the aggregator's child, as bundled, leads to the child's bundle.
    expect(await readFile(path.join(copy, 'dist/cli/main.mjs'), 'utf8')).toContain('../composites/child.mjs');
  });

  it('builds again when a source is newer than the bundle, and only then', async () => {
    const copy = await copyPackage();
    await version(copy);
    const bundle = path.join(copy, 'dist/cli/main.mjs');
    const first = await mtime(bundle);
    await version(copy);
    expect(await mtime(bundle)).toBe(first);
    // A source edited after the build: the next run runs the edit, not the old bundle.
    const source = path.join(copy, 'src/cli/program.ts');
    await writeFile(source, (await readFile(source, 'utf8')).replace('(node ${process.version})', '(edited)'));
    const later = new Date(first + 5_000);
    await utimes(source, later, later);
    expect(await version(copy)).toBe(`ipx ${VERSION} (edited)`);
    expect(await mtime(bundle)).toBeGreaterThan(first);
  });

  it('runs the sources through tsx where the bundle cannot be written', async () => {
    const copy = await copyPackage();
    // dist is a file: no folder can be made there.
    await writeFile(path.join(copy, 'dist'), 'not a folder');
    expect(await version(copy)).toContain(`ipx ${VERSION}`);
  });

  it('starts the bundled aggregator, which serves the state it is given', async () => {
    const copy = await copyPackage();
    await version(copy);
    const child = fork(path.join(copy, 'dist/composites/child.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    try {
      const reply = new Promise<ReplyMessage>((resolve) => child.once('message', (message: ReplyMessage) => resolve(message)));
      const state: StateMessage = {
        type: 'state',
        listen: '127.0.0.1:0',
        state: { settings: { gateway: '127.0.0.1:1', maxPartBodyBytes: 1024, cacheEntries: 0, forwardHeaders: [] }, routes: [] },
      };
      child.send(state);
      const answer = await reply;
      expect(answer.type).toBe('ready');
      const res = await fetch(`http://${answer.type === 'ready' ? answer.address : ''}/nothing-here`);
      expect(res.status).toBe(404);
    } finally {
      child.kill();
    }
  });
});

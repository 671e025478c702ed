import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HaproxyCheckError, HaproxyRuntimeError } from '../../src/errors.ts';
import { applyRender, checkConfig, execCommand, persistRuntime, runDirLayout, writeFileAtomic, type ApplyDeps, type ExecFn, type RenderedConfig } from '../../src/haproxy/index.ts';
import { BACKGROUND_NICENESS } from '../../src/haproxy/files/stage-config.ts';
import type { Model } from '../../src/model/types.ts';
import { createLastGoodStore, readLastGood, saveLastGood } from '../../src/haproxy/files/last-good.ts';

const rendered = (main: string, map: string): RenderedConfig => ({
  files: { 'haproxy.cfg': `${main}\nuse_backend %[req.hdr(host),map(hosts-${map}.map)]\n`, [`hosts-${map}.map`]: `${map}.test be_${map}\n` },
  hash: `hash-${main}-${map}`,
});

const accept: ExecFn = async () => ({ exitCode: 0, stdout: 'Configuration file is valid\n', stderr: '' });
const reject: ExecFn = async (_file, args) => ({
  exitCode: 1,
  stdout: '',
  stderr: `[ALERT]    (1) : config : parsing [${args[2]}:3] : unknown keyword 'bogus' in 'frontend' section\n[ALERT]    (1) : config : Fatal errors found in configuration.\n`,
});

describe('files in runDir', () => {
  let dir: string;
  const deps = (overrides: Partial<ApplyDeps> = {}): ApplyDeps => ({
    layout: runDirLayout(dir),
    binary: 'haproxy',
    reloadTimeoutMs: 1000,
    logger: pino({ level: 'silent' }),
    exec: accept,
    running: undefined,
    start: () => Promise.reject(new Error('must not start')),
    live: undefined,
    lastGood: createLastGoodStore(runDirLayout(dir)),
    ...overrides,
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ipx-files-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes atomically with mode 0644 and leaves no temp file', async () => {
    await writeFileAtomic(join(dir, 'a.map'), 'one');
    await writeFileAtomic(join(dir, 'a.map'), 'two');
    expect(await readFile(join(dir, 'a.map'), 'utf8')).toBe('two');
    expect((await stat(join(dir, 'a.map'))).mode & 0o777).toBe(0o644);
    expect(await readdir(dir)).toEqual(['a.map']);
  });

  it('keeps the last-good copy in memory once read or saved, and saves it to disk too', async () => {
    const layout = runDirLayout(dir);
    await saveLastGood(layout, rendered('one', 'aaa'));
    const store = createLastGoodStore(layout);
    expect((await store.read())?.rendered).toEqual(rendered('one', 'aaa'));
    // Changed behind its back: the store does not read the disk again.
    await saveLastGood(layout, rendered('disk', 'ccc'));
    expect((await store.read())?.rendered).toEqual(rendered('one', 'aaa'));
    await store.save(rendered('two', 'bbb'));
    expect((await store.read())?.rendered).toEqual(rendered('two', 'bbb'));
    expect((await readLastGood(layout))?.rendered).toEqual(rendered('two', 'bbb'));
  });

  it('keeps the last-good copy as a whole set and switches it in one write', async () => {
    const layout = runDirLayout(dir);
    await saveLastGood(layout, rendered('one', 'aaa'));
    await saveLastGood(layout, rendered('two', 'bbb'));
    expect((await readLastGood(layout))?.rendered).toEqual(rendered('two', 'bbb'));
    expect((await readdir(layout.lastGoodDir)).length).toBe(2);
  });

  it('a check failure swaps nothing, deletes what it staged and names the line', async () => {
    const layout = runDirLayout(dir);
    const live = rendered('live', 'aaa');
    await writeFile(layout.config, live.files['haproxy.cfg'] as string);
    await writeFile(join(dir, 'hosts-aaa.map'), live.files['hosts-aaa.map'] as string);
    const error = await applyRender(rendered('next', 'bbb'), deps({ exec: reject, live: { hash: live.hash, extraNames: ['hosts-aaa.map'] } })).catch(
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(HaproxyCheckError);
    expect((error as Error).message).toContain("parsing [haproxy.cfg (staged):3] : unknown keyword 'bogus'");
    expect(await readFile(layout.config, 'utf8')).toBe(live.files['haproxy.cfg']);
    expect((await readdir(dir)).sort()).toEqual(['haproxy.cfg', 'hosts-aaa.map']);
  });

  it('refuses rendered names that are not plain files in runDir', async () => {
    for (const name of ['../x.map', 'sub/x.map', '.hidden', 'haproxy.pid', 'master.sock']) {
      await expect(applyRender({ files: { 'haproxy.cfg': '', [name]: '' }, hash: 'h' }, deps())).rejects.toThrow(HaproxyRuntimeError);
    }
    await expect(applyRender({ files: { 'other.cfg': '' }, hash: 'h' }, deps())).rejects.toThrow(/no haproxy.cfg/);
  });

  it('runDir must be absolute and the socket path short enough', () => {
    expect(() => runDirLayout('./run')).toThrow(/absolute/);
    expect(() => runDirLayout(`/${'x'.repeat(120)}`)).toThrow(/longer than 107 bytes/);
    expect(runDirLayout('/run/ipx', '/run/master.sock').masterSocket).toBe('/run/master.sock');
  });
});

describe('the niceness of haproxy -c', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ipx-nice-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('checks the files of a runtime change in the background, and a reload\'s check as usual', async () => {
    const seen: Array<number | undefined> = [];
    const exec: ExecFn = async (_file, _args, options) => {
      seen.push(options?.niceness);
      return { exitCode: 0, stdout: 'Configuration file is valid\n', stderr: '' };
    };
    const base = { layout: runDirLayout(dir), binary: 'haproxy', logger: pino({ level: 'silent' }), exec, live: undefined, lastGood: createLastGoodStore(runDirLayout(dir)) };
    await persistRuntime(rendered('runtime', 'aaa'), {} as Model, base);
    await applyRender(rendered('reload', 'bbb'), { ...base, reloadTimeoutMs: 1000, running: undefined, start: async () => ({}) as never }).catch(() => undefined);
    expect(seen).toEqual([BACKGROUND_NICENESS, undefined]);
  });

  it('runs a command at the niceness asked for', async () => {
    // Field 19 of /proc/<pid>/stat is the niceness; the sleep lets the priority be set first.
    const result = await execCommand('sh', ['-c', 'sleep 0.3; cut -d" " -f19 /proc/$$/stat'], { niceness: BACKGROUND_NICENESS });
    expect(result.stdout.trim()).toBe(String(Math.max(BACKGROUND_NICENESS, getPriority())));
    expect((await execCommand('sh', ['-c', 'cut -d" " -f19 /proc/$$/stat'])).stdout.trim()).toBe(String(getPriority()));
  });
});

describe('checkConfig', () => {
  it('returns warnings on exit 0', async () => {
    const exec: ExecFn = async () => ({ exitCode: 0, stdout: 'Configuration file is valid\n', stderr: "[WARNING]  (1) : config : missing timeouts for frontend 'fe'.\n" });
    expect((await checkConfig({ binary: 'haproxy', dir: '/run/ipx-test', configFile: 'haproxy.cfg', exec })).warnings).toEqual(["config : missing timeouts for frontend 'fe'."]);
  });

  it('says how to fix a missing binary', async () => {
    const exec: ExecFn = async () => ({ exitCode: undefined, stdout: '', stderr: '', failure: 'spawn haproxy ENOENT' });
    await expect(checkConfig({ binary: 'haproxy', dir: '/run/ipx-test', configFile: 'haproxy.cfg', exec })).rejects.toThrow(/set haproxy.binary/);
  });

  it('quotes the last lines when there is no [ALERT]', async () => {
    const exec: ExecFn = async () => ({ exitCode: 1, stdout: '', stderr: 'something odd\n' });
    await expect(checkConfig({ binary: 'haproxy', dir: '/run/ipx-test', configFile: 'haproxy.cfg', exec })).rejects.toThrow(/something odd/);
  });
});

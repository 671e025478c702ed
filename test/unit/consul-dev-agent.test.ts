import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findConsulBinary } from '../../src/consul/dev-agent.ts';
import { ConsulError } from '../../src/errors.ts';

let root: string;

async function executable(file: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, '#!/bin/sh\n');
  await chmod(file, 0o755);
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'ipx-consul-bin-'));
  await executable(path.join(root, 'bin', 'consul'));
  await executable(path.join(root, 'repo', '.tools', 'consul', 'usr', 'bin', 'consul'));
  await mkdir(path.join(root, 'repo', 'src', 'deep'), { recursive: true });
  await mkdir(path.join(root, 'elsewhere'), { recursive: true });
  // A file named consul that is not executable must be skipped.
  await mkdir(path.join(root, 'notexec'));
  await writeFile(path.join(root, 'notexec', 'consul'), '');
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('findConsulBinary', () => {
  it('takes consul from PATH first', async () => {
    const env = { PATH: [path.join(root, 'notexec'), path.join(root, 'bin')].join(path.delimiter) };
    expect(await findConsulBinary(path.join(root, 'repo'), env)).toBe(path.join(root, 'bin', 'consul'));
  });

  it('falls back to .tools/ of the repository, also from a subdirectory', async () => {
    const want = path.join(root, 'repo', '.tools', 'consul', 'usr', 'bin', 'consul');
    expect(await findConsulBinary(path.join(root, 'repo', 'src', 'deep'), { PATH: '' })).toBe(want);
  });

  it('names `npm run setup` when there is none', async () => {
    const error = await findConsulBinary(path.join(root, 'elsewhere'), { PATH: path.join(root, 'notexec') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConsulError);
    expect((error as Error).message).toMatch(/no consul binary on PATH .*; run `npm run setup`/);
  });
});

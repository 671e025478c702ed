/**
 * startDevAgent({ server: true }): a single server as production runs one, for
 * benchmarks that must not count -dev's own costs (bench:scale --agent server).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevAgent } from '../../src/consul/index.ts';
import { ConsulError } from '../../src/errors.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ipx-server-agent-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// The agent's own description: there from the start (the catalog fills a moment after the election).
async function selfText(address: string): Promise<string> {
  const res = await fetch(`${address}/v1/agent/self`);
  return res.text();
}

describe('a server agent', () => {
  it('answers without -dev\'s indentation and keeps its state on disk', async () => {
    const [server, dev] = await Promise.all([startDevAgent({ server: true, dataDir: path.join(dir, 'data') }), startDevAgent()]);
    try {
      const compact = await selfText(server.address);
      expect(compact.startsWith('{"')).toBe(true);
      expect(JSON.parse(compact).Config.Server).toBe(true);
      // The same question to a -dev agent: one key per line.
      expect((await selfText(dev.address)).startsWith('{\n    "')).toBe(true);
      expect(await readdir(path.join(dir, 'data'))).toContain('raft');
    } finally {
      await Promise.all([server.stop(), dev.stop()]);
    }
  });

  it('is refused without a folder for its state', async () => {
    await expect(startDevAgent({ server: true })).rejects.toThrow(ConsulError);
    await expect(startDevAgent({ server: true })).rejects.toThrow(/dataDir/);
  });
});

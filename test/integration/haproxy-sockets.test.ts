/** haproxy.socketGroup: the master and admin sockets shared with a group (0660), with real processes. */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startDevAgent, type DevAgent } from '../../src/consul/index.ts';
import { eventually } from '../helpers/http.ts';
import { makeRunDir, removeRunDir, startTestDaemon, type TestDaemon } from '../helpers/ipx-daemon.ts';

// The "daemon" group (gid 1) exists on every Debian system.
const GROUP = 'daemon';
const GID = 1;
let agent: DevAgent | undefined;
let d: TestDaemon | undefined;
let runDir: string | undefined;

afterAll(async () => {
  await d?.stop();
  await agent?.stop();
  if (runDir) await removeRunDir(runDir);
});

describe('haproxy.socketGroup', () => {
  it('gives the group read-write access to both sockets and nobody else', async () => {
    agent = await startDevAgent({ cwd: path.resolve(import.meta.dirname, '../..') });
    runDir = await makeRunDir('sockets');
    d = await startTestDaemon(agent.address, runDir, { haproxy: { socketGroup: GROUP } });
    const daemon = d;
    await eventually(async () => (daemon.daemon.readiness().ready ? true : undefined), 10_000, 'ready');
    for (const socket of ['master.sock', 'admin.sock']) {
      const info = await stat(path.join(runDir, socket));
      expect(info.mode & 0o777, socket).toBe(0o660);
      expect(info.gid, socket).toBe(GID);
    }
  });
});

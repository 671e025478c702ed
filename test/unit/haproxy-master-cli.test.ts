import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HaproxyRuntimeError } from '../../src/errors.ts';
import { checkBindable, createMasterCli } from '../../src/haproxy/index.ts';
import { holdPort } from '../helpers/ports.ts';

const SHOW_PROC = '#<PID> <type> <reloads> <uptime> <version>\n10 master 1 [failed: 0] 0d00h00m01s 2.6\n# workers\n11 worker 0 0d00h00m01s 2.6\n';

/** A stand-in master CLI: answers only once the client half-closes, like HAProxy's. */
function fakeMaster(path: string, answer: (command: string) => string): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer({ allowHalfOpen: true }, (socket) => {
      let input = '';
      socket.on('data', (chunk) => (input += chunk));
      socket.on('end', () => socket.end(answer(input.trim())));
    });
    server.listen(path, () => resolve(server));
  });
}

describe('master CLI client', () => {
  let dir: string;
  let servers: Server[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ipx-cli-'));
  });
  afterEach(async () => {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    servers = [];
    await rm(dir, { recursive: true, force: true });
  });

  it('sends one command, reads to the close and parses show proc', async () => {
    const seen: string[] = [];
    servers.push(await fakeMaster(join(dir, 'm.sock'), (command) => (seen.push(command), SHOW_PROC)));
    const proc = await createMasterCli({ socketPath: join(dir, 'm.sock') }).showProc();
    expect(seen).toEqual(['show proc']);
    expect(proc.master).toMatchObject({ pid: 10, reloads: 1, failed: 0 });
    expect(proc.workers.map((w) => w.pid)).toEqual([11]);
  });

  it('retries while the socket refuses connections (the master re-executing)', async () => {
    const cli = createMasterCli({ socketPath: join(dir, 'm.sock') });
    const later = sleep(300).then(async () => servers.push(await fakeMaster(join(dir, 'm.sock'), () => SHOW_PROC)));
    const proc = await cli.showProc({ waitMs: 3000 });
    await later;
    expect(proc.master.pid).toBe(10);
  });

  it('gives up with a message naming the socket', async () => {
    const cli = createMasterCli({ socketPath: join(dir, 'none.sock') });
    const error = await cli.showProc({ waitMs: 200 }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(HaproxyRuntimeError);
    expect((error as Error).message).toMatch(/none\.sock did not answer 'show proc' \(ENOENT after retrying for 200 ms\)/);
  });

  it('times out an exchange that never ends', async () => {
    const held: Socket[] = [];
    const server = createServer({ allowHalfOpen: true }, (socket) => void held.push(socket));
    await new Promise<void>((resolve) => server.listen(join(dir, 'mute.sock'), resolve));
    servers.push(server);
    await expect(createMasterCli({ socketPath: join(dir, 'mute.sock'), exchangeTimeoutMs: 200 }).command('show proc')).rejects.toThrow(/ETIMEDOUT/);
    for (const socket of held) socket.destroy();
  });
});

describe('checkBindable', () => {
  it('passes for a free port and names the config key for one in use', async () => {
    const held = await holdPort();
    try {
      await expect(checkBindable(['127.0.0.1:0'])).resolves.toBeUndefined();
      await expect(checkBindable([{ address: `127.0.0.1:${held.port}`, key: 'listen.http' }])).rejects.toThrow(
        `listen.http 127.0.0.1:${held.port} is in use by another process; choose another port with listen.http`,
      );
      await expect(checkBindable(['192.0.2.1:80'])).rejects.toThrow(/192.0.2.1:80 is not an address of this host/);
    } finally {
      await held.release();
    }
  });
});

import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createDrainer } from '../../src/haproxy/runtime/drainer.ts';
import type { AdminCli } from '../../src/haproxy/runtime/admin-cli.ts';
import type { ServerLoad } from '../../src/haproxy/runtime/show-stat.ts';
import type { ServerModel } from '../../src/model/types.ts';

/** A stand-in runtime API: records commands, reports the load a test scripts, deletes on request. */
function fakeAdmin(script: { loads: Array<ServerLoad | 'gone'>; refuseDeletes?: number }) {
  const commands: string[] = [];
  let polls = 0;
  let refusals = script.refuseDeletes ?? 0;
  const admin: AdminCli = {
    socketPath: '/dev/null',
    command: async (text) => {
      commands.push(text);
      if (text.startsWith('del server')) return refusals-- > 0 ? 'Server still has connections attached to it, cannot remove it.\n' : 'Server deleted.\n';
      return '\n';
    },
    run: async (command) => {
      commands.push(command.text);
      return '';
    },
    serversState: async () => {
      throw new Error('not used');
    },
    serverLoad: async () => {
      const load = script.loads[Math.min(polls++, script.loads.length - 1)] ?? 'gone';
      return new Map(load === 'gone' ? [] : [['s1', load]]);
    },
  };
  return { admin, commands };
}

const server = (state: 'ready' | 'maint'): ServerModel => ({ name: 's1', instanceId: 's1', address: '10.0.0.1', port: 80, weight: 1, state, version: null });
const busy = { sessions: 1, queued: 0 };
const empty = { sessions: 0, queued: 0 };
const logger = pino({ level: 'silent' });

function drainer(admin: AdminCli, timeoutMs = 10_000) {
  return createDrainer({ admin, timeoutMs, pollMs: 5, exclusive: (task) => task(), logger });
}

describe('drainer', () => {
  it('drains a ready server, waits for its sessions to end, then deletes it', async () => {
    const { admin, commands } = fakeAdmin({ loads: [busy, busy, empty] });
    const d = drainer(admin);
    await d.start('b', server('ready'));
    expect(d.draining()).toEqual(new Set(['b/s1']));
    await d.idle();
    expect(commands).toEqual(['set server b/s1 state drain', 'set server b/s1 state maint', 'del server b/s1']);
    expect(d.draining().size).toBe(0);
  });

  it('leaves a server in maintenance there (drain would put it back in service)', async () => {
    const { admin, commands } = fakeAdmin({ loads: [empty] });
    const d = drainer(admin);
    await d.start('b', server('maint'));
    await d.idle();
    expect(commands).toEqual(['set server b/s1 state maint', 'del server b/s1']);
  });

  it('cuts the sessions left at the drain timeout', async () => {
    const { admin, commands } = fakeAdmin({ loads: [busy] });
    const d = drainer(admin, 30);
    await d.start('b', server('ready'));
    await d.idle();
    expect(commands).toEqual(['set server b/s1 state drain', 'shutdown sessions server b/s1', 'set server b/s1 state maint', 'del server b/s1']);
  });

  it('tries the delete again while HAProxy refuses it', async () => {
    const { admin, commands } = fakeAdmin({ loads: [empty], refuseDeletes: 2 });
    const d = drainer(admin);
    await d.start('b', server('ready'));
    await d.idle();
    expect(commands.filter((c) => c.startsWith('del server'))).toHaveLength(3);
  });

  it('stops without deleting when cancelled (the instance came back) or when the server is gone (a reload)', async () => {
    const cancelled = fakeAdmin({ loads: [busy] });
    const d1 = drainer(cancelled.admin);
    await d1.start('b', server('ready'));
    expect(d1.cancel('b', 's1')).toBe(true);
    expect(d1.cancel('b', 's1')).toBe(false);
    await d1.idle();
    expect(cancelled.commands).toEqual(['set server b/s1 state drain']);

    const gone = fakeAdmin({ loads: ['gone'] });
    const d2 = drainer(gone.admin);
    await d2.start('b', server('ready'));
    await d2.idle();
    expect(gone.commands).toEqual(['set server b/s1 state drain']);

    const forgotten = fakeAdmin({ loads: [busy] });
    const d3 = drainer(forgotten.admin);
    await d3.start('b', server('ready'));
    d3.forget();
    await d3.idle();
    expect(forgotten.commands).toEqual(['set server b/s1 state drain']);
  });
});

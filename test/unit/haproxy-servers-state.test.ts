import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HaproxyRuntimeError } from '../../src/errors.ts';
import { liveMismatches } from '../../src/haproxy/runtime/live-vs-model.ts';
import { adminCommands } from '../../src/haproxy/runtime/runtime-commands.ts';
import { serverStateFor } from '../../src/haproxy/files/server-state-file.ts';
import { isDraining, isMaint, parseServersState } from '../../src/haproxy/runtime/servers-state.ts';
import { parseServerLoad } from '../../src/haproxy/runtime/show-stat.ts';
import { buildModel } from '../../src/model/build-model.ts';
import { config, instance, service, snapshot } from '../helpers/model-fakes.ts';

const COLUMNS =
  '# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port';
const line = (backend: string, server: string, addr: string, port: number, admin: number, weight: number) =>
  `3 ${backend} 1 ${server} ${addr} 2 ${admin} ${weight} ${weight} 12 1 0 2 0 0 0 0 - ${port} - 0 0 - - 0`;
/** As HAProxy 2.6.12 prints it (captured), with lines built by `line`. */
const dump = (...lines: string[]) => `1\n${COLUMNS}\n${lines.join('\n')}\n\n`;

const model = buildModel({
  snapshot: snapshot(
    service('web', [
      instance({ id: 'w1', address: '127.0.0.1', port: 8001 }),
      instance({ id: 'w2', address: '2001:db8::2', port: 8002, weight: 3 }),
      instance({ id: 'w3', address: '127.0.0.3', port: 8003, status: 'critical' }),
    ]),
  ),
  config: config(),
});

describe('parseServersState', () => {
  it('reads the columns ipx needs by name and keeps each line', () => {
    const text = dump(line('svc_web', 'w1', '127.0.0.1', 8001, 0, 1), line('svc_web', 'w3', '127.0.0.3', 8003, 5, 1));
    const { header, servers } = parseServersState(text);
    expect(header).toBe(`1\n${COLUMNS}\n`);
    expect(servers.map(({ line: _line, ...rest }) => rest)).toEqual([
      { backend: 'svc_web', server: 'w1', address: '127.0.0.1', port: 8001, opState: 2, adminState: 0, weight: 1 },
      { backend: 'svc_web', server: 'w3', address: '127.0.0.3', port: 8003, opState: 2, adminState: 5, weight: 1 },
    ]);
  });

  it('reads each column as splitting the line on whitespace would, whatever the spacing and however short the line', () => {
    // Not starting with '#': such a line is a comment.
    const token = fc.stringMatching(/^[!-"$-~][!-~]{0,11}$/);
    const gap = fc.constantFrom(' ', '  ', '\t', ' \t ');
    const names = COLUMNS.slice(2).split(' ');
    fc.assert(
      fc.property(fc.array(fc.tuple(token, gap), { minLength: 1, maxLength: 27 }), fc.constantFrom('', ' ', '\r'), (fields, tail) => {
        const text = fields.map(([value, space]) => value + space).join('').trimEnd() + tail;
        const split = text.trim().split(/\s+/);
        const at = (column: string) => split[names.indexOf(column)] ?? '';
        const [server] = parseServersState(dump(text)).servers;
        expect(server).toEqual({
          backend: at('be_name'),
          server: at('srv_name'),
          address: at('srv_addr'),
          port: Number(at('srv_port')),
          opState: Number(at('srv_op_state')),
          adminState: Number(at('srv_admin_state')),
          weight: Number(at('srv_uweight')),
          line: text.replace(/\r$/, ''),
        });
      }),
    );
  });

  it.each([
    [0, false, false],
    [1, true, false],
    [4, false, false],
    [5, true, false],
    [8, false, true],
    [12, false, true],
    [0x20, true, false],
  ])('admin state %i: maint %s, drain %s (CMAINT alone serves, as measured)', (admin, maint, drain) => {
    const [server] = parseServersState(dump(line('b', 's', '10.0.0.1', 80, admin, 1))).servers;
    expect(server && [isMaint(server), isDraining(server)]).toEqual([maint, drain]);
  });

  it('refuses anything but format version 1', () => {
    expect(() => parseServersState('Unknown command\n')).toThrow(HaproxyRuntimeError);
    expect(() => parseServersState('2\n# be_id\n')).toThrow(/not format version 1/);
  });
});

describe('liveMismatches (verify after a runtime apply)', () => {
  const agreeing = [
    line('svc_web', 'w1', '127.0.0.1', 8001, 0, 1),
    line('svc_web', 'w2', '2001:db8::2', 8002, 0, 3),
    line('svc_web', 'w3', '127.0.0.3', 8003, 1, 1),
  ];
  const live = (...lines: string[]) => parseServersState(dump(...lines)).servers;

  it('finds nothing when the live servers are the model (IPv6 compared by value, CMAINT ignored)', () => {
    expect(liveMismatches(live(...agreeing), model)).toEqual([]);
    expect(liveMismatches(live(agreeing[0] as string, line('svc_web', 'w2', '2001:DB8:0::2', 8002, 4, 3), agreeing[2] as string), model)).toEqual([]);
  });

  it.each([
    ['a weight', [line('svc_web', 'w1', '127.0.0.1', 8001, 0, 9)], ['svc_web/w1: weight 9, model 1']],
    ['an address', [line('svc_web', 'w1', '127.0.0.9', 8001, 0, 1)], ['svc_web/w1: address 127.0.0.9:8001, model 127.0.0.1:8001']],
    ['a port', [line('svc_web', 'w1', '127.0.0.1', 9999, 0, 1)], ['svc_web/w1: address 127.0.0.1:9999, model 127.0.0.1:8001']],
    ['maintenance', [line('svc_web', 'w1', '127.0.0.1', 8001, 1, 1)], ['svc_web/w1: state maint, model ready']],
    ['drain', [line('svc_web', 'w1', '127.0.0.1', 8001, 8, 1)], ['svc_web/w1: state drain, model ready']],
    ['ready where the model says maint', [line('svc_web', 'w3', '127.0.0.3', 8003, 4, 1)], ['svc_web/w3: state ready, model maint']],
  ])('reports %s that differs', (_label, replaced, expected) => {
    const byName = new Map(agreeing.map((l) => [l.split(' ')[3], l]));
    for (const l of replaced) byName.set(l.split(' ')[3], l);
    expect(liveMismatches(live(...byName.values()), model)).toEqual(expected);
  });

  it('reports missing and extra servers, but not those draining', () => {
    const lines = [agreeing[0] as string, agreeing[2] as string, line('svc_web', 'old', '127.0.0.7', 8007, 8, 1), line('svc_web', 'stray', '127.0.0.8', 8008, 0, 1)];
    expect(liveMismatches(live(...lines), model, new Set(['svc_web/old']))).toEqual([
      'svc_web/stray is live but not in the model',
      'svc_web/w2 is in the model but not live',
    ]);
  });
});

describe('liveMismatches of the backends touched', () => {
  it('compares only those backends: servers of others neither count as extra nor as missing', () => {
    const lines = [line('svc_web', 'w1', '127.0.0.1', 8001, 1, 1), line('svc_api', 'a1', '127.0.0.9', 9001, 0, 1)];
    const servers = parseServersState(dump(...lines)).servers;
    expect(liveMismatches(servers, model, new Set(), new Set(['svc_api']))).toEqual([]);
    expect(liveMismatches(servers, model, new Set(), new Set(['svc_web']))).toEqual([
      'svc_web/w1: state maint, model ready',
      'svc_web/w2 is in the model but not live',
      'svc_web/w3 is in the model but not live',
    ]);
  });
});

describe('serverStateFor (the state file before a reload)', () => {
  it('keeps only lines that agree with the next model, with the header', () => {
    const text = dump(
      line('svc_web', 'w1', '127.0.0.1', 8001, 0, 1),
      line('svc_web', 'w2', '2001:db8::2', 7777, 0, 3),
      line('svc_web', 'w3', '127.0.0.3', 8003, 0, 1),
      line('svc_web', 'gone', '127.0.0.9', 8009, 8, 1),
      line('svc_old', 'x', '127.0.0.9', 8009, 0, 1),
    );
    const state = serverStateFor(text, model);
    expect(state.content).toBe(`1\n${COLUMNS}\n${line('svc_web', 'w1', '127.0.0.1', 8001, 0, 1)}\n`);
    expect(state.kept).toBe(1);
    expect(state.dropped).toEqual([
      'svc_web/w2: address 2001:db8::2:7777, model 2001:db8::2:8002',
      'svc_web/w3: state ready, model maint',
      'svc_web/gone: not in the next model',
      'svc_old/x: not in the next model',
    ]);
  });

  it('writes a header-only file when nothing agrees (an empty file would draw a warning)', () => {
    expect(serverStateFor(dump(), model).content).toBe(`1\n${COLUMNS}\n`);
  });
});

describe('parseServerLoad', () => {
  it('reads sessions and queue by column name (show stat <backend> 4 -1)', () => {
    const csv = '# pxname,svname,qcur,qmax,scur,smax\nsvc_web,w1,0,0,2,5\nsvc_web,w2,3,3,0,1\n\n';
    expect([...parseServerLoad(csv)]).toEqual([
      ['w1', { sessions: 2, queued: 0 }],
      ['w2', { sessions: 0, queued: 3 }],
    ]);
    expect(parseServerLoad('No such proxy.\n').size).toBe(0);
  });
});

describe('adminCommands', () => {
  const w2 = model.services[0]?.servers.find((s) => s.name === 'w2');

  it('builds the commands from model values', () => {
    expect(w2 && adminCommands.add('svc_web', w2).text).toBe('add server svc_web/w2 [2001:db8::2]:8002 weight 3 pool-max-conn -1 pool-purge-delay 5s');
    expect(adminCommands.addr('svc_web', 'w2', '2001:db8::2', 8002).text).toBe('set server svc_web/w2 addr 2001:db8::2 port 8002');
    expect(adminCommands.addr('svc_web', 'w1', '10.0.0.1', 80).text).toBe('set server svc_web/w1 addr 10.0.0.1 port 80');
    expect(adminCommands.state('svc_web', 'w1', 'drain').text).toBe('set server svc_web/w1 state drain');
    expect(adminCommands.weight('svc_web', 'w1', 256).text).toBe('set server svc_web/w1 weight 256');
    expect(adminCommands.del('svc_web', 'w1').text).toBe('del server svc_web/w1');
    expect(adminCommands.shutdownSessions('svc_web', 'w1').text).toBe('shutdown sessions server svc_web/w1');
  });

  it.each([
    ['a name with a command separator', () => adminCommands.del('svc_web', 'w1; shutdown frontend http')],
    ['a newline', () => adminCommands.state('svc_web\nset', 'w1', 'ready')],
    ['a hostname', () => adminCommands.addr('svc_web', 'w1', 'db.internal', 80)],
    ['an unknown state', () => adminCommands.state('svc_web', 'w1', 'up' as 'ready')],
    ['a fractional weight', () => adminCommands.weight('svc_web', 'w1', 1.5)],
  ])('refuses %s', (_label, build) => {
    expect(build).toThrow();
  });

  it.each([
    ['add', adminCommands.add('b', { name: 's', instanceId: 's', address: '10.0.0.1', port: 80, weight: 1, state: 'ready', version: null }), 'New server registered.\n', 'Already exists a server with the same name in backend.\n'],
    ['state', adminCommands.state('b', 's', 'ready'), '\n', 'No such server.\n'],
    ['weight', adminCommands.weight('b', 's', 5), '\n', 'Absolute weight can only be between 0 and 256 inclusive.\n'],
    ['addr', adminCommands.addr('b', 's', '10.0.0.1', 80), "no need to change the addr, no need to change the port by 'stats socket command'\n", 'No such server.\n'],
    ['del', adminCommands.del('b', 's'), 'Server deleted.\n', 'Only servers in maintenance mode can be deleted.\n'],
  ])('tells HAProxy 2.6\'s success from its refusal for %s', (_label, command, good, bad) => {
    expect(command.ok(good)).toBe(true);
    expect(command.ok(bad)).toBe(false);
  });
});

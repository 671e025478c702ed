import { HaproxyRuntimeError } from '../../errors.ts';
import { commandSender, type CommandOptions } from '../process/cli-socket.ts';
import { helpers } from '../../render/helpers.ts';
import { parseServersState, type ServersState } from './servers-state.ts';
import { parseServerLoad, type ServerLoad } from './show-stat.ts';
import type { AdminCommand } from './runtime-commands.ts';

export interface AdminCliOptions {
  /** The `stats socket … level admin` of the rendered config. */
  readonly socketPath: string;
  readonly exchangeTimeoutMs?: number;
}

/** Client for the worker's runtime API (the admin stats socket): one command per connection. */
export interface AdminCli {
  readonly socketPath: string;
  command(text: string, options?: CommandOptions): Promise<string>;
  /** Runs `command`; throws HaproxyRuntimeError quoting HAProxy's answer when it did not work. */
  run(command: AdminCommand): Promise<string>;
  /** `show servers state [<backend>]`, as text (for a state file) and parsed: every backend's servers, or one backend's. */
  serversState(backend?: string): Promise<{ readonly text: string; readonly state: ServersState }>;
  /** Sessions and queue of each server of `backend`; empty when the backend is gone. */
  serverLoad(backend: string): Promise<Map<string, ServerLoad>>;
}

export function createAdminCli(options: AdminCliOptions): AdminCli {
  const command = commandSender({
    ...options,
    label: 'runtime API',
    hint: 'is HAProxy running with the ipx-rendered config (its stats socket at level admin)?',
  });
  return {
    socketPath: options.socketPath,
    command,
    run: async (admin) => {
      const answer = await command(admin.text);
      if (!admin.ok(answer)) {
        throw new HaproxyRuntimeError(`haproxy: runtime API refused '${admin.text}': ${answer.trim().replace(/\s*\n\s*/g, ' ') || 'no answer'}`);
      }
      return answer;
    },
    serversState: async (backend) => {
      const text = await command(backend === undefined ? 'show servers state' : `show servers state ${helpers.ident(backend)}`, { expectOutput: true });
      return { text, state: parseServersState(text) };
    },
    serverLoad: async (backend) => parseServerLoad(await command(`show stat ${helpers.ident(backend)} 4 -1`)),
  };
}

import { commandSender, type CommandOptions } from './cli-socket.ts';
import { parseShowProc, type ShowProc } from './show-proc.ts';

export type { CommandOptions } from './cli-socket.ts';

export interface MasterCliOptions {
  readonly socketPath: string;
  /** Longest a single exchange (connect, write, read to close) may take. */
  readonly exchangeTimeoutMs?: number;
}

/** Client for HAProxy's master CLI (`-S`): one command per connection. */
export interface MasterCli {
  readonly socketPath: string;
  command(command: string, options?: CommandOptions): Promise<string>;
  showProc(options?: CommandOptions): Promise<ShowProc>;
}

export function createMasterCli(options: MasterCliOptions): MasterCli {
  const command = commandSender({ ...options, label: 'master CLI', hint: 'is the HAProxy master running with -S on that socket?' });
  return {
    socketPath: options.socketPath,
    command,
    showProc: async (commandOptions) => parseShowProc(await command('show proc', { ...commandOptions, expectOutput: true })),
  };
}

import type { Command } from 'commander';
import { IpxError } from '../../errors.ts';
import { adminRequest } from '../admin-request.ts';
import { loadFromFlags, withConfigOptions, type ConfigFlags } from '../load-options.ts';
import type { CliIo } from '../io.ts';

/** `ipx confirm`: tell a running `ipx watch` that a change held by the mass-deregistration guard is real. */
export function confirmCommand(program: Command, io: CliIo): void {
  withConfigOptions(program.command('confirm'))
    .description('Apply a change the mass-deregistration guard holds back (asks the ipx watch at listen.admin)')
    .action(async (flags: ConfigFlags) => {
      const { config } = await loadFromFlags(flags, io);
      const res = await adminRequest('confirm', config.listen.admin, '/guard/confirm', 'POST');
      if (res.status === 409) {
        io.stdout.write('nothing is held; no change to confirm\n');
        return;
      }
      if (!res.ok) throw new IpxError('E_ADMIN', `confirm: ${res.url} answered ${res.status}: ${await res.text()}`);
      io.stdout.write('confirmed: the held change is being applied\n');
    });
}

import type { Command } from 'commander';
import { errorMessage, IpxError } from '../../errors.ts';
import { loadFromFlags, withConfigOptions, type ConfigFlags } from '../load-options.ts';
import type { CliIo } from '../io.ts';

/** `ipx confirm`: tell a running `ipx watch` that a change held by the mass-deregistration guard is real. */
export function confirmCommand(program: Command, io: CliIo): void {
  withConfigOptions(program.command('confirm'))
    .description('Apply a change the mass-deregistration guard holds back (asks the ipx watch at listen.admin)')
    .action(async (flags: ConfigFlags) => {
      const { config } = await loadFromFlags(flags, io);
      const url = `http://${config.listen.admin}/guard/confirm`;
      let res: Response;
      try {
        res = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(5000) });
      } catch (err) {
        throw new IpxError('E_ADMIN', `confirm: no ipx watch answers at ${url} (${errorMessage(err)}); is listen.admin right?`, { cause: err });
      }
      if (res.status === 409) {
        io.stdout.write('nothing is held; no change to confirm\n');
        return;
      }
      if (!res.ok) throw new IpxError('E_ADMIN', `confirm: ${url} answered ${res.status}: ${await res.text()}`);
      io.stdout.write('confirmed: the held change is being applied\n');
    });
}

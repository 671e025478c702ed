import { CommanderError } from 'commander';
import { errorMessage } from '../errors.ts';
import { EXIT, exitCodeFor, ExitWith } from './exit-codes.ts';
import { buildProgram } from './program.ts';
import type { CliIo } from './io.ts';

/** Runs one command; the only place errors become messages and exit codes. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (err instanceof ExitWith) return err.status;
    io.stderr.write(`ipx: ${errorMessage(err)}\n`);
    return exitCodeFor(err);
  }
}

import { Command } from 'commander';
import { configCommand } from './commands/config.ts';
import { confirmCommand } from './commands/confirm.ts';
import { demoServiceCommand } from './commands/demo-service.ts';
import { devCommand } from './commands/dev.ts';
import { explainCommand } from './commands/explain.ts';
import { registerCommands } from './commands/register.ts';
import { renderCommand } from './commands/render.ts';
import { statusCommand } from './commands/status.ts';
import { validateCommand } from './commands/validate.ts';
import { watchCommand } from './commands/watch.ts';
import type { CliIo } from './io.ts';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../runner/assets.ts';

export function buildProgram(io: CliIo): Command {
  const program = new Command('ipx')
    .description('Integration proxy: Consul discovery and policy rendered into a hitlessly reloaded HAProxy')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .version(`ipx ${packageVersion()} (node ${process.version})`, '-V, --version', 'print the version')
    .exitOverride()
    .showHelpAfterError();
  for (const add of [devCommand, watchCommand, statusCommand, explainCommand, renderCommand, validateCommand, registerCommands, confirmCommand, configCommand, demoServiceCommand]) add(program, io);
  return program;
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

import type { Command } from 'commander';
import { dryRunCheck } from '../../haproxy/index.ts';
import { loadRenderKit } from '../../runner/assets.ts';
import { renderSnapshot } from '../../runner/pipeline.ts';
import { CONFIG_FILE } from '../../render/index.ts';
import { loadFromFlags, withConfigOptions, type ConfigFlags } from '../load-options.ts';
import { readConsulOnce } from '../read-consul.ts';
import type { CliIo } from '../io.ts';

interface RenderFlags extends ConfigFlags {
  dryRun?: boolean;
  offline?: boolean;
  all?: boolean;
}

/** `ipx render --dry-run`: read Consul once, print the configuration, check it; write nothing. */
export function renderCommand(program: Command, io: CliIo): void {
  withConfigOptions(program.command('render'))
    .description('Read Consul once, print the HAProxy configuration and check it with haproxy -c; writes nothing')
    .option('--dry-run', 'print and check only (the only mode: ipx watch applies)')
    .option('--offline', 'render without Consul, as if it had no services')
    .option('--all', 'also print the other rendered files (host map)')
    .action(async (flags: RenderFlags) => {
      const { config } = await loadFromFlags(flags, io);
      const snapshot = await readConsulOnce(config, flags.offline);
      const { model, rendered } = renderSnapshot(snapshot, config, await loadRenderKit(undefined, config.templates.dir));
      for (const name of Object.keys(rendered.files).sort((a, b) => (a === CONFIG_FILE ? -1 : b === CONFIG_FILE ? 1 : a.localeCompare(b)))) {
        if (name !== CONFIG_FILE && !flags.all) continue;
        if (flags.all) io.stdout.write(`# ---- ${name}\n`);
        io.stdout.write(rendered.files[name] as string);
      }
      for (const rejection of model.rejections) io.stderr.write(`skipped ${rejection.subject}: ${rejection.reason}\n`);
      const warnings = await dryRunCheck(rendered, config.haproxy.binary);
      for (const warning of warnings) io.stderr.write(`haproxy -c warning: ${warning}\n`);
      io.stderr.write(`haproxy -c: configuration valid (${model.services.length} services, ${model.rejections.length} skipped, hash ${rendered.hash.slice(0, 12)})\n`);
    });
}

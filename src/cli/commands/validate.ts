import type { Command } from 'commander';
import { dryRunCheck } from '../../haproxy/index.ts';
import { loadRenderKit } from '../../runner/assets.ts';
import { renderSnapshot } from '../../runner/pipeline.ts';
import { loadFromFlags, withConfigOptions, type ConfigFlags } from '../load-options.ts';
import { readConsulOnce } from '../read-consul.ts';
import type { CliIo } from '../io.ts';

interface ValidateFlags extends ConfigFlags {
  offline?: boolean;
}

/** `ipx validate`: the config file, the templates, and the rendered output under `haproxy -c`. */
export function validateCommand(program: Command, io: CliIo): void {
  withConfigOptions(program.command('validate'))
    .description('Check the config file, the templates and the rendered configuration (haproxy -c)')
    .option('--offline', 'do not read Consul: check the configuration rendered with no services')
    .action(async (flags: ValidateFlags) => {
      const { config, file } = await loadFromFlags(flags, io);
      io.stdout.write(`config: ${file ?? 'no file, defaults'}: valid\n`);
      const kit = await loadRenderKit(undefined, config.templates.dir);
      const overrides = kit.overrides ?? [];
      io.stdout.write(overrides.length > 0 ? `templates: compiled, yours in place of the built-ins: ${overrides.join(', ')}\n` : 'templates: compiled (built-in)\n');
      const snapshot = await readConsulOnce(config, flags.offline);
      const { model, rendered } = renderSnapshot(snapshot, config, kit);
      for (const rejection of model.rejections) io.stdout.write(`skipped ${rejection.subject}: ${rejection.reason}\n`);
      const warnings = await dryRunCheck(rendered, config.haproxy.binary);
      for (const warning of warnings) io.stdout.write(`haproxy -c warning: ${warning}\n`);
      const source = flags.offline ? 'no Consul data (--offline)' : `Consul at ${config.consul.address}`;
      io.stdout.write(`rendered from ${source}: ${model.services.length} services, ${model.rejections.length} skipped; haproxy -c: valid\n`);
    });
}

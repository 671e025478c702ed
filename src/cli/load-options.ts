import type { Command } from 'commander';
import { loadConfig, type LoadedConfig } from '../config/index.ts';
import type { CliIo } from './io.ts';

export interface ConfigFlags {
  config?: string;
  consul?: string;
  logLevel?: string;
}

/** Adds the options every command shares. */
export function withConfigOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', 'YAML config file (default: ipx.yaml when present)')
    .option('--consul <url>', 'Consul address, overrides consul.address and CONSUL_HTTP_ADDR')
    .option('--log-level <level>', 'trace, debug, info, warn, error or silent');
}

export function loadFromFlags(flags: ConfigFlags, io: CliIo): Promise<LoadedConfig> {
  const overrides: Record<string, Record<string, unknown>> = {};
  if (flags.consul) overrides.consul = { address: flags.consul };
  if (flags.logLevel) overrides.log = { level: flags.logLevel };
  return loadConfig({
    file: flags.config ?? 'ipx.yaml',
    required: flags.config !== undefined,
    env: io.env,
    cwd: io.cwd,
    flags: overrides,
  });
}

import type { Command } from 'commander';
import { loadConfig, type LoadedConfig } from '../config/index.ts';
import type { CliIo } from './io.ts';

export interface ConfigFlags {
  config?: string;
  consul?: string;
  logLevel?: string;
  logFormat?: string;
}

/** Adds the options every command shares. */
export function withConfigOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', 'YAML config file (default: ipx.yaml when present)')
    .option('--consul <url>', 'Consul address, overrides consul.address and CONSUL_HTTP_ADDR')
    .option('--log-level <level>', 'trace, debug, info, warn, error or silent')
    .option('--log-format <format>', 'human, json, or auto (human on a terminal, json otherwise)');
}

/**
 * defaults < `ipx dev` discovery < file < env < flags. `discover: false` for
 * the commands that start things themselves (dev, watch): a daemon never takes
 * its addresses from a development session's leftovers.
 */
export function loadFromFlags(
  flags: ConfigFlags,
  io: CliIo,
  { discover = true, base }: { discover?: boolean; base?: Record<string, Record<string, unknown>> } = {},
): Promise<LoadedConfig> {
  const overrides: Record<string, Record<string, unknown>> = {};
  if (flags.consul) overrides.consul = { address: flags.consul };
  const log: Record<string, unknown> = {};
  if (flags.logLevel) log.level = flags.logLevel;
  if (flags.logFormat) log.format = flags.logFormat;
  if (Object.keys(log).length > 0) overrides.log = log;
  return loadConfig({
    discover,
    file: flags.config ?? 'ipx.yaml',
    required: flags.config !== undefined,
    env: io.env,
    cwd: io.cwd,
    flags: overrides,
    ...(base ? { base } : {}),
  });
}

import type { Command } from 'commander';
import { stringify } from 'yaml';
import type { Config } from '../../config/index.ts';
import { loadFromFlags, withConfigOptions, type ConfigFlags } from '../load-options.ts';
import type { CliIo } from '../io.ts';

/** `ipx config print`: the resolved configuration (defaults < file < env < flags), secrets redacted. */
export function configCommand(program: Command, io: CliIo): void {
  const config = program.command('config').description('Show the configuration ipx would run with');
  withConfigOptions(config.command('print'))
    .description('Print the resolved configuration as YAML (durations in ms; the Consul token and a JWT secret are redacted)')
    .action(async (flags: ConfigFlags) => {
      const { config: resolved, file, discovery } = await loadFromFlags(flags, io);
      const layers = ['defaults', ...(discovery ? [`ipx dev's ${discovery}`] : []), file ?? '(no file)', 'env', 'flags'];
      io.stdout.write(`# layers, later wins: ${layers.join(' < ')}\n`);
      io.stdout.write(stringify(redact(resolved)));
    });
}

export function redact(config: Config): Config {
  const jwt = config.identity.jwt;
  // An HS secret is a secret; a public key is not, but its PEM would only clutter the output.
  const key = jwt?.key ? (jwt.algorithm.startsWith('HS') ? '<redacted>' : '<read from publicKeyFile>') : '';
  return {
    ...config,
    consul: { ...config.consul, token: config.consul.token ? '<redacted>' : '' },
    identity: { ...config.identity, ...(jwt ? { jwt: { ...jwt, key } } : {}) },
  };
}

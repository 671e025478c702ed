import type { Command } from 'commander';
import { deregisterService, registerService, type ServiceCheck } from '../../consul/index.ts';
import { ConfigError } from '../../errors.ts';
import { withConsul } from '../read-consul.ts';
import { loadFromFlags, withConfigOptions, type ConfigFlags } from '../load-options.ts';
import type { CliIo } from '../io.ts';

interface RegisterFlags extends ConfigFlags {
  name: string;
  id?: string;
  address: string;
  port: string;
  tag: string[];
  meta: string[];
  checkHttp?: string;
  checkInterval: string;
  ttl?: string;
  deregisterAfter?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/**
 * `ipx register` / `ipx deregister`: what a CI pipeline runs to add or remove
 * an instance, through the local Consul agent (the same as Consul's own API).
 */
export function registerCommands(program: Command, io: CliIo): void {
  withConfigOptions(program.command('register'))
    .description('Register a service instance with the Consul agent (for CI pipelines); ipx routes it once it passes its check')
    .requiredOption('--name <service>', 'service name: the <service> in Host: <service>.<domain>')
    .option('--id <id>', 'instance ID, unique on the agent (default: <name>-<address>-<port>)')
    .requiredOption('--address <ip>', 'IP address HAProxy sends requests to')
    .requiredOption('--port <port>', 'port HAProxy sends requests to')
    .option('--tag <tag>', 'a tag (repeat for more)', collect, [])
    .option('--meta <key=value>', 'a meta entry (repeat for more)', collect, [])
    .option('--check-http <url>', 'HTTP health check the agent polls (2xx passing, 429 warning, else critical)')
    .option('--check-interval <duration>', 'how often the HTTP check runs', '10s')
    .option('--ttl <duration>', 'a TTL check instead: the instance reports itself within this time')
    .option('--deregister-after <duration>', 'the agent removes the instance after its check has been critical this long')
    .action(async (flags: RegisterFlags) => {
      const { config } = await loadFromFlags(flags, io);
      const port = Number(flags.port);
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConfigError(`register: --port ${flags.port} is not a TCP port; use 1-65535`);
      if (flags.checkHttp && flags.ttl) throw new ConfigError('register: give --check-http or --ttl, not both');
      const id = flags.id ?? `${flags.name}-${flags.address}-${port}`;
      const check = checkOf(flags);
      await withConsul(config.consul, (client) =>
        registerService(client, { name: flags.name, id, address: flags.address, port, tags: flags.tag, meta: parseMeta(flags.meta), ...(check ? { check } : {}) }),
      );
      io.stdout.write(`registered ${id} (service ${flags.name} at ${flags.address}:${port}) with the Consul agent at ${config.consul.address}\n`);
    });

  withConfigOptions(program.command('deregister'))
    .description('Remove a service instance from the Consul agent; ipx drains it before it leaves HAProxy')
    .argument('<id>', 'the instance ID given at registration')
    .action(async (id: string, flags: ConfigFlags) => {
      const { config } = await loadFromFlags(flags, io);
      await withConsul(config.consul, (client) => deregisterService(client, id));
      io.stdout.write(`deregistered ${id} from the Consul agent at ${config.consul.address}\n`);
    });
}

function checkOf(flags: RegisterFlags): ServiceCheck | undefined {
  const deregister = flags.deregisterAfter ? { deregisterAfter: flags.deregisterAfter } : {};
  if (flags.checkHttp) return { http: flags.checkHttp, interval: flags.checkInterval, ...deregister };
  if (flags.ttl) return { ttl: flags.ttl, ...deregister };
  return undefined;
}

export function parseMeta(entries: readonly string[]): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const entry of entries) {
    const at = entry.indexOf('=');
    if (at <= 0) throw new ConfigError(`register: --meta ${JSON.stringify(entry)} must be key=value`);
    meta[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return meta;
}

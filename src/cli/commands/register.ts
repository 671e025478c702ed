import type { Command } from 'commander';
import { deregisterService, registerService, type ServiceCheck } from '../../consul/index.ts';
import { ConfigError } from '../../errors.ts';
import { EXIT } from '../exit-codes.ts';
import { checkRegistration, DEFAULT_WAIT, parseWait, waitHealthy, waitRoutable } from '../register-checks.ts';
import { withConsul } from '../read-consul.ts';
import { loadFromFlags, withConfigOptions, type ConfigFlags } from '../load-options.ts';
import type { CliIo } from '../io.ts';

interface RegisterFlags extends ConfigFlags {
  waitHealthy?: string | boolean;
  waitRoutable?: boolean;
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
    .option('--wait-healthy [timeout]', `return only once Consul reports the instance passing (default timeout ${DEFAULT_WAIT}); exit ${EXIT.timeout} if it does not in time`)
    .option('--wait-routable', 'with --wait-healthy: also wait until the running ipx watch (listen.admin) routes to it')
    .action(async (flags: RegisterFlags) => {
      const { config } = await loadFromFlags(flags, io);
      const port = Number(flags.port);
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConfigError(`register: --port ${flags.port} is not a TCP port; use 1-65535`);
      if (flags.checkHttp && flags.ttl) throw new ConfigError('register: give --check-http or --ttl, not both');
      if (flags.waitRoutable && !flags.waitHealthy) throw new ConfigError('register: --wait-routable goes with --wait-healthy [timeout]');
      const waitMs = flags.waitHealthy ? parseWait(flags.waitHealthy) : undefined;
      const id = flags.id ?? `${flags.name}-${flags.address}-${port}`;
      const meta = parseMeta(flags.meta);
      checkRegistration({ name: flags.name, id, address: flags.address, port, tags: flags.tag, meta }, config.limits.fieldLength);
      const check = checkOf(flags);
      await withConsul(config.consul, async (client) => {
        await registerService(client, { name: flags.name, id, address: flags.address, port, tags: flags.tag, meta, ...(check ? { check } : {}) });
        io.stdout.write(`registered ${id} (service ${flags.name} at ${flags.address}:${port}) with the Consul agent at ${config.consul.address}\n`);
        if (waitMs === undefined) return;
        const deadline = Date.now() + waitMs;
        await waitHealthy(client, flags.name, id, deadline, io);
        if (flags.waitRoutable) await waitRoutable(config.listen.admin, flags.name, id, deadline, io);
      });
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

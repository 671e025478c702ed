import os from 'node:os';
import type { Command } from 'commander';
import { createConsulClient, deregisterService, registerService } from '../../consul/index.ts';
import { loadConfig } from '../../config/index.ts';
import { waitForStopSignal } from '../../daemon/signals.ts';
import { startDemoService } from '../../dev/demo-service.ts';
import { ConfigError } from '../../errors.ts';
import type { CliIo } from '../io.ts';

interface DemoFlags {
  name: string;
  port: string;
  register?: boolean;
  consul?: string;
  address?: string;
}

/** `ipx demo-service`: a tiny JSON HTTP service, optionally registered in Consul with an HTTP check. */
export function demoServiceCommand(program: Command, io: CliIo): void {
  program
    .command('demo-service')
    .description('Run a small HTTP service that answers with its name (for trying ipx); --register adds it to Consul')
    .requiredOption('--name <name>', 'service name to answer with and register')
    .option('--port <port>', 'port to listen on (0 picks a free port)', '0')
    .option('--register', 'register in Consul with an HTTP health check, deregister on exit')
    .option('--consul <url>', 'Consul address (default: CONSUL_HTTP_ADDR or http://127.0.0.1:8500)')
    .option('--address <ip>', 'address to listen on and register (default: this host\'s first non-loopback IPv4, or 127.0.0.1)')
    .action(async (flags: DemoFlags) => {
      const port = Number(flags.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`demo-service: --port ${flags.port} is not a TCP port; use 0-65535`);
      // Registered services must be reachable from HAProxy: listen on all addresses, advertise one.
      const address = flags.address ?? (flags.register ? (firstExternalIpv4() ?? '127.0.0.1') : '127.0.0.1');
      const service = await startDemoService({ name: flags.name, host: flags.register && !flags.address ? '0.0.0.0' : address, port });
      const id = `${flags.name}-${os.hostname()}-${service.port}`;
      io.stdout.write(`demo-service ${flags.name} listening on ${address}:${service.port}\n`);
      const { config } = await loadConfig({ env: io.env, cwd: io.cwd, flags: flags.consul ? { consul: { address: flags.consul } } : {} });
      const client = createConsulClient(config.consul);
      if (flags.register) {
        await registerWithRetry(() =>
          registerService(client, {
            name: flags.name,
            id,
            address,
            port: service.port,
            check: { http: `http://${address}:${service.port}/health`, interval: '2s', timeout: '1s', deregisterAfter: '1m' },
          }),
        );
        io.stdout.write(`registered ${id} in Consul at ${config.consul.address}\n`);
      }
      await waitForStopSignal();
      if (flags.register) await deregisterService(client, id).catch(() => undefined);
      await service.close();
    });
}

// In docker-compose the service may start before Consul answers.
async function registerWithRetry(register: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await register();
    } catch (err) {
      if (attempt >= 30) throw err;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

function firstExternalIpv4(): string | undefined {
  for (const addresses of Object.values(os.networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { DISCOVERY_FILE, discoveryPath, removeDiscovery, type Config, type Discovery } from '../../config/index.ts';
import { createConsulClient, deregisterService, registerService, startDevAgent, type DevAgent } from '../../consul/index.ts';
import { startDaemon } from '../../daemon/daemon.ts';
import { waitForStopSignal } from '../../daemon/signals.ts';
import { DEMO_INSTANCES, DEV_CONFIG_DEFAULTS, demoKvEntries, newDemoApiKey, writeDemoKv } from '../../dev/demo-gateway.ts';
import { startDemoService, type DemoService } from '../../dev/demo-service.ts';
import { portsConfigured } from '../../dev/ports-configured.ts';
import { tryLines } from '../../dev/try-lines.ts';
import { createHaproxyManager } from '../../haproxy/index.ts';
import { createLogger, isHumanFormat } from '../../log.ts';
import { PACKAGE_ROOT } from '../../runner/assets.ts';
import { loadFromFlags, withConfigOptions, type ConfigFlags } from '../load-options.ts';
import type { CliIo } from '../io.ts';

/**
 * `ipx dev`: everything on this machine — a Consul dev agent (unless one
 * answers at consul.address), HAProxy managed by ipx, demo services
 * registered in Consul, and the watch loop. Ctrl-C stops all it started.
 */
export function devCommand(program: Command, io: CliIo): void {
  withConfigOptions(program.command('dev'))
    .description('Run Consul (dev agent), HAProxy, demo services with demo policies and the watch loop on this machine; Ctrl-C stops them')
    .action(async (flags: ConfigFlags) => {
      const { config } = await loadFromFlags(flags, io, { discover: false, base: DEV_CONFIG_DEFAULTS });
      const logger = createLogger(config.log.level, io.stderr, config.log.format);
      const cleanups: Array<() => Promise<void>> = [];
      const say = (line: string) => io.stdout.write(`${line}\n`);
      try {
        if (!(await consulAnswers(config.consul.address))) {
          const agent: DevAgent = await startDevAgent({ cwd: PACKAGE_ROOT, avoidPorts: portsConfigured(config) });
          cleanups.push(() => agent.stop());
          config.consul.address = agent.address;
          say(`consul: started a dev agent at ${agent.address} (pid ${agent.pid})`);
        } else {
          say(`consul: using the agent at ${config.consul.address}`);
        }
        const client = createConsulClient(config.consul);
        for (const demo of DEMO_INSTANCES) {
          const service: DemoService = await startDemoService({ name: demo.service, instance: demo.id, ...(demo.version ? { version: demo.version } : {}) });
          await registerService(client, {
            name: demo.service,
            id: demo.id,
            address: '127.0.0.1',
            port: service.port,
            tags: ['demo'],
            meta: demo.version ? { 'ipx-version': demo.version } : {},
            // Passing from the start: it answers already, and the lines printed below then answer 200 at once,
            // not 503 until the check's first poll (up to its interval later).
            check: { http: `http://127.0.0.1:${service.port}/health`, interval: '1s', timeout: '1s', status: 'passing' },
          });
          cleanups.push(async () => {
            await deregisterService(client, demo.id).catch(() => undefined);
            await service.close();
          });
          say(`demo: ${demo.id}${demo.version ? ` (${demo.version})` : ''} on 127.0.0.1:${service.port}, registered in Consul`);
        }
        // Written before the watch starts, so the first configuration already has them (no reload in the first seconds).
        const apiKey = newDemoApiKey();
        const kv = await writeDemoKv(client, demoKvEntries(config.consul.kvPrefix, apiKey));
        cleanups.push(async () => {
          for (const key of kv.created) await client.kvDelete(key).catch(() => undefined);
        });
        for (const key of kv.created) say(`demo: KV ${key} written`);
        for (const key of kv.kept) say(`demo: KV ${key} already set, kept as it is (the lines below may answer differently)`);
        const applier = createHaproxyManager({ config: config.haproxy, listen: config.listen, logger });
        const daemon = await startDaemon({ config, logger, applier, ...(isHumanFormat(config.log.format, io.stderr) ? { progress: io.stderr } : {}) });
        cleanups.push(() => daemon.stop());
        await writeDiscovery(config);
        cleanups.push(() => removeDiscovery(config.haproxy.runDir));
        say('');
        say('ipx dev is running. Try:');
        for (const line of tryLines({ domain: config.routing.domain, listen: config.listen, kvPrefix: config.consul.kvPrefix, apiKey })) say(line && `  ${line}`);
        say('');
        say(`  consul UI/API at ${config.consul.address}; register more with ipx demo-service --register --consul ${config.consul.address}`);
        say(`From another terminal in ${io.cwd}, no flags needed (${path.relative(io.cwd, discoveryPath(config.haproxy.runDir)) || DISCOVERY_FILE} tells them where):`);
        say('  npx ipx status');
        say('  npx ipx explain hello');
        say('  npx ipx render --dry-run --diff');
        say('Ctrl-C stops everything ipx dev started.');
        await waitForStopSignal();
        say('stopping...');
      } finally {
        for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => logger.error({ err }, 'cleanup failed'));
      }
    });
}

/** Tells the other commands run in this folder where this session's Consul and admin endpoint are. */
async function writeDiscovery(config: Config): Promise<void> {
  const discovery: Discovery = { pid: process.pid, consul: { address: config.consul.address }, listen: config.listen };
  // The daemon's first apply creates runDir too, but may not have yet.
  await mkdir(config.haproxy.runDir, { recursive: true });
  // Not writeFileAtomic: HAProxy's manager clears that function's temp files from runDir at start.
  const file = discoveryPath(config.haproxy.runDir);
  await writeFile(`${file}.${process.pid}`, `${JSON.stringify(discovery, null, 2)}\n`, { mode: 0o644 });
  await rename(`${file}.${process.pid}`, file);
}

async function consulAnswers(address: string): Promise<boolean> {
  try {
    const res = await fetch(new URL('/v1/status/leader', address), { signal: AbortSignal.timeout(1000) });
    return res.ok && (await res.text()).length > 2;
  } catch {
    return false;
  }
}

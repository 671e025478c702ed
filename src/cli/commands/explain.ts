import type { Command } from 'commander';
import { explain, type Explanation } from '../../model/explain.ts';
import { policyRows } from '../../model/policy/index.ts';
import { loadRenderKit } from '../../runner/assets.ts';
import { renderSnapshot } from '../../runner/pipeline.ts';
import { loadFromFlags, withConfigOptions, type ConfigFlags } from '../load-options.ts';
import { readConsulOnce } from '../read-consul.ts';
import type { CliIo } from '../io.ts';

/** `ipx explain <service|host>`: how a request for it is routed right now, and what was skipped. */
export function explainCommand(program: Command, io: CliIo): void {
  withConfigOptions(program.command('explain'))
    .argument('<service-or-host>', 'a Consul service name or a Host header, e.g. orders or orders.service.internal')
    .description('Read Consul once and explain how a request for a service or Host is routed: backend, servers, skipped instances')
    .action(async (query: string, flags: ConfigFlags) => {
      const { config } = await loadFromFlags(flags, io);
      const snapshot = await readConsulOnce(config);
      const { model } = renderSnapshot(snapshot, config, await loadRenderKit());
      io.stdout.write(formatExplanation(explain(model, snapshot, query), config.consul.kvPrefix));
    });
}

export function formatExplanation(e: Explanation, kvPrefix = 'ipx/'): string {
  const lines: string[] = [];
  if (!e.service) {
    lines.push(`Host ${e.host}: no such service in Consul; requests get 404 {"error":"unknown_service"}`);
  } else {
    const ready = e.service.servers.filter((s) => s.state === 'ready');
    lines.push(`Host ${e.service.host} → service "${e.service.name}" → backend ${e.service.backend} (balance ${e.service.policy.balance})`);
    lines.push(ready.length > 0 ? `  ${ready.length} of ${e.service.servers.length} servers take traffic` : '  no server takes traffic: requests get 503 {"error":"service_unavailable"}');
    for (const server of e.service.servers) {
      const instance = e.instances.get(server.name);
      const origin = instance ? `instance ${JSON.stringify(instance.id)} on node ${JSON.stringify(instance.node)}, ${instance.status}` : e.isStatic ? 'static upstream' : 'instance unknown';
      lines.push(`  server ${server.name.padEnd(24)} ${`${server.address.includes(':') ? `[${server.address}]` : server.address}:${server.port}`.padEnd(22)} weight ${String(server.weight).padEnd(4)} ${server.state.padEnd(6)} (${origin})`);
    }
  }
  if (e.service && e.service.versions.backends.length > 0) {
    const { versions } = e.service;
    const split = versions.slots.length > 0;
    for (const v of versions.backends) {
      const ready = v.servers.filter((s) => s.state === 'ready').length;
      const share = split ? `${versions.shares[v.version] ?? 0}% of requests` : 'no split';
      lines.push(`  version ${v.version.padEnd(12)} → backend ${v.backend} (${share}; ${ready} of ${v.servers.length} servers take traffic)`);
    }
    if (versions.pinHeader) lines.push(`  a request with header ${versions.pinHeader}: <version> goes to that version`);
  }
  if (e.service) {
    lines.push('  policy (value, then the layer it came from; later layers win key by key):');
    for (const row of policyRows(e.service.name, e.service.policy, e.service.policyOrigins, kvPrefix)) {
      lines.push(`    ${row.key.padEnd(34)} ${row.value.padEnd(22)} ${row.source}`);
    }
  }
  for (const r of e.rejections) lines.push(`  skipped ${r.subject}: ${r.reason}`);
  return `${lines.join('\n')}\n`;
}

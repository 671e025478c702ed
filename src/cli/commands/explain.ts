import type { Command } from 'commander';
import { explain, type Explanation } from '../../model/explain.ts';
import { loadRenderKit } from '../../runner/assets.ts';
import { renderSnapshot } from '../../runner/pipeline.ts';
import { parseExplainRequest, type ExplainRequest } from '../explain-request.ts';
import { loadFromFlags, withConfigOptions, type ConfigFlags } from '../load-options.ts';
import { readConsulOnce } from '../read-consul.ts';
import type { Config } from '../../config/index.ts';
import type { CliIo } from '../io.ts';

interface ExplainFlags extends ConfigFlags {
  header: string[];
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** `ipx explain <url|service|host> [-H 'Name: value']...`: how such a request is routed right now, and why. */
export function explainCommand(program: Command, io: CliIo): void {
  withConfigOptions(program.command('explain'))
    .argument('<url-or-service>', 'a URL as curl takes it (http://orders.service.internal/orders/1), a Host (orders.service.internal) or a service name')
    .option('-H, --header <header>', "a request header, 'Name: value' (repeat for more); Host overrides the URL's host", collect, [])
    .description('Read Consul once and explain how a request is routed: the rule that matches, backend, versions, eligible servers and why, skipped instances')
    .action(async (target: string, flags: ExplainFlags) => {
      const request = parseExplainRequest(target, flags.header);
      const { config } = await loadFromFlags(flags, io);
      const snapshot = await readConsulOnce(config);
      const { model } = renderSnapshot(snapshot, config, await loadRenderKit(undefined, config.templates.dir));
      io.stdout.write(formatExplanation(explain(model, snapshot, request.host), request, config));
    });
}

/** Pure: the explanation as lines an operator reads top to bottom. */
export function formatExplanation(e: Explanation, request: ExplainRequest, config: Pick<Config, 'routing'>): string {
  const lines: string[] = request.restate ? [`request: ${request.display}`] : [];
  if (!e.service) {
    lines.push(`Host ${e.host}: no such service in Consul; requests get 404 {"error":"unknown_service"}`);
    lines.push(`  rule: none matches: the host map has no entry for ${e.host}`);
  } else {
    const ready = e.service.servers.filter((s) => s.state === 'ready');
    lines.push(`Host ${e.service.host} → service "${e.service.name}" → backend ${e.service.backend} (balance ${config.routing.balance})`);
    lines.push(`  rule: host route ${e.service.host} → ${e.service.backend} (the Host header, port and case ignored, looked up in the host map); path ${request.path} is not read by any rule`);
    lines.push(`  versions: ${versionsOf(e)}`);
    lines.push(`  policies: balance ${config.routing.balance} from routing.balance; no policy layer (POLICIES.md) is in force in this version, so timeouts, retries and limits are the built-in template's`);
    lines.push(ready.length > 0 ? `  ${ready.length} of ${e.service.servers.length} servers take traffic` : '  no server takes traffic: requests get 503 {"error":"service_unavailable"}');
    for (const server of e.service.servers) {
      const instance = e.instances.get(server.name);
      const origin = instance ? `instance ${JSON.stringify(instance.id)} on node ${JSON.stringify(instance.node)}, ${instance.status}` : 'instance unknown';
      const why = server.state === 'ready' ? 'eligible' : instance?.status === 'warning' ? 'not eligible: warning, and routing.passingOnly is true' : 'not eligible: its checks do not pass';
      const address = `${server.address.includes(':') ? `[${server.address}]` : server.address}:${server.port}`;
      lines.push(`  server ${server.name.padEnd(24)} ${address.padEnd(22)} weight ${String(server.weight).padEnd(4)} ${server.state.padEnd(6)} (${origin}: ${why})`);
    }
  }
  for (const r of e.rejections) lines.push(`  skipped ${r.subject}: ${r.reason}`);
  if (request.headers.size > 0) lines.push(`  headers not read by any rule: ${[...request.headers.keys()].join(', ')}`);
  return `${lines.join('\n')}\n`;
}

function versionsOf(e: Explanation): string {
  const byVersion = new Map<string, string[]>();
  for (const [server, instance] of e.instances) {
    const version = instance.meta['ipx-version'];
    if (version !== undefined) byVersion.set(version, [...(byVersion.get(version) ?? []), server]);
  }
  if (byVersion.size === 0) return 'none (no instance has ipx-version meta); every instance serves the service';
  const list = [...byVersion].sort(([a], [b]) => a.localeCompare(b)).map(([version, servers]) => `${version} on ${servers.join(', ')}`);
  return `${list.join('; ')} (ipx-version meta; version routing is not in force in this version: every version shares the backend)`;
}

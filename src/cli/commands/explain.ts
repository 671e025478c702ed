import type { Command } from 'commander';
import { explain, type Explanation } from '../../model/explain.ts';
import { policyRows } from '../../model/policy/index.ts';
import { loadRenderKit } from '../../runner/assets.ts';
import { renderSnapshot } from '../../runner/pipeline.ts';
import { parseExplainRequest, type ExplainRequest } from '../explain-request.ts';
import { loadFromFlags, withConfigOptions, type ConfigFlags } from '../load-options.ts';
import { readConsulOnce } from '../read-consul.ts';
import type { Model } from '../../model/index.ts';
import type { RouteModel } from '../../model/routes.ts';
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
    .description('Read Consul once and explain how a request is routed: the rule that matches, backend, versions, policies and their layers, eligible servers and why, skipped instances')
    .action(async (target: string, flags: ExplainFlags) => {
      const request = parseExplainRequest(target, flags.header);
      const { config } = await loadFromFlags(flags, io);
      const snapshot = await readConsulOnce(config);
      const { model } = renderSnapshot(snapshot, config, await loadRenderKit(undefined, config.templates.dir));
      const route = pathRoute(model, request);
      const explained = explain(model, snapshot, route ? route.service : request.host);
      io.stdout.write(formatExplanation(explained, request, route, config.consul.kvPrefix));
    });
}

/** The path route a request takes when its Host is not a service host: the longest prefix on whole segments. */
export function pathRoute(model: Pick<Model, 'global' | 'services' | 'routes'>, request: Pick<ExplainRequest, 'host' | 'path'>): RouteModel | undefined {
  const host = request.host.toLowerCase().replace(/:\d+$/, '');
  if (model.services.some((s) => s.host === host)) return undefined;
  // model.routes is longest prefix first.
  return model.routes.find((r) => request.path === r.prefix || request.path.startsWith(`${r.prefix}/`));
}

/** Pure: the explanation as lines an operator reads top to bottom. */
export function formatExplanation(e: Explanation, request: ExplainRequest, route: RouteModel | undefined, kvPrefix = 'ipx/'): string {
  const lines: string[] = request.restate ? [`request: ${request.display}`] : [];
  const read = new Set<string>();
  if (!e.service) {
    lines.push(`Host ${e.host}: no such service in Consul; requests get 404 {"error":"unknown_service"}`);
    lines.push(`  rule: none matches: the host map has no entry for ${e.host}${request.restate ? ` and no path route takes ${request.path}` : ''}`);
  } else {
    const { service } = e;
    const ready = service.servers.filter((s) => s.state === 'ready');
    lines.push(`${route ? `Path ${request.path}` : `Host ${service.host}`} → service "${service.name}" → backend ${service.backend} (balance ${service.policy.balance})`);
    lines.push(
      route
        ? `  rule: path route ${route.prefix} → ${route.backend} (the Host is not a service host; the longest prefix on whole segments wins)${route.strip ? `, forwarded as ${request.path.slice(route.prefix.length) || '/'}` : ''}`
        : `  rule: host route ${service.host} → ${service.backend} (the Host header, port and case ignored, looked up in the host map); the path is not read by this rule`,
    );
    const header = /^hash-header:(.+)$/.exec(service.policy.balance)?.[1];
    if (header) read.add(header.toLowerCase());
    lines.push(...versionLines(e, request, read));
    lines.push(ready.length > 0 ? `  ${ready.length} of ${service.servers.length} servers take traffic` : '  no server takes traffic: requests get 503 {"error":"service_unavailable"}');
    for (const server of service.servers) {
      const instance = e.instances.get(server.name);
      const origin = instance ? `instance ${JSON.stringify(instance.id)} on node ${JSON.stringify(instance.node)}, ${instance.status}` : e.isStatic ? 'static upstream' : 'instance unknown';
      const why = server.state === 'ready' ? 'eligible' : instance?.status === 'warning' ? 'not eligible: warning, and routing.passingOnly is true' : 'not eligible: its checks do not pass';
      const address = `${server.address.includes(':') ? `[${server.address}]` : server.address}:${server.port}`;
      lines.push(`  server ${server.name.padEnd(24)} ${address.padEnd(22)} weight ${String(server.weight).padEnd(4)} ${server.state.padEnd(6)} (${origin}: ${why})`);
    }
    lines.push('  policy (value, then the layer it came from; later layers win key by key):');
    for (const row of policyRows(service.name, service.policy, service.policyOrigins, kvPrefix)) {
      lines.push(`    ${row.key.padEnd(34)} ${row.value.padEnd(22)} ${row.source}`);
    }
  }
  for (const r of e.rejections) lines.push(`  skipped ${r.subject}: ${r.reason}`);
  const unread = [...request.headers.keys()].filter((name) => !read.has(name.toLowerCase()));
  if (unread.length > 0) lines.push(`  headers not read by any rule: ${unread.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/** Versions of the service, and where this request goes among them (a pin header it carries). */
function versionLines(e: Explanation, request: ExplainRequest, read: Set<string>): string[] {
  const versions = e.service?.versions;
  if (!versions || versions.backends.length === 0) return ['  versions: none (no instance has ipx-version meta); every instance serves the service'];
  const lines: string[] = [];
  const split = versions.slots.length > 0;
  for (const v of versions.backends) {
    const ready = v.servers.filter((s) => s.state === 'ready').length;
    const share = split ? `${versions.shares[v.version] ?? 0}% of requests` : 'no split';
    lines.push(`  version ${v.version.padEnd(12)} → backend ${v.backend} (${share}; ${ready} of ${v.servers.length} servers take traffic)`);
  }
  if (versions.pinHeader) {
    read.add(versions.pinHeader.toLowerCase());
    const given = [...request.headers].find(([name]) => name.toLowerCase() === versions.pinHeader?.toLowerCase());
    const target = given && versions.backends.find((v) => v.version === given[1]);
    lines.push(
      !given
        ? `  a request with header ${versions.pinHeader}: <version> goes to that version`
        : target
          ? `  this request: ${given[0]}: ${given[1]} pins it to version ${given[1]} (backend ${target.backend})`
          : `  this request: ${given[0]}: ${given[1]} names no version; ${versions.slots.length > 0 ? 'the split decides' : 'any server of the service answers'}`,
    );
  }
  return lines;
}

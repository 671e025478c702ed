/**
 * Untrusted Consul data against the configuration text (DESIGN.md invariant 1).
 * For arbitrary values in every field a registration controls:
 * - every item of the snapshot is accounted for: a server in the model, or a
 *   rejection that names it (nothing silently dropped, nothing invented), and
 *   what the limits keep does not depend on the order of the input;
 * - the rendered files are exactly those of a reference render with the same
 *   structure and only safe placeholder values, each placeholder replaced by the
 *   value the model intends (so no extra line, keyword or section);
 * - each `server` line parses into exactly `server <name> <ip:port> weight <n> [disabled]`;
 * - KV values (no policy reads them yet) change nothing that is rendered;
 * - and, for a few runs, the real `haproxy -c` accepts the render without warnings.
 */
import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildModel } from '../../src/model/build-model.ts';
import { MAX_WEIGHT } from '../../src/model/build-service.ts';
import { quoteForLog } from '../../src/model/rejections.ts';
import { CONFIG_FILE, render } from '../../src/render/render.ts';
import { dryRunCheck } from '../../src/haproxy/check/dry-run.ts';
import { configInput, snapshotArb } from '../helpers/consul-arbitraries.ts';
import { config } from '../helpers/model-fakes.ts';
import { loadRenderKit } from '../../src/runner/assets.ts';
import type { Config } from '../../src/config/schema.ts';
import type { InstanceEntry, Snapshot } from '../../src/consul/snapshot.ts';
import type { Model, ServerModel, ServiceModel } from '../../src/model/types.ts';

const { templates, assets } = await loadRenderKit();

const serviceSubject = (name: string) => `service ${quoteForLog(name)}`;
const instanceSubject = (service: string, i: InstanceEntry) =>
  `instance ${quoteForLog(i.id)} on node ${quoteForLog(i.node)} of service ${quoteForLog(service)}`;
const kvSubject = (key: string) => `KV key ${quoteForLog(key)}`;

/** What a server line must say for its address: the helper's encoding, computed here independently. */
const addrToken = (server: ServerModel) => `${server.address.includes(':') ? `[${server.address}]` : server.address}:${server.port}`;

function renderFiles(model: Model): { cfg: string; mapName: string; map: string } {
  const { files } = render({ model, templates, assets });
  const mapName = Object.keys(files).find((name) => name.startsWith('hosts-')) ?? '';
  return { cfg: files[CONFIG_FILE] ?? '', mapName, map: files[mapName] ?? '' };
}

/**
 * The same structure with placeholders no Consul value chose: services t000…,
 * servers t000s000…, addresses 198.18.<service>.<server>:1. Weights and states
 * are kept: they are numbers and an enum the model has already checked. Returns
 * the placeholder → intended token map that turns the reference into the expectation.
 * Instance IDs are left unmapped on purpose: they must never be written. A
 * service name (a DNS label once in the model) is written only as the access
 * log's `str(<name>)`.
 */
function reference(model: Model): { model: Model; tokens: Map<string, string> } {
  const tokens = new Map<string, string>();
  const pad = (n: number) => String(n).padStart(3, '0');
  const services = model.services.map((service, i): ServiceModel => {
    const name = `t${pad(i)}`;
    tokens.set(`svc_${name}`, service.backend);
    tokens.set(`${name}.${model.global.domain}`, service.host);
    tokens.set(`str(${name})`, `str(${service.name})`);
    const servers = service.servers.map((server, j): ServerModel => {
      // instanceId gets a placeholder no token maps back: a template that wrote it would differ from the expectation.
      const placeholder = { ...server, name: `${name}s${pad(j)}`, instanceId: `id-${name}s${pad(j)}`, address: `198.18.${i}.${j + 1}`, port: 1 };
      tokens.set(placeholder.name, server.name);
      tokens.set(addrToken(placeholder), addrToken(server));
      return placeholder;
    });
    return { ...service, name, host: `${name}.${model.global.domain}`, backend: `svc_${name}`, servers };
  });
  return { model: { ...model, services }, tokens };
}

function expectedFrom(referenceText: string, tokens: ReadonlyMap<string, string>): string {
  return referenceText
    .split('\n')
    .map((line) => line.split(' ').map((token) => tokens.get(token) ?? token).join(' '))
    .join('\n');
}

function checkAccounting(snapshot: Snapshot, cfg: Config, model: Model): void {
  const subjects = new Set(model.rejections.map((r) => r.subject));
  const possible = new Set<string>([...(snapshot.unwatched ?? []).map(serviceSubject), ...snapshot.kv.map((e) => kvSubject(e.key)), 'policy defaults']);
  for (const service of model.services) possible.add(`policy of service ${JSON.stringify(service.name)}`);
  for (const rejection of model.rejections) {
    expect(rejection.reason.length).toBeGreaterThan(0);
    // One log line each: no raw line breaks, whatever the untrusted text was.
    expect(`${rejection.subject} ${rejection.reason}`).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
  }

  const byName = new Map(model.services.map((service) => [service.name, service]));
  for (const entry of snapshot.services) {
    possible.add(serviceSubject(entry.name));
    const routed = byName.get(entry.name);
    expect(routed !== undefined || subjects.has(serviceSubject(entry.name)), `service ${JSON.stringify(entry.name)} accounted for`).toBe(true);
    for (const instance of entry.instances) {
      possible.add(instanceSubject(entry.name, instance));
      const server = routed?.servers.find((s) => s.instanceId === instance.id && s.address === instance.address && s.port === instance.port);
      const rejected = subjects.has(instanceSubject(entry.name, instance)) || subjects.has(serviceSubject(entry.name));
      expect(server !== undefined || rejected, `instance ${JSON.stringify(instance.id)} of ${JSON.stringify(entry.name)} accounted for`).toBe(true);
    }
  }
  for (const name of snapshot.unwatched ?? []) expect(byName.has(name) || subjects.has(serviceSubject(name))).toBe(true);
  for (const subject of subjects) expect(possible.has(subject), `rejection ${subject} names an input item`).toBe(true);

  // Nothing invented: each server is one instance of the snapshot, as the model promises to encode it.
  for (const service of model.services) {
    const instances = snapshot.services.filter((entry) => entry.name === service.name).flatMap((entry) => entry.instances);
    expect(service.servers.length).toBeLessThanOrEqual(Math.min(instances.length, cfg.limits.instancesPerService));
    for (const server of service.servers) {
      // Node's parser as an independent oracle: an IP literal, without the zone it accepts; nothing but zeros is unspecified.
      expect(isIP(server.address) !== 0 && !server.address.includes('%'), server.address).toBe(true);
      expect(server.address).not.toMatch(/^[0:.]+$/);
      const source = instances.filter((i) => i.id === server.instanceId && i.address === server.address && i.port === server.port);
      expect(source.length).toBeGreaterThan(0);
      expect(source.some((i) => Math.min(i.weight, MAX_WEIGHT) === server.weight && stateOf(i, cfg) === server.state)).toBe(true);
    }
  }
  expect(model.services.length).toBeLessThanOrEqual(cfg.limits.services);
}

function stateOf(instance: InstanceEntry, cfg: Config): 'ready' | 'maint' {
  return instance.status === 'passing' || (instance.status === 'warning' && !cfg.routing.passingOnly) ? 'ready' : 'maint';
}

/** Walks the config: every server line, in its backend, says exactly what its model server intends. */
function checkServerLines(text: string, model: Model): void {
  const backends = new Map(model.services.map((service) => [service.backend, service]));
  let current: ServiceModel | undefined;
  let index = 0;
  let seen = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('backend ')) {
      current = backends.get(line.slice('backend '.length));
      expect(current, line).toBeDefined();
      index = 0;
    } else if (/^\S/.test(line)) {
      current = undefined;
    }
    if (!/^\s*server\s/.test(line)) continue;
    const server = current?.servers[index++];
    expect(server, line).toBeDefined();
    if (server === undefined) return;
    const expected = ['server', server.name, addrToken(server), 'weight', String(server.weight), ...(server.state === 'maint' ? ['disabled'] : [])];
    expect(line.startsWith('    ')).toBe(true);
    expect(line.trim().split(' ')).toEqual(expected);
    seen += 1;
  }
  expect(seen).toBe(model.services.reduce((sum, service) => sum + service.servers.length, 0));
}

describe('arbitrary Consul data never reaches the configuration unencoded', () => {
  it('accounts for every item and renders exactly the reference structure', () => {
    fc.assert(
      fc.property(snapshotArb, configInput, (snapshot, input) => {
        const cfg = config(input);
        const model = buildModel({ snapshot, config: cfg });
        checkAccounting(snapshot, cfg, model);
        // What the limits keep depends on sorted order only, not on the order Consul answered in.
        const reversed = {
          ...snapshot,
          services: [...snapshot.services].reverse().map((entry) => ({ ...entry, instances: [...entry.instances].reverse() })),
          kv: [...snapshot.kv].reverse(),
        };
        expect(buildModel({ snapshot: reversed, config: cfg })).toEqual(model);

        const actual = renderFiles(model);
        const ref = reference(model);
        const refFiles = renderFiles(ref.model);
        ref.tokens.set(refFiles.mapName, actual.mapName);
        const expectedCfg = expectedFrom(refFiles.cfg.replaceAll(refFiles.mapName, actual.mapName), ref.tokens);
        expect(actual.cfg).toBe(expectedCfg);
        expect(actual.map).toBe(`${refFiles.map.split('\n')[0]}\n${mapLines(model).join('')}`);
        checkServerLines(actual.cfg, model);

        // KV feeds policies only: unless a service took a value from it, the files are the same without it.
        const fromKv = model.services.some((s) => Object.values(s.policyOrigins).some((layer) => layer.startsWith('kv-')));
        const withoutKv = renderFiles(buildModel({ snapshot: { ...snapshot, kv: [] }, config: cfg }));
        if (!fromKv) expect(withoutKv).toEqual(actual);
      }),
      { numRuns: 500 },
    );
  });

  it('renders configurations that haproxy -c accepts without warnings (a few runs: each starts a process)', async () => {
    // The check `ipx render --dry-run` runs: each render in a fresh folder of its own.
    await fc.assert(
      fc.asyncProperty(snapshotArb, configInput, async (snapshot, input) => {
        const rendered = render({ model: buildModel({ snapshot, config: config(input) }), templates, assets });
        expect(await dryRunCheck(rendered, process.env.HAPROXY_BIN ?? 'haproxy')).toEqual([]);
      }),
      { numRuns: 10 },
    );
  });
});

/** The map's data lines as the model intends them: `<host> <backend>`, in code-unit order. */
function mapLines(model: Model): string[] {
  return model.services.map((service) => `${service.host} ${service.backend}\n`).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

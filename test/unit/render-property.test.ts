import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildModel } from '../../src/model/build-model.ts';
import { SAFE_NAME } from '../../src/model/identifiers.ts';
import { parseIpLiteral } from '../../src/model/ip-literal.ts';
import { CONFIG_FILE, render } from '../../src/render/render.ts';
import { config, service, snapshot } from '../helpers/model-fakes.ts';
import { loadAssets, loadTemplates } from '../helpers/render-inputs.ts';
import type { HealthStatus, InstanceEntry, ServiceEntry } from '../../src/consul/snapshot.ts';
import type { Model } from '../../src/model/types.ts';

/**
 * Whatever Consul holds, the model holds only safe names and the rendered
 * configuration has exactly the lines the templates produce: one `server`
 * line per model server and nothing injected.
 */
const templates = loadTemplates();
const assets = loadAssets();
const anyText = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ maxLength: 300 }));
const hostileText = fc.constantFrom('a b', 'x\ny', '#', '%[env(HOME)]', '${HOME}', "'", '-x', '', 'ü', 'a\r\nbackend evil', 'x'.repeat(300));
const text = fc.oneof(anyText, hostileText);

const serviceName = fc.oneof(text, fc.constantFrom('web', 'Web', 'WEB', 'api', 'a-b', 'x'.repeat(63)), fc.stringMatching(/^[A-Za-z0-9-]{1,12}$/));
const address = fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain(), text, fc.constantFrom('0.0.0.0', '::', '::ffff:10.0.0.1', 'fe80::1%eth0'));
const port = fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: -10, max: 70_000 }), fc.double());
const status = fc.constantFrom<HealthStatus>('passing', 'passing', 'warning', 'critical', 'maintenance' as HealthStatus);
const weight = fc.oneof(fc.integer({ min: 1, max: 256 }), fc.integer({ min: -5, max: 70_000 }), fc.double());
const instance: fc.Arbitrary<InstanceEntry> = fc.record({
  id: fc.oneof(text, fc.constantFrom('web-1', 'web-2', 'dup')),
  node: fc.oneof(text, fc.constantFrom('node-a', 'node-b')),
  address,
  port,
  tags: fc.array(text, { maxLength: 3 }),
  meta: fc.dictionary(text, text, { maxKeys: 3 }),
  status,
  weight,
});
const services = fc.array(
  fc.record({ name: serviceName, instances: fc.array(instance, { maxLength: 6 }) }).map((s): ServiceEntry => service(s.name, s.instances)),
  { maxLength: 8 },
);
const settings = fc.record({ passingOnly: fc.boolean(), balance: fc.constantFrom('roundrobin' as const, 'leastconn' as const, 'random' as const) });

/** Lines of the config for an empty model, and what one service without servers adds. */
function lineCount(model: Model): number {
  return (render({ model, templates, assets }).files[CONFIG_FILE] ?? '').split('\n').length;
}
const emptyModel = buildModel({ snapshot: snapshot(), config: config() });
const BASE_LINES = lineCount(emptyModel);
const LINES_PER_SERVICE = lineCount(buildModel({ snapshot: snapshot(service('x')), config: config() })) - BASE_LINES;

const SERVER_LINE = /^ {4}server [A-Za-z0-9][A-Za-z0-9._-]* (\d{1,3}(\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\]):\d{1,5} weight \d{1,3}( disabled)?$/;
const BACKEND_LINE = /^backend svc_[a-z0-9-]{1,63}$/;

describe('buildModel and render on arbitrary Consul data', () => {
  it('never throw, keep names safe and write only template lines', () => {
    fc.assert(
      fc.property(services, settings, (entries, routing) => {
        const cfg = config({ routing });
        const model = buildModel({ snapshot: snapshot(...entries), config: cfg });
        expect(buildModel({ snapshot: snapshot(...[...entries].reverse()), config: cfg })).toEqual(model);

        const backends = model.services.map((s) => s.backend);
        expect(new Set(backends).size).toBe(backends.length);
        for (const svc of model.services) {
          expect(svc.backend).toMatch(SAFE_NAME);
          expect(svc.host).toMatch(/^[a-z0-9-]{1,63}\.service\.internal$/);
          expect(new Set(svc.servers.map((s) => s.name)).size).toBe(svc.servers.length);
          for (const server of svc.servers) {
            expect(server.name).toMatch(SAFE_NAME);
            expect(parseIpLiteral(server.address)?.unspecified).toBe(false);
            expect(Number.isInteger(server.port) && server.port >= 1 && server.port <= 65535).toBe(true);
            expect(Number.isInteger(server.weight) && server.weight >= 1 && server.weight <= 256).toBe(true);
            expect(['ready', 'maint']).toContain(server.state);
          }
        }

        const { files } = render({ model, templates, assets });
        const cfgText = files[CONFIG_FILE] ?? '';
        expect(cfgText).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
        const lines = cfgText.split('\n');
        const serverCount = model.services.reduce((sum, s) => sum + s.servers.length, 0);
        expect(lines.length).toBe(BASE_LINES + model.services.length * LINES_PER_SERVICE + serverCount);
        const serverLines = lines.filter((line) => /^\s*server\s/.test(line));
        expect(serverLines).toHaveLength(serverCount);
        for (const line of serverLines) expect(line).toMatch(SERVER_LINE);
        expect(lines.filter((line) => line.startsWith('backend '))).toEqual(backends.map((b) => `backend ${b}`));
        for (const line of lines.filter((l) => l.startsWith('backend '))) expect(line).toMatch(BACKEND_LINE);

        const mapFile = Object.keys(files).find((name) => name !== CONFIG_FILE) ?? '';
        const mapLines = (files[mapFile] ?? '').split('\n').filter((line) => line !== '' && !line.startsWith('#'));
        expect(mapLines.sort()).toEqual(model.services.map((s) => `${s.host} ${s.backend}`).sort());
      }),
      { numRuns: 200 },
    );
  });

  it('render configurations haproxy -c accepts (a few runs: each starts a process)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipx-property-'));
    try {
      fc.assert(
        fc.property(services, settings, (entries, routing) => {
          const model = buildModel({ snapshot: snapshot(...entries), config: config({ routing }) });
          const { files } = render({ model, templates, assets });
          rmSync(dir, { recursive: true, force: true });
          mkdirSync(dir);
          for (const [file, content] of Object.entries(files)) writeFileSync(join(dir, file), content);
          const check = spawnSync(process.env.HAPROXY_BIN ?? 'haproxy', ['-c', '-f', join(dir, CONFIG_FILE)], { encoding: 'utf8' });
          expect(check.status, check.stderr).toBe(0);
        }),
        { numRuns: 10 },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

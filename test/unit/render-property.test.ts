import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildModel } from '../../src/model/build-model.ts';
import { SAFE_NAME } from '../../src/model/identifiers.ts';
import { parseIpLiteral } from '../../src/model/ip-literal.ts';
import { CONFIG_FILE, render } from '../../src/render/render.ts';
import { serviceEntry } from '../helpers/consul-arbitraries.ts';
import { config, service, snapshot } from '../helpers/model-fakes.ts';
import { loadRenderKit } from '../../src/runner/assets.ts';
import type { Model } from '../../src/model/types.ts';

/**
 * Whatever Consul holds, the model holds only safe names and the rendered
 * configuration has exactly the lines the templates produce: one `server`
 * line per model server and nothing injected. render-injection.test.ts checks
 * each line against a reference render, and the real `haproxy -c`.
 */
const { templates, assets } = await loadRenderKit();
const services = fc.array(serviceEntry, { maxLength: 8 });
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

        const mapFile = Object.keys(files).find((name) => name.startsWith('hosts-')) ?? '';
        const mapLines = (files[mapFile] ?? '').split('\n').filter((line) => line !== '' && !line.startsWith('#'));
        expect(mapLines.sort()).toEqual(model.services.map((s) => `${s.host} ${s.backend}`).sort());
      }),
      { numRuns: 200 },
    );
  });
});

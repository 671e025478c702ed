import { describe, expect, it } from 'vitest';
import { RenderError } from '../../src/errors.ts';
import { buildModel } from '../../src/model/build-model.ts';
import { compileTemplates, type TemplateSources } from '../../src/render/compile-templates.ts';
import { CONFIG_FILE, render } from '../../src/render/render.ts';
import { config, defaultPolicyFields, instance, service, snapshot } from '../helpers/model-fakes.ts';
import { loadRenderKit } from '../../src/runner/assets.ts';
import type { Model } from '../../src/model/types.ts';

const { templates, assets } = await loadRenderKit();
const defaultPolicy = defaultPolicyFields();
const model = buildModel({
  snapshot: snapshot(
    service('web', [instance({ id: 'w1' }), instance({ id: 'w2', address: '2001:db8::2', port: 443, weight: 5 }), instance({ id: 'w3', status: 'critical' })]),
    service('api'),
  ),
  config: config(),
});

function renderError(fn: () => unknown): RenderError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RenderError);
    return err as RenderError;
  }
  throw new Error('expected a RenderError');
}

describe('render', () => {
  const result = render({ model, templates, assets });
  const mapFile = Object.keys(result.files).find((name) => name.startsWith('hosts-')) ?? '';

  it('writes haproxy.cfg, a host map named by its content hash and the server timeouts map', () => {
    expect(Object.keys(result.files).sort()).toEqual([CONFIG_FILE, mapFile, 'timeouts-server.map'].sort());
    expect(result.files['timeouts-server.map']?.split('\n').filter((line) => !line.startsWith('#'))).toEqual(['svc_api 30000', 'svc_web 30000', '']);
    expect(mapFile).toMatch(/^hosts-[0-9a-f]{12}\.map$/);
    expect(result.files[mapFile]?.split('\n').filter((line) => !line.startsWith('#'))).toEqual([
      'api.service.internal svc_api',
      'web.service.internal svc_web',
      '',
    ]);
    expect(result.files[CONFIG_FILE]).toContain(`map(${mapFile}) -m found }`);
    expect(result.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('writes servers with IPv6 in brackets, their weight, maintenance as disabled, and no timestamp', () => {
    const cfg = result.files[CONFIG_FILE] ?? '';
    expect(cfg).toContain('    server w1 10.0.0.1:8080 weight 1\n');
    expect(cfg).toContain('    server w2 [2001:db8::2]:443 weight 5\n');
    expect(cfg).toContain('    server w3 10.0.0.1:8080 weight 1 disabled\n');
    expect(cfg).not.toMatch(/\b20\d\d-\d\d-\d\d|\d\d:\d\d:\d\d/);
    expect(cfg).not.toMatch(/^\s*(master-worker|daemon)\b/m);
  });

  it('leaves the thread count to HAProxy unless haproxy.threads sets it', () => {
    expect(result.files[CONFIG_FILE]).not.toContain('nbthread');
    const one = buildModel({ snapshot: snapshot(service('web')), config: config({ haproxy: { threads: 1 } }) });
    expect(render({ model: one, templates, assets }).files[CONFIG_FILE]).toContain('\n    nbthread 1\n');
  });

  it('changes the map name and the hash when the services change, not when only servers do', () => {
    const more = buildModel({ snapshot: snapshot(service('web', [instance({ id: 'w1' })]), service('api'), service('new')), config: config() });
    const fewer = buildModel({ snapshot: snapshot(service('web'), service('api')), config: config() });
    const withNew = render({ model: more, templates, assets });
    const withFewer = render({ model: fewer, templates, assets });
    expect(Object.keys(withNew.files)).not.toContain(mapFile);
    expect(Object.keys(withFewer.files)).toContain(mapFile);
    expect(new Set([result.hash, withNew.hash, withFewer.hash]).size).toBe(3);
  });

  it('encodes a quote in an error body and ignores the file\'s final newline', () => {
    const body = '{"message":"it\'s gone"}\n';
    const out = render({ model, templates, assets: { errors: { ...assets.errors, '503': body } } });
    expect(out.files[CONFIG_FILE]).toContain(`string '{"message":"it'\\''s gone"}'\n`);
  });

  it.each([
    ['not JSON', 'oops', /error body 503 .* is not valid JSON/],
    ['empty', '\n', /error body 503 .* is missing or empty/],
    ['multi-line JSON', '{\n"a": 1}', /error body 503 .* control character U\+000a/],
  ])('refuses an error body that is %s', (_label, body, message) => {
    const err = renderError(() => render({ model, templates, assets: { errors: { ...assets.errors, '503': body } } }));
    expect(err.message).toMatch(message);
    expect(err.code).toBe('E_RENDER');
  });

  it('refuses a hand-built model with an unsafe server name, naming the template', () => {
    const bad: Model = {
      ...model,
      services: [{ ...defaultPolicy, name: 'web', host: 'web.service.internal', backend: 'svc_web', servers: [{ name: 'x\nbackend evil', instanceId: 'x', address: '10.0.0.1', port: 80, weight: 1, state: 'ready', version: null }] }],
    };
    const err = renderError(() => render({ model: bad, templates, assets }));
    expect(err.message).toMatch(/^render: partial "backend" failed: ident: "x\\nbackend evil" is not a safe HAProxy name/);
  });

  it('refuses a hand-built model with an unsafe host, before any template runs', () => {
    const bad: Model = { ...model, services: [{ ...defaultPolicy, name: 'web', host: 'web x', backend: 'svc_web', servers: [] }] };
    expect(renderError(() => render({ model: bad, templates, assets })).message).toMatch(/host map: host "web x"/);
  });
});

describe('compileTemplates', () => {
  const sources = (main: string, partials: Record<string, string> = {}): TemplateSources => ({ main, partials });

  it.each([
    ['a syntax error', sources('{{#each x}}'), /^render: main template does not compile: Parse error/],
    ['a bare value', sources('maxconn {{global.maxconn}}'), /main template does not compile: line 1: \{\{global\.maxconn\}\} must call one of the encoding helpers/],
    ['an unknown helper', sources('{{raw global.maxconn}}'), /\{\{raw\}\} must call one of the encoding helpers/],
    ['a helper without a value', sources('{{int}}'), /\{\{int\}\} must call/],
    ['a missing partial', sources('{{> nope}}', { global: '' }), /line 1: partial "nope" does not exist; known: global/],
    ['a bad partial', sources('{{> p}}', { p: 'x\n{{name}}' }), /^render: partial "p" does not compile: line 2:/],
  ])('refuses %s', (_label, input, message) => {
    expect(renderError(() => compileTemplates(input)).message).toMatch(message);
  });

  it.each([
    ['a helper', 'x {{int global.nope}}', /^render: partial "p" failed: int: undefined is not a non-negative integer/],
    ['#each', '{{#each servcies}}x{{/each}}', /^render: partial "p" failed: #each: its argument is undefined; is the path misspelled\?/],
    ['#if', '{{#if global.nope}}x{{/if}}', /^render: partial "p" failed: #if: its argument is undefined/],
  ])('fails at render when %s gets a field the model does not have, naming the partial', (_label, partial, message) => {
    const compiled = compileTemplates(sources('{{> p}}', { p: partial }));
    expect(renderError(() => render({ model, templates: compiled, assets })).message).toMatch(message);
  });

  it('keeps helpers and partials private to each compiled set', () => {
    const a = compileTemplates(sources('{{> p}}', { p: 'A' }));
    const b = compileTemplates(sources('{{> p}}', { p: 'B' }));
    expect(render({ model, templates: a, assets }).files[CONFIG_FILE]).toBe('A');
    expect(render({ model, templates: b, assets }).files[CONFIG_FILE]).toBe('B');
  });
});

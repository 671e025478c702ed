import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/parse.ts';
import { buildModel } from '../../src/model/build-model.ts';
import { parseComposites } from '../../src/model/composites/parse.ts';
import { checkPartPath, expandPartPath, matchRoute, parseRouteTemplate, routesOverlap } from '../../src/model/composites/path-template.ts';
import type { ParseCompositesInput } from '../../src/model/composites/parse.ts';

const ORDER_VIEW = {
  path: '/views/order/{id}',
  deadline: 800,
  parts: {
    order: { service: 'orders', path: '/orders/{id}', timeout: 300, required: true, cacheFor: 0 },
    stock: { service: 'stock', path: '/stock/{id}?at={warehouse}', timeout: 300, required: false, cacheFor: 60_000 },
  },
};

function input(overrides: Partial<ParseCompositesInput> = {}): ParseCompositesInput {
  return { file: {}, kv: [], kvPrefix: 'ipx/', domain: 'service.internal', maxParts: 8, ...overrides };
}

describe('route templates', () => {
  it.each([
    ['/views/order/{id}', '^/views/order/[^/]+$', ['id']],
    ['/a.b/{x}/c/{y}', '^/a[.]b/[^/]+/c/[^/]+$', ['x', 'y']],
    ['/plain', '^/plain$', []],
  ])('%s becomes %s', (path, regex, params) => {
    const route = parseRouteTemplate(path);
    expect(route.haproxyRegex).toBe(regex);
    expect(route.params).toEqual(params);
  });

  it.each([
    ['views/x', 'must start with /'],
    ['/a//b', 'segment ""'],
    ['/a/{id}/{id}', 'appears twice'],
    ['/a/x{id}', 'segment "x{id}"'],
    ["/a/it's", 'segment'],
    ['/a/b c', 'segment'],
  ])('refuses %s', (path, reason) => {
    expect(() => parseRouteTemplate(path)).toThrow(reason);
  });

  it('matches a request path and decodes its parameters', () => {
    const route = parseRouteTemplate('/views/order/{id}');
    expect(matchRoute(route, '/views/order/o%2F1')).toEqual({ id: 'o/1' });
    expect(matchRoute(route, '/views/order/')).toBeUndefined();
    expect(matchRoute(route, '/views/order/1/more')).toBeUndefined();
    expect(matchRoute(route, '/views/orders/1')).toBeUndefined();
    expect(matchRoute(route, '/views/order/%E0%A4%A')).toBeUndefined();
  });

  it('expands part paths with encoded values; a query item whose value is missing is left out', () => {
    const query = new URLSearchParams('warehouse=north east&other=1');
    expect(expandPartPath('/orders/{id}', { id: 'a/b?c' }, query)).toBe('/orders/a%2Fb%3Fc');
    expect(expandPartPath('/stock/{id}?at={warehouse}&fixed=1', { id: '7' }, query)).toBe('/stock/7?at=north%20east&fixed=1');
    expect(expandPartPath('/stock/{id}?at={missing}', { id: '7' }, query)).toBe('/stock/7');
  });

  it('checks part paths against the route', () => {
    expect(() => checkPartPath('/orders/{id}?at={warehouse}', ['id'])).not.toThrow();
    expect(() => checkPartPath('/orders/{order}', ['id'])).toThrow('{order} in the path is not a parameter of the route ({id})');
    expect(() => checkPartPath('/orders/{id', ['id'])).toThrow('unmatched');
  });

  it.each([
    ['/a/{x}', '/a/b', true],
    ['/a/{x}', '/{y}/b', true],
    ['/a/b', '/a/c', false],
    ['/a/{x}', '/a/{x}/c', false],
  ])('%s and %s overlap: %s', (a, b, overlap) => {
    expect(routesOverlap(parseRouteTemplate(a), parseRouteTemplate(b))).toBe(overlap);
  });
});

describe('parseComposites', () => {
  it('builds a file composite with hosts and timeouts cut to the deadline', () => {
    const { routes, rejections } = parseComposites(input({ file: { 'order-view': { ...ORDER_VIEW, deadline: 200 } } }));
    expect(rejections).toEqual([]);
    expect(routes).toHaveLength(1);
    expect(routes[0]).toMatchObject({ name: 'order-view', source: 'config file', deadlineMs: 200 });
    expect(routes[0]?.parts.map((p) => [p.name, p.host, p.timeoutMs, p.required, p.cacheForMs])).toEqual([
      ['order', 'orders.service.internal', 200, true, 0],
      ['stock', 'stock.service.internal', 200, false, 60_000],
    ]);
  });

  it('reads KV in JSON or YAML; a KV entry replaces the file definition of the same name', () => {
    const yaml = 'path: /kv/{id}\ndeadline: 1s\nparts:\n  a: { service: orders, path: "/orders/{id}", timeout: 500ms }\n';
    const { routes, rejections } = parseComposites(
      input({
        file: { 'order-view': ORDER_VIEW },
        kv: [
          { key: 'ipx/composites/kv-view', value: yaml },
          { key: 'ipx/composites/order-view', value: JSON.stringify({ path: '/v2/order/{id}', parts: { order: { service: 'orders', path: '/o/{id}' } } }) },
          { key: 'ipx/services/orders', value: 'not a composite' },
        ],
      }),
    );
    expect(rejections).toEqual([]);
    expect(routes.map((r) => [r.name, r.path, r.source])).toEqual([
      ['kv-view', '/kv/{id}', 'KV ipx/composites/kv-view'],
      ['order-view', '/v2/order/{id}', 'KV ipx/composites/order-view'],
    ]);
  });

  it.each([
    ['{"path": "/x/{id}", "parts": {"a": {"service": "s", "path": "/y/{id}", "timeout": "3x"}}}', 'parts.a.timeout: "3x" is not a duration'],
    ['{"path": "/x/{id}", "parts": {"a": {"service": "s", "path": "/y/{other}"}}}', 'parts.a.path: {other} in the path is not a parameter of the route'],
    ['{"path": "/x/{id}", "parts": {}}', 'parts: a composite needs at least one part'],
    ['{"path": "/x/{id}", "parts": {"parts": {"service": "s", "path": "/y"}}}', '"parts" is the name of the report'],
    ['{"path": "/x/{id}", "parts": {"a": {"service": "bad name", "path": "/y"}}}', 'parts.a.service: must be a Consul service name'],
    ['{"path": "/x/{id}", "parts": {"a": {"service": "s", "path": "/y"}}, "extra": 1}', 'Unrecognized key'],
    ['{"path": "/x/{id}", "deadline": 0, "parts": {"a": {"service": "s", "path": "/y"}}}', 'deadline: must be more than 0'],
    ['path: [unclosed', 'not JSON or YAML'],
  ])('rejects the KV value %s, naming the composite, key and reason', (value, reason) => {
    const { routes, rejections } = parseComposites(input({ kv: [{ key: 'ipx/composites/broken', value }, { key: 'ipx/composites/fine', value: JSON.stringify({ path: '/fine', parts: { a: { service: 's', path: '/a' } } }) }] }));
    expect(routes.map((r) => r.name)).toEqual(['fine']);
    expect(rejections).toHaveLength(1);
    expect(rejections[0]?.subject).toBe('composite "broken" (KV ipx/composites/broken)');
    expect(rejections[0]?.reason).toContain(reason);
  });

  it('keeps the file definition when the KV one of the same name is invalid', () => {
    const { routes, rejections } = parseComposites(input({ file: { 'order-view': ORDER_VIEW }, kv: [{ key: 'ipx/composites/order-view', value: '{}' }] }));
    expect(routes.map((r) => r.source)).toEqual(['config file']);
    expect(rejections[0]?.reason).toContain("the config file's definition applies instead");
  });

  it('rejects a composite beyond aggregator.maxParts, a bad key name, and the later of two overlapping routes', () => {
    const part = { service: 's', path: '/a', timeout: 100, required: false, cacheFor: 0 };
    const { routes, rejections } = parseComposites(
      input({
        maxParts: 1,
        file: {
          a: { path: '/x/{id}', deadline: 500, parts: { p: part } },
          b: { path: '/x/y', deadline: 500, parts: { p: part } },
          c: { path: '/c', deadline: 500, parts: { p: part, q: part } },
        },
        kv: [{ key: 'ipx/composites/Bad/Name', value: '{}' }],
      }),
    );
    expect(routes.map((r) => r.name)).toEqual(['a']);
    expect(rejections.map((r) => r.reason)).toEqual([
      expect.stringContaining('a composite name is lower-case letters'),
      expect.stringContaining('overlaps composite "a"'),
      expect.stringContaining('beyond aggregator.maxParts (1)'),
    ]);
  });
});

describe('buildModel with composites', () => {
  it('adds composites from the file and KV, their rejections beside the others; none: no composites key', () => {
    const config = parseConfig({ composites: { 'order-view': { path: '/views/order/{id}', parts: { order: { service: 'orders', path: '/orders/{id}' } } } } });
    const model = buildModel({ snapshot: { services: [], kv: [{ key: 'ipx/composites/bad', value: '[' }] }, config });
    expect(model.composites?.aggregator).toBe('127.0.0.1:8408');
    expect(model.composites?.routes.map((r) => r.name)).toEqual(['order-view']);
    expect(model.rejections.map((r) => r.subject)).toEqual(['composite "bad" (KV ipx/composites/bad)']);
    expect(buildModel({ snapshot: { services: [], kv: [] }, config: parseConfig({}) })).not.toHaveProperty('composites');
  });

  it('refuses a bad composite in the config file at load, naming the key', () => {
    expect(() => parseConfig({ composites: { 'order-view': { path: '/v/{id}', parts: { a: { service: 'orders', path: '/o/{id}', timeout: 'soon' } } } } })).toThrow(/composites\.order-view\.parts\.a\.timeout/);
  });
});

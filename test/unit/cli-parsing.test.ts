import { describe, expect, it } from 'vitest';
import { parseExplainRequest } from '../../src/cli/explain-request.ts';
import { builtInMetaSchema, IPX_META_KEYS } from '../../src/cli/instance-meta.ts';

describe('parseExplainRequest', () => {
  it.each([
    { target: 'hello', headers: [], host: 'hello', path: '/', display: 'GET / Host: hello' },
    { target: 'Hello.Service.Internal:8080', headers: [], host: 'Hello.Service.Internal:8080', path: '/', display: 'GET / Host: Hello.Service.Internal:8080' },
    { target: 'http://orders.service.internal/orders/1', headers: [], host: 'orders.service.internal', path: '/orders/1', display: 'GET /orders/1 Host: orders.service.internal' },
    { target: 'http://127.0.0.1:8080/x?y=1', headers: ['host: orders.service.internal'], host: 'orders.service.internal', path: '/x', display: 'GET /x?y=1 Host: orders.service.internal' },
  ])('$target with $headers', ({ target, headers, host, path, display }) => {
    expect(parseExplainRequest(target, headers)).toMatchObject({ host, path, display });
  });

  it('keeps other headers by name and refuses malformed ones', () => {
    expect([...parseExplainRequest('hello', ['X-Version: v2', 'X-Api-Key:k']).headers]).toEqual([['X-Version', 'v2'], ['X-Api-Key', 'k']]);
    expect(() => parseExplainRequest('hello', ['no colon'])).toThrow(/must be 'Name: value'/);
    expect(() => parseExplainRequest('hello', [': v'])).toThrow(/must be 'Name: value'/);
    expect(() => parseExplainRequest('http://[bad/', [])).toThrow(/is not a URL/);
  });
});

describe('the instance meta schema', () => {
  it.each([
    ['ipx-version', 'v2', true],
    ['ipx-version', 'v 2', false],
    ['ipx-path-prefix', '/orders', true],
    ['ipx-path-prefix', 'orders', false],
    ['ipx-strip-prefix', 'true', true],
    ['ipx-strip-prefix', 'yes', false],
    ['ipx-protocol', 'grpc', true],
    ['ipx-protocol', 'ftp', false],
    ['ipx-tcp-port', '9100', true],
    ['ipx-tcp-port', '70000', false],
    ['ipx-gateways', 'internal,mobile-bff', true],
    ['ipx-gateways', 'Internal', false],
    ['ipx-balance', 'hash-header:X-User', true],
    ['ipx-balance', 'static-rr', false],
    ['ipx-timeout', '5s', true],
    ['ipx-connect-timeout', 'soon', false],
    ['ipx-retries', '2', true],
    ['ipx-retries', '-1', false],
    ['ipx-health-path', '/health', true],
    ['ipx-health-path', '/he alth', false],
    ['ipx-max-conns', '100', true],
    ['ipx-max-conns', '0', false],
    ['ipx-rate-limit', '100/s', true],
    ['ipx-rate-limit', '100', false],
    ['ipx-auth', 'required', true],
    ['ipx-auth', 'maybe', false],
    ['ipx-allow', 'checkout,billing', true],
    ['ipx-allow', '*', true],
    ['ipx-allow', 'a b', false],
    ['team', 'any value at all', true],
    ['bad key', 'x', false],
    ['ipx-unknown', 'x', false],
  ] as const)('%s=%s → %s', (key, value, ok) => {
    expect(builtInMetaSchema.check({ [key]: value }).length === 0).toBe(ok);
  });

  it('covers every instance meta key of POLICIES.md', () => {
    expect(IPX_META_KEYS).toEqual(['ipx-allow', 'ipx-auth', 'ipx-balance', 'ipx-connect-timeout', 'ipx-gateways', 'ipx-health-path', 'ipx-max-conns', 'ipx-path-prefix', 'ipx-protocol', 'ipx-rate-limit', 'ipx-retries', 'ipx-strip-prefix', 'ipx-tcp-port', 'ipx-timeout', 'ipx-version']);
  });
});

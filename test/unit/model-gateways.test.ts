import { describe, expect, it } from 'vitest';
import { buildModel } from '../../src/model/build-model.ts';
import { config, instance, service, snapshot } from '../helpers/model-fakes.ts';
import type { ConfigInput } from '../../src/config/index.ts';

const tagged = (name: string, ...gateways: (string | undefined)[]) =>
  service(
    name,
    gateways.map((g, i) => instance({ id: `${name}-${i}`, address: '10.0.0.1', port: 8000 + i, meta: g === undefined ? {} : { 'ipx-gateways': g } })),
  );
const names = (input: ConfigInput, ...services: ReturnType<typeof tagged>[]) => buildModel({ snapshot: snapshot(...services), config: config(input) }).services.map((s) => s.name);

describe('gateway exposure', () => {
  const all = [tagged('a', 'internal'), tagged('b', 'mobile-bff, internal'), tagged('c', undefined), tagged('d', 'mobile-bff')];

  it('routes every service without gateway.name', () => {
    expect(names({}, ...all)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('routes the services that name the gateway, and those naming none only with exposeAll', () => {
    expect(names({ gateway: { name: 'internal' } }, ...all)).toEqual(['a', 'b']);
    expect(names({ gateway: { name: 'internal', exposeAll: true } }, ...all)).toEqual(['a', 'b', 'c']);
    expect(names({ gateway: { name: 'mobile-bff' } }, ...all)).toEqual(['b', 'd']);
  });

  it('follows the value most instances hold, and reports the disagreement', () => {
    const split = tagged('e', 'internal', 'internal', 'mobile-bff');
    const model = buildModel({ snapshot: snapshot(split), config: config({ gateway: { name: 'internal' } }) });
    expect(model.services.map((s) => s.name)).toEqual(['e']);
    expect(model.rejections.map((r) => r.reason).join(' ')).toMatch(/instances disagree on ipx-gateways/);
  });

  it('reads its own KV layer above the shared one, and no other gateway\'s', () => {
    const kv = [
      { key: 'ipx/services/a', value: '{"timeouts": {"server": "5s", "connect": "2s"}}' },
      { key: 'ipx/gateways/internal/services/a', value: '{"timeouts": {"server": "9s"}}' },
      { key: 'ipx/gateways/internal/defaults', value: '{"retries": {"attempts": 0}}' },
      { key: 'ipx/gateways/mobile-bff/services/a', value: '{"timeouts": {"server": "1s"}}' },
    ];
    const model = buildModel({ snapshot: { ...snapshot(tagged('a', 'internal')), kv }, config: config({ gateway: { name: 'internal' } }) });
    const a = model.services[0];
    expect(a?.policy.timeouts).toMatchObject({ server: 9000, connect: 2000 });
    expect(a?.policy.retries.attempts).toBe(0);
    expect(a?.policyOrigins['timeouts.server']).toBe('kv-gateway-service');
    expect(a?.policyOrigins['retries.attempts']).toBe('kv-gateway-defaults');
  });
});

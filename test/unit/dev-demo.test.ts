import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { ConsulClient } from '../../src/consul/index.ts';
import { DEMO_INSTANCES, demoKvEntries, newDemoApiKey, writeDemoKv } from '../../src/dev/demo-gateway.ts';
import { portsConfigured } from '../../src/dev/ports-configured.ts';
import { tryLines } from '../../src/dev/try-lines.ts';
import { parseConfig } from '../../src/config/index.ts';
import { policySchema } from '../../src/model/policy/index.ts';

const input = { domain: 'service.internal', listen: { http: '127.0.0.1:8080', stats: '127.0.0.1:8404', admin: '127.0.0.1:8405' }, kvPrefix: 'ipx/', apiKey: 'k3y' };

describe('the demo ipx dev sets up', () => {
  it('labels hello v1 and v2, and stores the API key only as its SHA-256', () => {
    expect(DEMO_INSTANCES.filter((i) => i.service === 'hello').map((i) => i.version)).toEqual(['v1', 'v2']);
    const entries = demoKvEntries('ops/ipx/', 'k3y');
    expect(entries.map((e) => e.key)).toEqual(['ops/ipx/services/hello', 'ops/ipx/services/world', 'ops/ipx/services/orders', 'ops/ipx/apikeys/demo']);
    expect(entries.at(-1)?.value).toBe(createHash('sha256').update('k3y').digest('hex'));
    expect(entries.map((e) => e.value).join('\n')).not.toContain('k3y');
    expect(newDemoApiKey()).toMatch(/^[0-9a-f]{32}$/);
    expect(newDemoApiKey()).not.toBe(newDemoApiKey());
  });

  it('writes policy documents the daemon accepts, with the values the printed lines promise', () => {
    const [hello, world, orders] = demoKvEntries('ipx/', 'k3y').slice(0, 3).map((e) => policySchema.parse(parseYaml(e.value)));
    expect(hello).toMatchObject({ versions: { split: { v1: 90, v2: 10 }, pinHeader: 'X-Version' } });
    expect(world).toMatchObject({ routes: [{ pathPrefix: '/world', stripPrefix: true }] });
    expect(orders).toMatchObject({ auth: { required: true }, rateLimit: { perCaller: '5/m' } });
  });

  it('prints groups of curl lines, one comment each, with the clear key and the listen addresses', () => {
    const lines = tryLines(input);
    const groups = lines.join('\n').split('\n\n').map((g) => g.split('\n'));
    for (const group of groups) {
      expect(group[0]).toMatch(/^# /);
      expect(group.slice(1).every((l) => /^(curl|for) /.test(l))).toBe(true);
    }
    expect(groups.map((g) => g[0]?.slice(0, 20))).toEqual(['# routing by Host: <', '# a version split (K', '# a path route (KV i', '# an API key (its SH', '# a rate limit: 5 re', '# HAProxy and ipx th']);
    expect(lines).toContain("curl -H 'Host: orders.service.internal' -H 'X-Api-Key: k3y' http://127.0.0.1:8080/     # 200, \"caller\":\"demo\"");
    expect(lines).toContain("curl -H 'Host: hello.service.internal' -H 'X-Version: v2' http://127.0.0.1:8080/     # always v2");
    expect(lines).toContain('curl http://127.0.0.1:8080/world/hi     # world answers "path":"/hi"');
    expect(lines.find((l) => l.startsWith('for i in $(seq 7)'))).toContain("-H 'X-Api-Key: k3y'");
  });

  it('creates only the absent keys and reports the others as kept', async () => {
    const existing = new Map([['ipx/services/hello', 'balance: leastconn']]);
    const client = {
      kvCreate: async (key: string, value: string) => {
        if (existing.has(key)) return false;
        existing.set(key, value);
        return true;
      },
    } as Pick<ConsulClient, 'kvCreate'> as ConsulClient;
    const result = await writeDemoKv(client, demoKvEntries('ipx/', 'k3y'));
    expect(result.kept).toEqual(['ipx/services/hello']);
    expect(result.created).toEqual(['ipx/services/world', 'ipx/services/orders', 'ipx/apikeys/demo']);
    expect(existing.get('ipx/services/hello')).toBe('balance: leastconn');
  });
});

describe('portsConfigured', () => {
  it("names every port the configuration binds, so ipx dev's Consul agent keeps off them", () => {
    const config = parseConfig({
      listen: { http: '127.0.0.1:20001', stats: '127.0.0.1:20002', admin: '127.0.0.1:20003', accessLog: '127.0.0.1:20004' },
      rateLimit: { syncBind: '127.0.0.1:20005' },
      routing: { tcpPorts: { from: 20010, to: 20012 } },
    });
    expect([...portsConfigured(config)].sort()).toEqual([20001, 20002, 20003, 20004, 20005, 20010, 20011, 20012]);
  });
});

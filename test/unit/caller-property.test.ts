import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { buildModel } from '../../src/model/build-model.ts';
import { EMPTY_SERVER_STATE } from '../../src/haproxy/runtime/servers-state.ts';
import { CONFIG_FILE, render } from '../../src/render/render.ts';
import { loadRenderKit } from '../../src/runner/assets.ts';
import { untrustedText } from '../helpers/consul-arbitraries.ts';
import { sha256Hex, rsaKeys } from '../helpers/jwt.ts';
import { config } from '../helpers/model-fakes.ts';
import { GOLDEN_RUN_DIR } from '../helpers/render-inputs.ts';
import type { IntentionEntry } from '../../src/consul/intentions.ts';
import type { InstanceEntry, KvEntry, ServiceEntry } from '../../src/consul/snapshot.ts';

/**
 * Caller names, API-key hashes, allow lists and intentions come from KV,
 * instance meta and Consul; a JWT's claims arrive with each request and are checked by HAProxy.
 * Whatever they hold, the caller maps keep to two plain words a line and the
 * configuration's caller rules depend only on the rule kinds, never on a
 * name or a key.
 */
const { templates, assets } = await loadRenderKit();
const scratch = mkdtempSync(join(tmpdir(), 'ipx-caller-property-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const CALLER = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MAP_LINES: Record<string, RegExp> = {
  'caller-apikeys.map': /^[0-9a-f]{64} [A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
  'caller-access.map': /^svc_[a-z0-9-]+\/(\*|[A-Za-z0-9][A-Za-z0-9._-]{0,63}) 1$/,
  'caller-policy.map': /^svc_[a-z0-9-]+\/(auth 1|access 1|on 1|pcu [smh]{2}|tu [smh])$/,
  'caller-limits.map': /^(svc_[a-z0-9-]+|\*)\/[a-z]+ [1-9]\d{0,9}$/,
  'caller-intentions.map': /^(svc_[a-z0-9-]+|\*)\/(\*|[A-Za-z0-9][A-Za-z0-9._-]{0,63}) (allow|deny)$/,
};

const callerName = fc.oneof(untrustedText, fc.constantFrom('checkout', 'billing', 'a.b_c-d', '*', 'x'.repeat(65)));
const hashes = fc.oneof(
  untrustedText,
  fc.array(fc.constantFrom(sha256Hex('k1'), sha256Hex('k2').toUpperCase(), sha256Hex('k3')), { minLength: 1, maxLength: 3 }).map((h) => h.join('\n')),
);
const apiKeyKv: fc.Arbitrary<KvEntry[]> = fc.array(fc.record({ key: callerName.map((c) => `ipx/apikeys/${c}`), value: hashes }), { maxLength: 4 });
const allowList = fc.array(callerName, { maxLength: 4 });
const rate = fc.oneof(untrustedText, fc.constantFrom('10/s', '5/m', '1/h', '0/s', '10/d'));
const serviceDoc = fc.record(
  {
    auth: fc.record({ required: fc.oneof(fc.boolean(), untrustedText) }, { requiredKeys: [] }),
    access: fc.record({ allow: fc.oneof(allowList, untrustedText) }, { requiredKeys: [] }),
    rateLimit: fc.record({ perCaller: rate, total: rate, bytesPerCaller: fc.oneof(rate, fc.constantFrom('1MB/m', '10KB/s')) }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);
const meta = fc.record({ 'ipx-allow': fc.oneof(untrustedText, allowList.map((a) => a.join(','))), 'ipx-auth': fc.oneof(untrustedText, fc.constant('required')), 'ipx-rate-limit': rate }, { requiredKeys: [] });
const instance = (id: string) => meta.map((m): InstanceEntry => ({ id, node: 'n', address: '10.0.0.1', port: 8080, tags: [], meta: m, status: 'passing', weight: 1 }));
const services: fc.Arbitrary<ServiceEntry[]> = fc.tuple(instance('w1'), instance('a1')).map(([w, a]) => [
  { name: 'web', instances: [w] },
  { name: 'api', instances: [a] },
]);
const serviceKv: fc.Arbitrary<KvEntry[]> = fc.array(fc.record({ key: fc.constantFrom('ipx/services/web', 'ipx/services/api', 'ipx/defaults'), value: serviceDoc.map((d) => JSON.stringify(d)) }), { maxLength: 2 });

const intentions: fc.Arbitrary<IntentionEntry[]> = fc.array(
  fc.record({ source: callerName, destination: fc.oneof(untrustedText, fc.constantFrom('web', 'api', '*')), action: fc.constantFrom('allow' as const, 'deny' as const) }),
  { maxLength: 4 },
);

const { publicPem } = rsaKeys();
const cfg = config({
  identity: { jwt: { algorithm: 'RS256', key: publicPem, issuer: 'https://idp', audience: 'ipx' }, apiKeys: {} },
  rateLimit: { perCaller: '100/s' },
  access: { consulIntentions: true },
});

function callerLines(text: string): string[] {
  return text.split('\n').filter((line) => /ipx_(caller|who|tok|aud|cred|lim|bytes)|caller-|X-Ipx-Caller|track-sc/.test(line));
}

/**
 * The untrusted values worth looking for in the rendered files. Plain words with whitespace around them
 * ("key\n") and any text the files hold without untrusted data (`key"` ends the 401 body's "an API
 * key") are in any configuration's own text: not a sign of the value getting through (the map-line
 * and rule checks above catch a line it would break).
 */
function untrustedStrings(kv: readonly KvEntry[], list: readonly ServiceEntry[], ownText: string): string[] {
  const out = kv.flatMap((e) => [e.key.slice(e.key.lastIndexOf('/') + 1), e.value]);
  for (const s of list) for (const i of s.instances) out.push(...Object.values(i.meta));
  return out.filter((v) => v.trim().length > 3 && !CALLER.test(v) && !/^[0-9a-fA-F\s]+$/.test(v) && !/^[\w ,./*-]+$/.test(v.trim()) && !ownText.includes(v));
}

describe('caller data from KV and meta', () => {
  it('reaches the maps only as two plain words a line, and the rules never', () => {
    const ownFiles = render({ model: buildModel({ snapshot: { services: [], kv: [] }, config: cfg }), templates, assets }).files;
    const baseline = callerLines(ownFiles[CONFIG_FILE] ?? '');
    const ownText = Object.values(ownFiles).join('\n');
    fc.assert(
      fc.property(services, apiKeyKv, serviceKv, intentions, (list, keys, docs, consul) => {
        const model = buildModel({ snapshot: { services: list, kv: [...keys, ...docs], intentions: consul }, config: cfg });
        const { files } = render({ model, templates, assets });
        for (const [name, pattern] of Object.entries(MAP_LINES)) {
          for (const line of (files[name] ?? '').split('\n')) if (line !== '' && !line.startsWith('#')) expect(line, name).toMatch(pattern);
        }
        // The caller rules are the same lines whatever the data, but for tracker tables a limit's unit adds.
        const rules = callerLines(files[CONFIG_FILE] ?? '').filter((line) => !/track-sc[01]|table ipx_(pc|total)_/.test(line));
        expect(rules.filter((line) => !/ipx_lim|ipx_bytes|return status 429/.test(line))).toEqual(baseline.filter((line) => !/ipx_lim|ipx_bytes|return status 429/.test(line)));
        const all = Object.values(files).join('\n');
        const fromConsul = consul.flatMap((i) => [{ key: `/${i.source}`, value: i.destination }]);
        for (const value of untrustedStrings([...keys, ...docs, ...fromConsul], list, ownText)) expect(all.includes(value), JSON.stringify(value)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('renders configurations haproxy -c accepts', () => {
    let run = 0;
    fc.assert(
      fc.property(services, apiKeyKv, serviceKv, intentions, (list, keys, docs, consul) => {
        const { files } = render({ model: buildModel({ snapshot: { services: list, kv: [...keys, ...docs], intentions: consul }, config: cfg }), templates, assets });
        const out = join(scratch, String(run++));
        mkdirSync(out, { recursive: true });
        for (const [file, content] of Object.entries(files)) writeFileSync(join(out, file), content);
        mkdirSync(GOLDEN_RUN_DIR, { recursive: true });
        writeFileSync(join(GOLDEN_RUN_DIR, 'server-state'), EMPTY_SERVER_STATE);
        const check = spawnSync(process.env.HAPROXY_BIN ?? 'haproxy', ['-c', '-f', join(out, CONFIG_FILE)], { encoding: 'utf8' });
        expect(check.status, check.stderr).toBe(0);
        expect(check.stderr).not.toMatch(/WARNING/);
      }),
      { numRuns: 12 },
    );
  });
});

/**
 * Who is calling, through real HAProxy: JWTs that HAProxy verifies with a
 * pinned algorithm and key (and every way a token can be wrong), API keys
 * from KV added and revoked with no reload, auth.required, and a client's own
 * X-Ipx-Caller never reaching an instance.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALLER_NAME } from '../../src/model/identity/index.ts';
import { createAdminCli } from '../../src/haproxy/runtime/admin-cli.ts';
import { JWT_VERIFIED_MAP } from '../../src/render/caller-maps.ts';
import { putKv } from '../helpers/consul.ts';
import { eventually } from '../helpers/http.ts';
import { nowSeconds, rsaKeys, sha256Hex, signers, token, type TestKeys } from '../helpers/jwt.ts';
import { request, type Answer } from '../helpers/policy-http.ts';
import { startPolicyStack, type PolicyStack } from '../helpers/policy-stack.ts';
import type { Echo } from '../helpers/policy-backend.ts';

const ISSUER = 'https://idp.test';
const AUDIENCE = 'ipx';
let stack: PolicyStack;
let keys: TestKeys;
let other: TestKeys;

const claims = (extra: Record<string, unknown> = {}) => ({ sub: 'checkout', iss: ISSUER, aud: AUDIENCE, exp: nowSeconds() + 300, nbf: nowSeconds() - 5, ...extra });
const rs256 = (payload: Record<string, unknown>, key = keys) => token({ alg: 'RS256', typ: 'JWT' }, payload, signers.rsa(key.privateKey));

function call(host: string, headers: Record<string, string> = {}): Promise<Answer> {
  return request(stack.ipx.http, { headers: { host: `${host}.service.internal`, ...headers } });
}
const bearer = (jwt: string) => ({ authorization: `Bearer ${jwt}` });

async function kvDelete(key: string): Promise<void> {
  const res = await fetch(`${stack.consul.agent.address}/v1/kv/${key}`, { method: 'DELETE' });
  if (!res.ok) throw new Error(`DELETE ${key}: HTTP ${res.status}`);
}

beforeAll(async () => {
  keys = rsaKeys();
  other = rsaKeys();
  stack = await startPolicyStack('caller-identity', {
    identity: { jwt: { algorithm: 'RS256', key: keys.publicPem, issuer: ISSUER, audience: AUDIENCE, clockSkew: '5s' }, apiKeys: {} },
    policies: { services: { orders: { auth: { required: true } } } },
  });
  await stack.instance('orders', 'orders-1');
  await stack.instance('open', 'open-1');
  await stack.instance('team', 'team-1', { 'ipx-auth': 'required', 'ipx-allow': 'checkout' });
  await eventually(async () => ((await call('open')).status === 200 && (await call('team')).status === 401 ? true : undefined), 20_000, 'the services to route');
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

describe('caller identity', () => {
  it('answers 401 JSON with WWW-Authenticate: Bearer without credentials where auth is required', async () => {
    const res = await call('orders');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.headers['content-type']).toBe('application/json');
    expect(JSON.parse(res.body)).toMatchObject({ error: 'unauthenticated' });
  });

  it('takes auth and the allow list from a service team\'s ipx-auth and ipx-allow meta', async () => {
    expect((await call('team')).status).toBe(401);
    expect((await call('team', bearer(rs256(claims())))).status).toBe(200);
    expect((await call('team', bearer(rs256(claims({ sub: 'intruder' }))))).status).toBe(403);
  });

  it('passes a valid JWT, and the instance sees the caller', async () => {
    const res = await call('orders', bearer(rs256(claims())));
    expect(res.status).toBe(200);
    expect((JSON.parse(res.body) as Echo).headers['x-ipx-caller']).toBe('checkout');
  });

  it('names the caller in the access log, and "-" for a refused request', async () => {
    const ok = await call('orders', { ...bearer(rs256(claims())), 'x-request-id': 'caller-log-1' });
    expect(ok.status).toBe(200);
    expect((await call('orders', { 'x-request-id': 'caller-log-2' })).status).toBe(401);
    const logged = await eventually(async () => {
      const all = stack.ipx.accessLines.map((line) => JSON.parse(line) as { request_id: string; caller: string; status: number });
      const pair = [all.find((l) => l.request_id === 'caller-log-1'), all.find((l) => l.request_id === 'caller-log-2')];
      return pair[0] && pair[1] ? pair : undefined;
    }, 5_000, 'both access lines');
    expect(logged[0]).toMatchObject({ caller: 'checkout', status: 200 });
    expect(logged[1]).toMatchObject({ caller: '-', status: 401 });
  });

  it('remembers a verified token by its hash: the same token skips the signature check, never its claims; a token one byte off is verified and refused', async () => {
    const admin = createAdminCli({ socketPath: join(stack.ipx.config.haproxy.runDir, 'admin.sock') });
    const remembered = async () => (await admin.command(`show map ${JWT_VERIFIED_MAP}`)).split('\n').filter((line) => line.trim() !== '').map((line) => line.split(' ')[1]);
    await stack.ipx.haproxy.clearMap(JWT_VERIFIED_MAP);
    const jwt = rs256(claims({ sub: 'remembered' }));
    const hash = sha256Hex(jwt).toUpperCase();
    expect((await call('orders', bearer(jwt))).status).toBe(200);
    expect(await remembered()).toEqual([hash]);
    expect((await call('orders', bearer(jwt))).status).toBe(200);
    expect(await remembered()).toEqual([hash]);
    // A character in the middle of the signature changed: another hash, so jwt_verify runs and refuses it.
    const at = jwt.length - 20;
    const forged = `${jwt.slice(0, at)}${jwt[at] === 'A' ? 'B' : 'A'}${jwt.slice(at + 1)}`;
    expect((await call('orders', bearer(forged))).status).toBe(401);
    expect(await remembered()).toEqual([hash]);
    // Emptied (ipx does this every minute): the token is verified again, and remembered again.
    await stack.ipx.haproxy.clearMap(JWT_VERIFIED_MAP);
    expect(await remembered()).toEqual([]);
    expect((await call('orders', bearer(jwt))).status).toBe(200);
    expect(await remembered()).toEqual([hash]);
  });

  it('forgets remembered tokens at a reload (the new worker reads the map file, empty; identity.jwt changes only with a restart, which reloads)', async () => {
    const admin = createAdminCli({ socketPath: join(stack.ipx.config.haproxy.runDir, 'admin.sock') });
    const remembered = async () => (await admin.command(`show map ${JWT_VERIFIED_MAP}`)).split('\n').filter((line) => line.trim() !== '').length;
    expect((await call('orders', bearer(rs256(claims({ sub: 'before-reload' }))))).status).toBe(200);
    expect(await remembered()).toBeGreaterThan(0);
    const reloads = await stack.reloads();
    // A new service is a new backend: a reload.
    await stack.instance('reload-trigger', 'reload-trigger-1');
    await stack.applied('reload-trigger');
    await stack.ipx.daemon.idle();
    expect(await stack.reloads()).toBeGreaterThan(reloads);
    expect(await remembered()).toBe(0);
  });

  it('refuses a remembered token once it expires: the claims are checked on every request', async () => {
    // exp 3 s ago, clock skew 5 s: valid for one or two more seconds.
    const jwt = rs256(claims({ sub: 'expiring', exp: nowSeconds() - 3 }));
    expect((await call('orders', bearer(jwt))).status).toBe(200);
    await eventually(async () => ((await call('orders', bearer(jwt))).status === 401 ? true : undefined), 4_000, 'the remembered token to expire');
  });

  it('accepts an audience listed in an array', async () => {
    const res = await call('orders', bearer(rs256(claims({ aud: ['other', AUDIENCE] }))));
    expect(res.status).toBe(200);
  });

  it.each([
    ['unsigned (alg none)', () => token({ alg: 'none', typ: 'JWT' }, claims(), signers.none())],
    ['signed with another key', () => rs256(claims(), other)],
    ['HS256 signed with the RS256 public key as secret', () => token({ alg: 'HS256', typ: 'JWT' }, claims(), signers.hmac(keys.publicPem))],
    ['expired', () => rs256(claims({ exp: nowSeconds() - 60 }))],
    ['without exp', () => rs256(claims({ exp: undefined }))],
    ['not yet valid', () => rs256(claims({ nbf: nowSeconds() + 120 }))],
    ['from another issuer', () => rs256(claims({ iss: 'https://evil.test' }))],
    ['for another audience', () => rs256(claims({ aud: 'someone-else' }))],
    ['tampered (payload changed after signing)', () => {
      const [h, , s] = rs256(claims()).split('.');
      return `${h}.${Buffer.from(JSON.stringify(claims({ sub: 'admin' }))).toString('base64url')}.${s}`;
    }],
    ['naming a caller outside the caller grammar', () => rs256(claims({ sub: 'a b\r\nX-Evil: 1' }))],
  ])('refuses a token %s with 401, even where auth is not required', async (_label, make) => {
    const jwt = make();
    for (const host of ['orders', 'open']) {
      const res = await call(host, bearer(jwt));
      expect(res.status, host).toBe(401);
      expect(JSON.parse(res.body)).toMatchObject({ error: 'unauthenticated' });
    }
  });

  it('passes any caller claim in the caller grammar as it is, and refuses every other (property, through HAProxy)', async () => {
    const claim = fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
      fc.string({ maxLength: 80 }),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
      fc.constantFrom('a\r\nX-Ipx-Caller: admin', "a' b", 'a,b', '%[src]', '${HOME}', 'a#b', '-lead', 'x'.repeat(65), ''),
    );
    await fc.assert(
      fc.asyncProperty(claim, async (sub) => {
        const res = await call('orders', bearer(rs256(claims({ sub }))));
        if (CALLER_NAME.test(sub)) {
          expect(res.status).toBe(200);
          expect((JSON.parse(res.body) as Echo).headers['x-ipx-caller']).toBe(sub);
        } else {
          expect(res.status).toBe(401);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('lets anonymous callers through where auth is not required, with no X-Ipx-Caller', async () => {
    const res = await call('open');
    expect(res.status).toBe(200);
    expect((JSON.parse(res.body) as Echo).headers['x-ipx-caller']).toBeUndefined();
  });

  it('never passes a spoofed X-Ipx-Caller to an instance', async () => {
    const anonymous = await call('open', { 'x-ipx-caller': 'admin' });
    expect((JSON.parse(anonymous.body) as Echo).headers['x-ipx-caller']).toBeUndefined();
    const authenticated = await call('orders', { 'x-ipx-caller': 'admin', ...bearer(rs256(claims())) });
    expect((JSON.parse(authenticated.body) as Echo).headers['x-ipx-caller']).toBe('checkout');
  });

  it('takes an API key added in KV within a second with no reload, and stops a revoked one', async () => {
    const before = await stack.reloads();
    const apiKey = `k-${sha256Hex(String(Math.random())).slice(0, 32)}`;
    expect((await call('orders', { 'x-api-key': apiKey })).status).toBe(401);
    const start = Date.now();
    await putKv(stack.consul.agent.address, 'ipx/apikeys/billing', sha256Hex(apiKey));
    const res = await eventually(async () => {
      const answer = await call('orders', { 'x-api-key': apiKey });
      return answer.status === 200 ? answer : undefined;
    }, 5_000, 'the API key to work');
    const elapsed = Date.now() - start;
    console.log(`API key usable ${elapsed} ms after the KV write`);
    expect(elapsed).toBeLessThan(1_000);
    expect((JSON.parse(res.body) as Echo).headers['x-ipx-caller']).toBe('billing');
    expect((JSON.parse(res.body) as Echo).headers['x-api-key']).toBeUndefined();
    // Also on disk, so that the next reload keeps it.
    await eventually(async () => ((await readFile(join(stack.ipx.config.haproxy.runDir, 'caller-apikeys.map'), 'utf8')).includes(`${sha256Hex(apiKey)} billing`) ? true : undefined), 5_000, 'the map file to be rewritten');

    // Rotation: a second key for the same caller works alongside the first, then the first is dropped.
    const next = `k-${sha256Hex(String(Math.random())).slice(0, 32)}`;
    await putKv(stack.consul.agent.address, 'ipx/apikeys/billing', `${sha256Hex(apiKey)}\n${sha256Hex(next)}`);
    await eventually(async () => ((await call('orders', { 'x-api-key': next })).status === 200 ? true : undefined), 5_000, 'the rotated key to work');
    expect((await call('orders', { 'x-api-key': apiKey })).status).toBe(200);
    await putKv(stack.consul.agent.address, 'ipx/apikeys/billing', sha256Hex(next));
    await eventually(async () => ((await call('orders', { 'x-api-key': apiKey })).status === 401 ? true : undefined), 5_000, 'the old key to stop');

    await kvDelete('ipx/apikeys/billing');
    await eventually(async () => ((await call('orders', { 'x-api-key': next })).status === 401 ? true : undefined), 5_000, 'the revoked key to stop working');
    expect(await stack.reloads()).toBe(before);
  });

  it('replaces a map of many keys in batches, every key working, with no reload', async () => {
    const before = await stack.reloads();
    const callers = Array.from({ length: 128 }, (_, i) => `bulk-${i}`);
    for (let at = 0; at < callers.length; at += 64) {
      const ops = callers.slice(at, at + 64).map((c) => ({ KV: { Verb: 'set', Key: `ipx/apikeys/${c}`, Value: Buffer.from(sha256Hex(`key-${c}`)).toString('base64') } }));
      const res = await fetch(`${stack.consul.agent.address}/v1/txn`, { method: 'PUT', body: JSON.stringify(ops) });
      expect(res.ok).toBe(true);
    }
    for (const c of ['bulk-0', 'bulk-49', 'bulk-50', 'bulk-127']) {
      const res = await eventually(async () => {
        const answer = await call('orders', { 'x-api-key': `key-${c}` });
        return answer.status === 200 ? answer : undefined;
      }, 5_000, `the key of ${c} to work`);
      expect((JSON.parse(res.body) as Echo).headers['x-ipx-caller']).toBe(c);
    }
    expect(await stack.reloads()).toBe(before);
  });

  it('ignores an API-key KV entry that is not a hash (a key stored in clear)', async () => {
    await putKv(stack.consul.agent.address, 'ipx/apikeys/clear', 'my-secret-key');
    const reported = await eventually(async () => {
      const status = await (await fetch(`${stack.ipx.admin}/status`)).text();
      return status.includes('ipx/apikeys/clear') ? status : undefined;
    }, 5_000, 'the rejection to be reported');
    expect(reported).toContain('SHA-256');
    expect((await call('orders', { 'x-api-key': 'my-secret-key' })).status).toBe(401);
  });
});

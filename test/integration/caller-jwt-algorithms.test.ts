/**
 * Each JWT family HAProxy 2.6 verifies, pinned in identity.jwt: a token of
 * the pinned algorithm passes; the same claims signed another way (another
 * key or secret, alg none, another family) do not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/http.ts';
import { ecKeys, nowSeconds, rsaKeys, signers, token } from '../helpers/jwt.ts';
import { request } from '../helpers/policy-http.ts';
import { startPolicyStack, type PolicyStack } from '../helpers/policy-stack.ts';
import type { Echo } from '../helpers/policy-backend.ts';

const ISSUER = 'https://idp.test';
const claims = () => ({ sub: 'mobile-app', iss: ISSUER, aud: 'ipx', exp: nowSeconds() + 300 });
const SECRET = 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC0xMjM0';

interface Case {
  readonly algorithm: 'ES256' | 'ES512' | 'HS512' | 'RS384';
  readonly key: string;
  readonly good: () => string;
  readonly bad: readonly (readonly [string, () => string])[];
}

const ec256 = ecKeys('prime256v1');
const ec256other = ecKeys('prime256v1');
const ec521 = ecKeys('secp521r1');
const rsa = rsaKeys();
const CASES: readonly Case[] = [
  {
    algorithm: 'ES256',
    key: ec256.publicPem,
    good: () => token({ alg: 'ES256' }, claims(), signers.ec(ec256.privateKey)),
    bad: [
      ['signed with another P-256 key', () => token({ alg: 'ES256' }, claims(), signers.ec(ec256other.privateKey))],
      ['HS256 with the public key as secret', () => token({ alg: 'HS256' }, claims(), signers.hmac(ec256.publicPem))],
    ],
  },
  {
    algorithm: 'ES512',
    key: ec521.publicPem,
    good: () => token({ alg: 'ES512' }, claims(), signers.ec(ec521.privateKey, '512')),
    bad: [['signed with SHA-256 over P-521', () => token({ alg: 'ES512' }, claims(), signers.ec(ec521.privateKey, '256'))]],
  },
  {
    algorithm: 'HS512',
    key: SECRET,
    good: () => token({ alg: 'HS512' }, claims(), signers.hmac(SECRET, '512')),
    bad: [
      ['HS256 with the same secret', () => token({ alg: 'HS256' }, claims(), signers.hmac(SECRET, '256'))],
      ['another secret', () => token({ alg: 'HS512' }, claims(), signers.hmac(`${SECRET}x`, '512'))],
    ],
  },
  {
    algorithm: 'RS384',
    key: rsa.publicPem,
    good: () => token({ alg: 'RS384' }, claims(), signers.rsa(rsa.privateKey, '384')),
    bad: [['RS256 with the same key', () => token({ alg: 'RS256' }, claims(), signers.rsa(rsa.privateKey, '256'))]],
  },
];

describe.each(CASES)('identity.jwt.algorithm $algorithm', ({ algorithm, key, good, bad }) => {
  let stack: PolicyStack;
  const call = (jwt: string) => request(stack.ipx.http, { headers: { host: 'api.service.internal', authorization: `Bearer ${jwt}` } });

  beforeAll(async () => {
    stack = await startPolicyStack(`jwt-${algorithm}`, { identity: { jwt: { algorithm, key, issuer: ISSUER, audience: 'ipx' } }, policies: { defaults: { auth: { required: true } } } });
    await stack.instance('api', 'api-1');
    await eventually(async () => ((await call(good())).status === 200 ? true : undefined), 20_000, 'api to route');
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('passes a token of the pinned algorithm', async () => {
    const res = await call(good());
    expect(res.status).toBe(200);
    expect((JSON.parse(res.body) as Echo).headers['x-ipx-caller']).toBe('mobile-app');
  });

  it.each([...bad, ['unsigned (alg none)', () => token({ alg: 'none' }, claims(), signers.none())] as const])('refuses a token %s', async (_label, make) => {
    expect((await call(make())).status).toBe(401);
  });
});

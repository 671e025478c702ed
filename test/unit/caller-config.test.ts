import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors.ts';
import { redact } from '../../src/cli/commands/config.ts';
import { ecKeys, rsaKeys } from '../helpers/jwt.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ipx-caller-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function load(jwt: Record<string, unknown>, files: Record<string, string>) {
  for (const [name, content] of Object.entries(files)) await writeFile(path.join(dir, name), content);
  const file = path.join(dir, 'ipx.yaml');
  await writeFile(file, JSON.stringify({ identity: { jwt: { issuer: 'https://idp', audience: 'ipx', ...jwt } } }));
  return loadConfig({ file, required: true, cwd: dir, env: {} });
}

describe('identity.jwt at load', () => {
  it('reads a BEGIN PUBLIC KEY file for RS256 relative to the working folder', async () => {
    const { publicPem } = rsaKeys();
    const { config } = await load({ algorithm: 'RS256', publicKeyFile: 'jwt.pub' }, { 'jwt.pub': publicPem });
    expect(config.identity.jwt?.key).toBe(`${publicPem.trim()}\n`);
    expect(config.identity.jwt?.publicKeyFile).toBe(path.join(dir, 'jwt.pub'));
    expect(config.identity.jwt?.callerClaim).toBe('sub');
    expect(config.identity.jwt?.clockSkew).toBe(30_000);
  });

  it('refuses a certificate with the openssl command that extracts the key', async () => {
    const key = path.join(dir, 'cert-key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=idp'], { stdio: 'ignore' });
    await expect(load({ algorithm: 'RS256', publicKeyFile: 'cert.pem' }, {})).rejects.toThrow(/is a certificate; HAProxy needs the bare key: openssl x509/);
  });

  it.each([
    ['an EC key for RS256', { algorithm: 'RS256' }, () => ecKeys().publicPem, /holds an ec key, but RS256 needs an RSA key/],
    ['a P-384 key for ES256', { algorithm: 'ES256' }, () => ecKeys('secp384r1').publicPem, /curve secp384r1, but ES256 needs prime256v1/],
    ['a private key', { algorithm: 'RS256' }, () => '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', /exactly one "BEGIN PUBLIC KEY" PEM block/],
  ])('refuses %s', async (_label, jwt, pem, message) => {
    await expect(load({ ...jwt, publicKeyFile: 'k.pub' }, { 'k.pub': pem() })).rejects.toThrow(message);
  });

  it('reads an HS secret file and refuses a short or quoting one', async () => {
    const secret = 'A'.repeat(40);
    const { config } = await load({ algorithm: 'HS256', secretFile: 's.txt' }, { 's.txt': `${secret}\n` });
    expect(config.identity.jwt?.key).toBe(secret);
    await expect(load({ algorithm: 'HS256', secretFile: 's2.txt' }, { 's2.txt': 'short' })).rejects.toThrow(ConfigError);
    await expect(load({ algorithm: 'HS256', secretFile: 's3.txt' }, { 's3.txt': `${'a'.repeat(40)}',x)` })).rejects.toThrow(/32 to 512 characters/);
  });

  it('names a missing key file', async () => {
    await expect(load({ algorithm: 'ES256', publicKeyFile: 'missing.pub' }, {})).rejects.toThrow(/identity\.jwt\.publicKeyFile: cannot read .*missing\.pub/);
  });

  it.each([
    [{ identity: { jwt: { algorithm: 'none', key: 'x', issuer: 'a', audience: 'b' } } }, /identity\.jwt\.algorithm/],
    [{ identity: { jwt: { algorithm: 'PS256', key: 'x', issuer: 'a', audience: 'b' } } }, /identity\.jwt\.algorithm/],
    [{ identity: { jwt: { algorithm: 'RS256', issuer: 'a', audience: 'b' } } }, /RS\*\/ES\* need publicKeyFile/],
    [{ identity: { jwt: { algorithm: 'RS256', key: 'x', issuer: "a',b", audience: 'b' } } }, /identity\.jwt\.issuer/],
    [{ identity: { jwt: { algorithm: 'RS256', key: 'x', issuer: 'a', audience: 'b c' } } }, /identity\.jwt\.audience/],
    [{ identity: { jwt: { algorithm: 'RS256', key: 'x', issuer: 'a', audience: 'b', callerClaim: '$.sub' } } }, /identity\.jwt\.callerClaim/],
    [{ identity: { apiKeys: { header: 'X Api' } } }, /identity\.apiKeys\.header/],
    [{ access: { default: 'maybe' } }, /access\.default/],
    [{ rateLimit: { global: '10/m' } }, /rateLimit\.global: must be <count>\/s/],
    [{ rateLimit: { perCaller: 'lots' } }, /rateLimit\.perCaller/],
  ])('refuses %j', (input, message) => {
    expect(() => parseConfig(input)).toThrow(message);
  });
});

describe('ipx config print', () => {
  it('redacts an HS secret and leaves a public key out', () => {
    const secret = 'S'.repeat(40);
    const hs = redact(parseConfig({ identity: { jwt: { algorithm: 'HS256', key: secret, issuer: 'a', audience: 'b' } } }));
    expect(hs.identity.jwt?.key).toBe('<redacted>');
    expect(JSON.stringify(hs)).not.toContain(secret);
    const rs = redact(parseConfig({ identity: { jwt: { algorithm: 'RS256', key: rsaKeys().publicPem, issuer: 'a', audience: 'b' } } }));
    expect(rs.identity.jwt?.key).toBe('<read from publicKeyFile>');
  });
});

describe('identity.jwt.key inline', () => {
  it('is checked as a key file would be', async () => {
    const file = path.join(dir, 'inline.yaml');
    await writeFile(file, JSON.stringify({ identity: { jwt: { algorithm: 'ES256', key: rsaKeys().publicPem, issuer: 'a', audience: 'b' } } }));
    await expect(loadConfig({ file, required: true, cwd: dir, env: {} })).rejects.toThrow(/identity\.jwt\.key holds an rsa key, but ES256 needs an EC key/);
  });
});

import { createHash, createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

/** Tokens built by hand with node:crypto, so that tests can also build the bad ones a library refuses to. */
export interface TestKeys {
  readonly privateKey: KeyObject;
  /** "BEGIN PUBLIC KEY" PEM, as identity.jwt takes it. */
  readonly publicPem: string;
}

export function rsaKeys(): TestKeys {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

export function ecKeys(curve = 'prime256v1'): TestKeys {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
  return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Header and payload as given; the signature by `signer` over them (empty for alg none). */
export function token(header: Record<string, unknown>, payload: Record<string, unknown>, signer: (input: string) => Buffer): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${signer(input).toString('base64url')}`;
}

const HASH: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };

export const signers = {
  rsa: (key: KeyObject, bits = '256') => (input: string) => sign(HASH[bits] as string, Buffer.from(input), key),
  /** ES signatures in JOSE form (r||s), as JWTs carry them. */
  ec: (key: KeyObject, bits = '256') => (input: string) => sign(HASH[bits] as string, Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }),
  hmac: (secret: string | Buffer, bits = '256') => (input: string) => createHmac(HASH[bits] as string, secret).update(input).digest(),
  none: () => () => Buffer.alloc(0),
};

export const nowSeconds = () => Math.floor(Date.now() / 1000);

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

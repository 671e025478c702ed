import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, errorMessage } from '../errors.ts';
import type { Config } from './schema.ts';

/** Characters a secret may hold: it is written into jwt_verify's argument list, where quotes, commas and parentheses would be read. */
const SECRET = /^[A-Za-z0-9._~+/=-]{32,512}$/;

/** EC curve per ES algorithm: HAProxy checks the signature length against it. */
const CURVES: Record<string, string> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };

/**
 * Reads identity.jwt's key file into `jwt.key` and checks it fits the pinned
 * algorithm, so that a wrong file fails at start with its fix rather than as
 * every token being refused (HAProxy loads a certificate without a word and
 * then answers -5 for each verify).
 */
export async function loadJwtKey(config: Config, cwd: string): Promise<void> {
  const jwt = config.identity.jwt;
  if (!jwt) return;
  const hmac = jwt.algorithm.startsWith('HS');
  if (jwt.key !== '') {
    jwt.key = hmac ? checkSecret('identity.jwt.key', jwt.key) : checkPublicKey('identity.jwt.key', jwt.key, jwt.algorithm);
    return;
  }
  const key = hmac ? 'secretFile' : 'publicKeyFile';
  const file = path.resolve(cwd, jwt[key]);
  jwt[key] = file;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`identity.jwt.${key}: cannot read ${file} (${errorMessage(err)}); check the path and its permissions`, { cause: err });
  }
  jwt.key = hmac ? checkSecret(`identity.jwt.secretFile ${file}`, text) : checkPublicKey(`identity.jwt.publicKeyFile ${file}`, text, jwt.algorithm);
}

/** `where` names the key in messages: `identity.jwt.secretFile <path>` or `identity.jwt.key`. */
function checkSecret(where: string, text: string): string {
  const secret = text.trim();
  if (!SECRET.test(secret)) {
    throw new ConfigError(`${where} must hold one secret of 32 to 512 characters A-Z a-z 0-9 . _ ~ + / = - (e.g. from openssl rand -base64 48)`);
  }
  return secret;
}

function checkPublicKey(where: string, text: string, algorithm: string): string {
  const pem = text.trim();
  if (pem.includes('BEGIN CERTIFICATE')) {
    throw new ConfigError(`${where} is a certificate; HAProxy needs the bare key: openssl x509 -in cert.pem -pubkey -noout > jwt.pub`);
  }
  const blocks = pem.match(/-----BEGIN [A-Z ]+-----/g) ?? [];
  if (blocks.length !== 1 || blocks[0] !== '-----BEGIN PUBLIC KEY-----') {
    throw new ConfigError(`${where} must hold exactly one "BEGIN PUBLIC KEY" PEM block (openssl pkey -in private.pem -pubout)`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new ConfigError(`${where} is not a readable public key (${errorMessage(err)})`, { cause: err });
  }
  const want = algorithm.startsWith('RS') ? 'rsa' : 'ec';
  if (key.asymmetricKeyType !== want) {
    throw new ConfigError(`${where} holds an ${key.asymmetricKeyType ?? 'unknown'} key, but ${algorithm} needs an ${want.toUpperCase()} key`);
  }
  const curve = CURVES[algorithm];
  if (curve !== undefined && key.asymmetricKeyDetails?.namedCurve !== curve) {
    throw new ConfigError(`${where} is on curve ${key.asymmetricKeyDetails?.namedCurve ?? 'unknown'}, but ${algorithm} needs ${curve}`);
  }
  return `${pem}\n`;
}

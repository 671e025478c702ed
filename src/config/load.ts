import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError, errorMessage } from '../errors.ts';
import { readDiscovery } from './discovery.ts';
import { loadJwtKey } from './jwt-key.ts';
import { parseConfig } from './parse.ts';
import type { Config } from './schema.ts';

export interface LoadConfigOptions {
  /** Path of the YAML file; a missing file means all defaults unless `required`. */
  file?: string;
  /** Fail when the file does not exist (true when the user named it with -c). */
  required?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Flag overrides, already shaped like the config (e.g. { consul: { address } }). */
  flags?: Record<string, Record<string, unknown>>;
  cwd?: string;
  /** Take the addresses a running `ipx dev` left in runDir as the layer above the defaults. */
  discover?: boolean;
  /** A command's own defaults (ipx dev's demo identity), just above the built-in ones: the file, env and flags win. */
  base?: Record<string, Record<string, unknown>>;
}

export interface LoadedConfig {
  config: Config;
  /** Absolute path of the file that was read, or undefined when defaults were used. */
  file: string | undefined;
  /** The `ipx dev` discovery file that was layered in, if any. */
  discovery?: string;
}

/**
 * Loads defaults < `ipx dev` discovery (with `discover`) < base < file < env < flags,
 * validates, and resolves paths (runDir, templates.dir) against the working directory.
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const file = options.file ? path.resolve(cwd, options.file) : undefined;
  const fromFile = file ? await readYaml(file, options.required ?? false) : undefined;

  const layers = [options.base ?? {}, fromFile ?? {}, envLayer(env), options.flags ?? {}];
  let config = parseConfig(mergeLayers(layers), file ?? 'config');
  // The discovery file lives in runDir, which only the layers above it can move.
  const discovered = options.discover ? await readDiscovery(path.resolve(cwd, config.haproxy.runDir)) : undefined;
  if (discovered) config = parseConfig(mergeLayers([discovered.layer, ...layers]), `${file ?? 'config'} with ${discovered.file}`);
  config.haproxy.runDir = path.resolve(cwd, config.haproxy.runDir);
  if (config.templates.dir) config.templates.dir = path.resolve(cwd, config.templates.dir);
  if (config.haproxy.masterSocket) config.haproxy.masterSocket = path.resolve(cwd, config.haproxy.masterSocket);
  const tls = config.consul.tls;
  for (const key of ['caFile', 'certFile', 'keyFile'] as const) if (tls[key]) tls[key] = path.resolve(cwd, tls[key]);
  if (config.consul.tokenFile) {
    config.consul.tokenFile = path.resolve(cwd, config.consul.tokenFile);
    config.consul.token = await readToken(config.consul.tokenFile);
  }
  await loadJwtKey(config, cwd);
  return { config, file: fromFile === undefined ? undefined : file, ...(discovered ? { discovery: discovered.file } : {}) };
}

async function readToken(file: string): Promise<string> {
  let token: string;
  try {
    token = (await readFile(file, 'utf8')).trim();
  } catch (err) {
    throw new ConfigError(`consul.tokenFile: cannot read ${file} (${errorMessage(err)}); check the path and its permissions`, { cause: err });
  }
  if (!token || /\s/.test(token)) throw new ConfigError(`consul.tokenFile: ${file} must hold exactly one token (no spaces or extra lines)`);
  return token;
}

async function readYaml(file: string, required: boolean): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !required) return undefined;
    throw new ConfigError(`config: cannot read ${file} (${errorMessage(err)}); check the path given with -c`, { cause: err });
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${file}: not valid YAML (${errorMessage(err)})`, { cause: err });
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(`${file}: the top level must be a mapping of sections (consul, haproxy, listen, routing, watch, guard, limits, stats, templates, log)`);
  }
  return data as Record<string, unknown>;
}

function envLayer(env: NodeJS.ProcessEnv): Record<string, Record<string, unknown>> {
  // Consul's own variable names, so an environment set up for the consul CLI works as it is.
  const consul: Record<string, unknown> = {};
  if (env.CONSUL_HTTP_ADDR) consul.address = withScheme(env.CONSUL_HTTP_ADDR, env.CONSUL_HTTP_SSL === 'true');
  // A token from a later layer replaces a token file from an earlier one, and the other way round.
  if (env.CONSUL_HTTP_TOKEN) Object.assign(consul, { token: env.CONSUL_HTTP_TOKEN, tokenFile: '' });
  else if (env.CONSUL_HTTP_TOKEN_FILE) Object.assign(consul, { tokenFile: env.CONSUL_HTTP_TOKEN_FILE, token: '' });
  const tls: Record<string, unknown> = {};
  if (env.CONSUL_CACERT) tls.caFile = env.CONSUL_CACERT;
  if (env.CONSUL_CLIENT_CERT) tls.certFile = env.CONSUL_CLIENT_CERT;
  if (env.CONSUL_CLIENT_KEY) tls.keyFile = env.CONSUL_CLIENT_KEY;
  if (env.CONSUL_TLS_SERVER_NAME) tls.serverName = env.CONSUL_TLS_SERVER_NAME;
  if (env.CONSUL_HTTP_SSL_VERIFY === 'false') tls.insecureSkipVerify = true;
  if (Object.keys(tls).length > 0) consul.tls = tls;
  const log: Record<string, unknown> = {};
  if (env.IPX_LOG_LEVEL) log.level = env.IPX_LOG_LEVEL;
  if (env.IPX_LOG_FORMAT) log.format = env.IPX_LOG_FORMAT;
  return { consul, log };
}

// Consul's own CLI accepts CONSUL_HTTP_ADDR without a scheme (CONSUL_HTTP_SSL=true means https); so do we.
function withScheme(address: string, https: boolean): string {
  return /^[a-z]+:\/\//i.test(address) ? address : `${https ? 'https' : 'http'}://${address}`;
}

/** Later layers win, key by key, at any depth; an empty object adds nothing. */
function mergeLayers(layers: Array<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const layer of layers) mergeInto(out, layer);
  return out;
}

function mergeInto(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(source)) {
    const previous = target[key];
    if (isPlainObject(value) && isPlainObject(previous)) {
      const merged = { ...previous };
      mergeInto(merged, value);
      target[key] = merged;
    } else if (!(isPlainObject(value) && Object.keys(value).length === 0 && previous === undefined)) {
      target[key] = value;
    }
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

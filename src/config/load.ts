import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError, errorMessage } from '../errors.ts';
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
}

export interface LoadedConfig {
  config: Config;
  /** Absolute path of the file that was read, or undefined when defaults were used. */
  file: string | undefined;
}

/** Loads defaults < file < env < flags, validates, and resolves runDir to an absolute path. */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const file = options.file ? path.resolve(cwd, options.file) : undefined;
  const fromFile = file ? await readYaml(file, options.required ?? false) : undefined;

  const merged = mergeLayers([fromFile ?? {}, envLayer(env), options.flags ?? {}]);
  const config = parseConfig(merged, file ?? 'config');
  config.haproxy.runDir = path.resolve(cwd, config.haproxy.runDir);
  if (config.haproxy.masterSocket) config.haproxy.masterSocket = path.resolve(cwd, config.haproxy.masterSocket);
  return { config, file: fromFile === undefined ? undefined : file };
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
    throw new ConfigError(`${file}: the top level must be a mapping of sections (consul, haproxy, listen, routing, watch, log)`);
  }
  return data as Record<string, unknown>;
}

function envLayer(env: NodeJS.ProcessEnv): Record<string, Record<string, unknown>> {
  const consul: Record<string, unknown> = {};
  if (env.CONSUL_HTTP_ADDR) consul.address = withScheme(env.CONSUL_HTTP_ADDR);
  if (env.CONSUL_HTTP_TOKEN) consul.token = env.CONSUL_HTTP_TOKEN;
  const log: Record<string, unknown> = {};
  if (env.IPX_LOG_LEVEL) log.level = env.IPX_LOG_LEVEL;
  return { consul, log };
}

// Consul's own CLI accepts CONSUL_HTTP_ADDR without a scheme; so do we.
function withScheme(address: string): string {
  return /^[a-z]+:\/\//i.test(address) ? address : `http://${address}`;
}

function mergeLayers(layers: Array<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [section, value] of Object.entries(layer)) {
      const previous = out[section];
      if (isPlainObject(value) && isPlainObject(previous)) {
        out[section] = { ...previous, ...value };
      } else if (!(isPlainObject(value) && Object.keys(value).length === 0 && previous === undefined)) {
        out[section] = value;
      }
    }
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig, parseDuration } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

describe('parseConfig', () => {
  it('gives every key a default', () => {
    const config = parseConfig({});
    expect(config.consul.address).toBe('http://127.0.0.1:8500');
    expect(config.listen).toEqual({ http: '127.0.0.1:8080', stats: '127.0.0.1:8404', admin: '127.0.0.1:8405', accessLog: '127.0.0.1:8406' });
    expect(config.routing.domain).toBe('service.internal');
    expect(config.haproxy.runDir).toBe('./.ipx/run');
    expect(config.watch).toEqual({ waitMin: 250, waitMax: 2000 });
    expect([config.haproxy.reloadFloor, config.haproxy.drainTimeout]).toEqual([1000, 30_000]);
  });

  it.each([
    [{ haproxy: { binnary: 'x' } }, /unknown key haproxy\.binnary/],
    [{ colour: 'blue' }, /unknown key colour/],
    [{ listen: { http: 'localhost:8080' } }, /listen\.http: must be <ip>:<port>/],
    [{ listen: { http: '127.0.0.1:70000' } }, /listen\.http/],
    [{ listen: { stats: '127.0.0.010:8404' } }, /listen\.stats: must be <ip>:<port>/],
    [{ consul: { address: 'ftp://x' } }, /consul\.address: must be an http/],
    [{ watch: { waitMin: 'soon' } }, /watch\.waitMin: "soon" is not a duration/],
    [{ watch: { waitMin: '3s', waitMax: '1s' } }, /waitMax must be at least waitMin/],
    [{ routing: { domain: 'bad domain' } }, /routing\.domain: must be a DNS name/],
    [{ haproxy: { maxconn: 50000 } }, /haproxy\.maxconn/],
    [{ consul: { tls: { certFile: 'c.pem' } } }, /certFile and keyFile go together/],
    [{ stats: { user: 'ops' } }, /user and passwordHash go together/],
    [{ stats: { user: 'ops', passwordHash: 's3cret' } }, /stats\.passwordHash: a SHA-256 or SHA-512 crypt hash/],
    [{ stats: { user: 'o ps', passwordHash: '' } }, /stats\.user/],
    [{ consul: { token: 'a', tokenFile: 'b' } }, /consul\.tokenFile: set token or tokenFile, not both/],
  ])('rejects %j naming the key', (input, message) => {
    expect(() => parseConfig(input)).toThrow(ConfigError);
    expect(() => parseConfig(input)).toThrow(message);
  });

  it('accepts IPv6 listen addresses and lower-cases the domain', () => {
    const config = parseConfig({ listen: { http: '[::1]:8080' }, routing: { domain: 'Svc.Example' } });
    expect(config.listen.http).toBe('[::1]:8080');
    expect(config.routing.domain).toBe('svc.example');
  });
});

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['2s', 2000],
    ['1.5m', 90_000],
    ['1h', 3_600_000],
    ['2', undefined],
    ['-1s', undefined],
  ])('%s → %s', (text, ms) => expect(parseDuration(text)).toBe(ms));
});

describe('loadConfig', () => {
  const tempDir = useTempDir('ipx-config-');

  it('layers defaults < file < env < flags and resolves runDir against cwd', async () => {
    const dir = tempDir();
    await writeFile(path.join(dir, 'ipx.yaml'), 'consul:\n  address: http://10.0.0.1:8500\n  token: from-file\nhaproxy:\n  runDir: run\n');
    const { config, file } = await loadConfig({
      file: 'ipx.yaml',
      cwd: dir,
      env: { CONSUL_HTTP_ADDR: '127.0.0.1:9500' },
      flags: { log: { level: 'debug' } },
    });
    expect(file).toBe(path.join(dir, 'ipx.yaml'));
    expect(config.consul.address).toBe('http://127.0.0.1:9500');
    expect(config.consul.token).toBe('from-file');
    expect(config.log.level).toBe('debug');
    expect(config.haproxy.runDir).toBe(path.join(dir, 'run'));
  });

  it('uses defaults when the file is missing, unless it was asked for', async () => {
    const dir = tempDir();
    const loaded = await loadConfig({ file: 'ipx.yaml', cwd: dir, env: {} });
    expect(loaded.file).toBeUndefined();
    await expect(loadConfig({ file: 'ipx.yaml', cwd: dir, env: {}, required: true })).rejects.toThrow(/cannot read .*ipx\.yaml/);
  });

  it('names the file when the YAML is broken or not a mapping', async () => {
    const dir = tempDir();
    await writeFile(path.join(dir, 'a.yaml'), 'consul: [\n');
    await writeFile(path.join(dir, 'b.yaml'), '- 1\n');
    await expect(loadConfig({ file: 'a.yaml', cwd: dir, env: {} })).rejects.toThrow(/a\.yaml: not valid YAML/);
    await expect(loadConfig({ file: 'b.yaml', cwd: dir, env: {} })).rejects.toThrow(/b\.yaml: the top level must be a mapping/);
  });

  it('lets an env token replace a token file from the file, and the other way round', async () => {
    const dir = tempDir();
    await writeFile(path.join(dir, 'a.yaml'), 'consul:\n  tokenFile: t\n  tls:\n    caFile: ca.pem\n');
    await writeFile(path.join(dir, 'b.yaml'), 'consul:\n  token: from-file\n');
    await writeFile(path.join(dir, 't'), 'from-token-file\n');
    const a = await loadConfig({ file: 'a.yaml', cwd: dir, env: { CONSUL_HTTP_TOKEN: 'from-env', CONSUL_TLS_SERVER_NAME: 'consul.internal' } });
    expect(a.config.consul.token).toBe('from-env');
    expect(a.config.consul.tls).toMatchObject({ caFile: path.join(dir, 'ca.pem'), serverName: 'consul.internal' });
    const b = await loadConfig({ file: 'b.yaml', cwd: dir, env: { CONSUL_HTTP_TOKEN_FILE: 't' } });
    expect(b.config.consul.token).toBe('from-token-file');
  });
});

describe("ipx dev's own defaults (base)", () => {
  const tempDir = useTempDir('ipx-config-');

  it('sit just above the built-in defaults: the file wins key by key', async () => {
    const dir = tempDir();
    const base = { identity: { apiKeys: { header: 'X-Api-Key' } }, routing: { domain: 'demo.internal' } };
    expect((await loadConfig({ cwd: dir, env: {}, base })).config.identity.apiKeys).toEqual({ header: 'X-Api-Key' });
    await writeFile(path.join(dir, 'ipx.yaml'), 'identity:\n  apiKeys: { header: X-Key }\n');
    const { config } = await loadConfig({ file: 'ipx.yaml', cwd: dir, env: {}, base });
    expect(config.identity.apiKeys).toEqual({ header: 'X-Key' });
    expect(config.routing.domain).toBe('demo.internal');
  });
});

describe('the ipx dev discovery file', () => {
  const tempDir = useTempDir('ipx-discovery-');
  async function folderWith(discovery: object, yaml?: string): Promise<string> {
    const dir = await mkdtemp(path.join(tempDir(), 'cwd-'));
    await mkdir(path.join(dir, '.ipx', 'run'), { recursive: true });
    await writeFile(path.join(dir, '.ipx', 'run', 'ipx-dev.json'), JSON.stringify(discovery));
    if (yaml !== undefined) await writeFile(path.join(dir, 'ipx.yaml'), yaml);
    return dir;
  }
  const live = { pid: process.pid, consul: { address: 'http://127.0.0.1:18500' }, listen: { http: '127.0.0.1:18080', stats: '127.0.0.1:18404', admin: '127.0.0.1:18405' } };

  it('sits just above the defaults: the file, env and flags win key by key', async () => {
    const dir = await folderWith(live, 'listen:\n  admin: 127.0.0.1:9999\n');
    const plain = await loadConfig({ file: 'ipx.yaml', cwd: dir, env: {}, discover: true });
    expect(plain.discovery).toBe(path.join(dir, '.ipx', 'run', 'ipx-dev.json'));
    expect(plain.config.consul.address).toBe('http://127.0.0.1:18500');
    expect(plain.config.listen).toEqual({ http: '127.0.0.1:18080', stats: '127.0.0.1:18404', admin: '127.0.0.1:9999', accessLog: '127.0.0.1:8406' });
    const env = await loadConfig({ file: 'ipx.yaml', cwd: dir, env: { CONSUL_HTTP_ADDR: '10.0.0.1:8500' }, discover: true });
    expect(env.config.consul.address).toBe('http://10.0.0.1:8500');
    const flags = await loadConfig({ file: 'ipx.yaml', cwd: dir, env: {}, discover: true, flags: { consul: { address: 'http://10.0.0.2:8500' } } });
    expect(flags.config.consul.address).toBe('http://10.0.0.2:8500');
  });

  it('is ignored without discover, and when the ipx dev that wrote it has exited', async () => {
    const dir = await folderWith(live);
    expect((await loadConfig({ cwd: dir, env: {} })).config.consul.address).toBe('http://127.0.0.1:8500');
    const dead = await folderWith({ ...live, pid: 2 ** 22 + 1 });
    const loaded = await loadConfig({ cwd: dead, env: {}, discover: true });
    expect(loaded.discovery).toBeUndefined();
    expect(loaded.config.consul.address).toBe('http://127.0.0.1:8500');
  });

  it('is looked for in the runDir the upper layers name', async () => {
    const dir = await folderWith(live);
    await mkdir(path.join(dir, 'elsewhere'));
    await writeFile(path.join(dir, 'elsewhere', 'ipx-dev.json'), JSON.stringify({ ...live, consul: { address: 'http://127.0.0.1:28500' } }));
    await writeFile(path.join(dir, 'ipx.yaml'), 'haproxy:\n  runDir: elsewhere\n');
    const loaded = await loadConfig({ file: 'ipx.yaml', cwd: dir, env: {}, discover: true });
    expect(loaded.config.consul.address).toBe('http://127.0.0.1:28500');
  });
});

import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig, parseDuration } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors.ts';

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
  it('layers defaults < file < env < flags and resolves runDir against cwd', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ipx-config-'));
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
    const dir = await mkdtemp(path.join(tmpdir(), 'ipx-config-'));
    const loaded = await loadConfig({ file: 'ipx.yaml', cwd: dir, env: {} });
    expect(loaded.file).toBeUndefined();
    await expect(loadConfig({ file: 'ipx.yaml', cwd: dir, env: {}, required: true })).rejects.toThrow(/cannot read .*ipx\.yaml/);
  });

  it('names the file when the YAML is broken or not a mapping', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ipx-config-'));
    await writeFile(path.join(dir, 'a.yaml'), 'consul: [\n');
    await writeFile(path.join(dir, 'b.yaml'), '- 1\n');
    await expect(loadConfig({ file: 'a.yaml', cwd: dir, env: {} })).rejects.toThrow(/a\.yaml: not valid YAML/);
    await expect(loadConfig({ file: 'b.yaml', cwd: dir, env: {} })).rejects.toThrow(/b\.yaml: the top level must be a mapping/);
  });

  it('lets an env token replace a token file from the file, and the other way round', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ipx-config-'));
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

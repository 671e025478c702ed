/**
 * TLS (CA verification, client certificates) and ACL tokens against a real
 * Consul agent whose HTTPS listener requires both.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config/index.ts';
import { createConsulClient, readSnapshot, registerService, startDevAgent, type DevAgent } from '../../src/consul/index.ts';
import { httpsHcl, makeCertificates } from '../helpers/consul-tls.ts';
import { findFreePorts } from '../helpers/ports.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MASTER_TOKEN = 'b1gs3cr3t-master-token';

let dir: string;
let agent: DevAgent;
let httpsPort: number;

async function consulConfig(yaml: string, env: NodeJS.ProcessEnv = {}): Promise<Config['consul']> {
  await writeFile(path.join(dir, 'ipx.yaml'), yaml);
  return (await loadConfig({ file: 'ipx.yaml', cwd: dir, env })).config.consul;
}

function tlsYaml(extra: string[] = []): string {
  return ['consul:', `  address: https://127.0.0.1:${httpsPort}`, ...extra].join('\n') + '\n';
}

async function read(config: Config['consul']) {
  const client = createConsulClient(config);
  try {
    return await readSnapshot(client, config, { timeout: 5000 });
  } finally {
    client.close();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ipx-consul-tls-'));
  await makeCertificates(dir, { client: true });
  await writeFile(path.join(dir, 'token'), `${MASTER_TOKEN}\n`);
  await writeFile(path.join(dir, 'wrong-token'), 'not-the-token\n');
  [httpsPort] = (await findFreePorts(1)) as [number];
  const hcl = [
    ...httpsHcl(dir, httpsPort),
    'verify_incoming_https = true',
    `acl { enabled = true, default_policy = "deny", tokens { master = "${MASTER_TOKEN}", agent = "${MASTER_TOKEN}" } }`,
  ].join('\n');
  agent = await startDevAgent({ cwd: ROOT, extraArgs: ['-hcl', hcl] });
  const admin = createConsulClient((await consulConfig(`consul:\n  address: ${agent.address}\n  token: ${MASTER_TOKEN}\n`)));
  await registerService(admin, { name: 'billing', id: 'billing-1', address: '127.0.0.1', port: 9100 });
  admin.close();
});

afterAll(async () => {
  await agent?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('Consul over TLS with ACLs', () => {
  it('reads with the CA, a client certificate and a token from a file', async () => {
    const config = await consulConfig(
      tlsYaml(['  tokenFile: token', '  tls:', '    caFile: consul-agent-ca.pem', '    certFile: dc1-client-consul-0.pem', '    keyFile: dc1-client-consul-0-key.pem']),
    );
    expect(config.token).toBe(MASTER_TOKEN);
    const snapshot = await read(config);
    expect(snapshot.services.map((s) => s.name)).toEqual(['billing']);
  });

  it('takes the same settings from Consul\'s own environment variables', async () => {
    const config = await consulConfig('', {
      CONSUL_HTTP_ADDR: `127.0.0.1:${httpsPort}`,
      CONSUL_HTTP_SSL: 'true',
      CONSUL_HTTP_TOKEN_FILE: 'token',
      CONSUL_CACERT: 'consul-agent-ca.pem',
      CONSUL_CLIENT_CERT: 'dc1-client-consul-0.pem',
      CONSUL_CLIENT_KEY: 'dc1-client-consul-0-key.pem',
    });
    expect((await read(config)).services.map((s) => s.name)).toEqual(['billing']);
  });

  it('refuses a server certificate it cannot verify', async () => {
    const config = await consulConfig(tlsYaml(['  tokenFile: token', '  tls:', '    certFile: dc1-client-consul-0.pem', '    keyFile: dc1-client-consul-0-key.pem']));
    await expect(read(config)).rejects.toThrow(/consul: GET .* failed .*(certificate|self.signed)/i);
  });

  it('verifies the name given in serverName', async () => {
    const base = ['  tokenFile: token', '  tls:', '    caFile: consul-agent-ca.pem', '    certFile: dc1-client-consul-0.pem', '    keyFile: dc1-client-consul-0-key.pem'];
    await expect(read(await consulConfig(tlsYaml([...base, '    serverName: server.dc1.consul'])))).resolves.toBeDefined();
    await expect(read(await consulConfig(tlsYaml([...base, '    serverName: evil.example'])))).rejects.toThrow(/altnames|hostname|evil\.example/i);
  });

  it('is refused without a client certificate', async () => {
    const config = await consulConfig(tlsYaml(['  tokenFile: token', '  tls:', '    caFile: consul-agent-ca.pem']));
    await expect(read(config)).rejects.toThrow(/consul: GET/);
  });

  it('never puts the token in an error message', async () => {
    const config = await consulConfig(
      tlsYaml(['  tokenFile: wrong-token', '  tls:', '    caFile: consul-agent-ca.pem', '    certFile: dc1-client-consul-0.pem', '    keyFile: dc1-client-consul-0-key.pem']),
    );
    const error = await read(config).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(error?.message).toMatch(/ACL token/);
    expect(error?.message).not.toContain('not-the-token');
  });

  it('names the setting when a TLS file or the token file is missing', async () => {
    await expect(consulConfig(tlsYaml(['  tokenFile: nope']))).rejects.toThrow(/consul\.tokenFile: cannot read .*nope/);
    const config = await consulConfig(tlsYaml(['  tls:', '    caFile: missing-ca.pem']));
    expect(() => createConsulClient(config)).toThrow(/consul\.tls\.caFile: cannot read .*missing-ca\.pem/);
  });
});

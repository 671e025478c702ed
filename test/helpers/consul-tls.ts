/** A CA and certificates made by `consul tls` in `dir`, and the agent settings that serve HTTPS with them. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { findConsulBinary } from '../../src/consul/index.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** consul-agent-ca.pem, dc1-server-consul-0{,-key}.pem and, with `client`, dc1-client-consul-0{,-key}.pem. */
export async function makeCertificates(dir: string, { client = false } = {}): Promise<void> {
  const consul = await findConsulBinary(ROOT);
  const run = (args: string[]) => promisify(execFile)(consul, args, { cwd: dir });
  await run(['tls', 'ca', 'create']);
  await run(['tls', 'cert', 'create', '-server', '-dc', 'dc1']);
  if (client) await run(['tls', 'cert', 'create', '-client', '-dc', 'dc1']);
}

/** HCL lines for an HTTPS listener on `port` with the certificates of makeCertificates. */
export function httpsHcl(dir: string, port: number): string[] {
  return [
    `ports { https = ${port} }`,
    `ca_file = "${path.join(dir, 'consul-agent-ca.pem')}"`,
    `cert_file = "${path.join(dir, 'dc1-server-consul-0.pem')}"`,
    `key_file = "${path.join(dir, 'dc1-server-consul-0-key.pem')}"`,
  ];
}

import { createConsulClient, EMPTY_SNAPSHOT, readSnapshot, type Snapshot } from '../consul/index.ts';
import type { Config } from '../config/index.ts';

/** One read of Consul for a command, or no services with --offline; the client is closed afterwards. */
export async function readConsulOnce(config: Config, offline = false): Promise<Snapshot> {
  if (offline) return EMPTY_SNAPSHOT;
  const client = createConsulClient(config.consul);
  try {
    return await readSnapshot(client, config.consul, { limits: config.limits });
  } finally {
    client.close();
  }
}

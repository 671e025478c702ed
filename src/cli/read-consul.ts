import { createConsulClient, EMPTY_SNAPSHOT, readSnapshot, type ConsulClient, type Snapshot } from '../consul/index.ts';
import type { Config } from '../config/index.ts';

/** Runs `work` with a Consul client that is closed afterwards, whatever happens. */
export async function withConsul<T>(consul: Config['consul'], work: (client: ConsulClient) => Promise<T>): Promise<T> {
  const client = createConsulClient(consul);
  try {
    return await work(client);
  } finally {
    client.close();
  }
}

/** One read of Consul for a command, or no services with --offline. */
export async function readConsulOnce(config: Config, offline = false): Promise<Snapshot> {
  if (offline) return EMPTY_SNAPSHOT;
  return withConsul(config.consul, (client) => readSnapshot(client, config.consul, { limits: config.limits, intentions: config.access.consulIntentions }));
}

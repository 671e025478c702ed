/**
 * The approach ipx had before consul.maxConnections, kept here to measure it in
 * the same run: one long-held blocking query per service (the same view code,
 * blocking-view.ts), plus the catalog and the KV prefix, all at once, on
 * sockets without a cap. It reads Consul only; what it costs the agent and how
 * many services it manages to read is what the table compares.
 */
import { setMaxListeners } from 'node:events';
import { parseConfig } from '../../src/config/index.ts';
import { catalogServicesQuery, createConsulClient, healthServiceQuery, kvPrefixQuery, runBlockingView, type Query } from '../../src/consul/index.ts';

export interface PerServiceWatch {
  /** Services read at least once. */
  read(): number;
  /** Failed reads so far, by the first words of their reason. */
  errors(): Record<string, number>;
  stop(): Promise<void>;
}

export function startPerServiceWatch(address: string, services: readonly string[]): PerServiceWatch {
  // 1,000 is the schema's ceiling, and more than this approach could ever hold on a default agent.
  const config = parseConfig({ consul: { address, maxConnections: 1000, wait: '55s' } }).consul;
  const client = createConsulClient(config);
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  const seen = new Set<string>();
  const errors: Record<string, number> = {};
  const views: Array<Promise<void>> = [];
  const run = <T>(query: Query<T>, name?: string) =>
    views.push(runBlockingView({
      client,
      query,
      wait: config.wait,
      signal: controller.signal,
      onData: () => void (name && seen.add(name)),
      onError: (error) => {
        const reason = /\(([^)]*)\)/.exec(error.message)?.[1]?.slice(0, 40) ?? 'other';
        errors[reason] = (errors[reason] ?? 0) + 1;
      },
    }));
  run(catalogServicesQuery());
  run(kvPrefixQuery(config.kvPrefix));
  for (const name of services) run(healthServiceQuery(name), name);
  return {
    read: () => seen.size,
    errors: () => ({ ...errors }),
    stop: async () => {
      controller.abort();
      await Promise.all(views);
      client.close();
    },
  };
}

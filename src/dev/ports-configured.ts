import type { Config } from '../config/index.ts';

/**
 * Pure: the ports a configuration has HAProxy and ipx bind. `ipx dev` starts its
 * Consul agent before they are bound, on ports that are free at that moment, so it
 * keeps the agent off these.
 */
export function portsConfigured(config: Pick<Config, 'listen' | 'rateLimit' | 'routing'>): Set<number> {
  const ports = new Set<number>();
  for (const address of [...Object.values(config.listen), config.rateLimit.syncBind]) {
    const port = Number(/:(\d+)$/.exec(address)?.[1]);
    if (port > 0) ports.add(port);
  }
  for (let port = config.routing.tcpPorts.from; port <= config.routing.tcpPorts.to; port++) ports.add(port);
  return ports;
}

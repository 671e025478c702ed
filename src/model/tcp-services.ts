/**
 * TCP services (`protocol: tcp`, `tcpPort`): a listener of their own on the IP
 * of listen.http, at a port within routing.tcpPorts. A port outside the range,
 * one of ipx's own, or one a lower service name already has is reported and
 * the service gets no listener. TCP services take no part in Host routing,
 * path routes, versions or failover (all HTTP). Pure.
 */
import { compareStrings } from '../compare.ts';
import { quoteForLog } from './rejections.ts';
import type { Rejection, ServiceModel } from './types.ts';
import type { Config } from '../config/schema.ts';

export interface TcpModel {
  /** `<ip>:<port>` to bind, or null when the service has no valid port. */
  readonly bind: string | null;
}

export function isTcp(service: Pick<ServiceModel, 'policy'>): boolean {
  return service.policy.protocol === 'tcp';
}

export function assignTcpPorts(services: readonly ServiceModel[], config: Pick<Config, 'listen' | 'routing'>): { tcp: Map<string, TcpModel>; rejections: Rejection[] } {
  const { from, to } = config.routing.tcpPorts;
  const http = config.listen.http;
  const ip = http.slice(0, http.lastIndexOf(':'));
  const own = new Map(Object.entries(config.listen).map(([key, address]) => [address, `listen.${key}`]));
  const taken = new Map<number, string>();
  const tcp = new Map<string, TcpModel>();
  const rejections: Rejection[] = [];
  for (const service of [...services].filter(isTcp).sort((a, b) => compareStrings(a.name, b.name))) {
    const reject = (reason: string) => {
      rejections.push({ subject: `policy of service ${quoteForLog(service.name)}`, reason });
      tcp.set(service.name, { bind: null });
    };
    const port = service.policy.tcpPort;
    const bind = `${ip}:${port}`;
    if (port === undefined) reject('protocol tcp needs tcpPort (or meta ipx-tcp-port); the service has no listener');
    else if (port < from || port > to) reject(`tcpPort ${port} is outside routing.tcpPorts (${from}-${to}); the service has no listener`);
    else if (own.has(bind)) reject(`tcpPort ${port} is ${own.get(bind)}; the service has no listener`);
    else if (taken.has(port)) reject(`tcpPort ${port} is taken by service ${quoteForLog(taken.get(port) as string)} (the lower name wins); the service has no listener`);
    else {
      taken.set(port, service.name);
      tcp.set(service.name, { bind });
    }
  }
  return { tcp, rejections };
}

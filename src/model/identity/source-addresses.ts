import { compareStrings } from '../../compare.ts';
import { ipKey, parseIpLiteral } from '../ip-literal.ts';
import { CALLER_NAME } from './caller-name.ts';
import type { ServiceEntry } from '../../consul/snapshot.ts';

/**
 * identity.sourceAddress: the IP → caller map. An IP names a caller only
 * when every instance registered at it belongs to one service (a host
 * running two services, or a NAT in front of many, proves nothing); the
 * service name must be a caller name. Pure.
 */
export function sourceAddressLines(services: readonly ServiceEntry[]): readonly (readonly [string, string])[] {
  const byIp = new Map<string, Set<string>>();
  for (const service of services) {
    for (const instance of service.instances) {
      const literal = parseIpLiteral(instance.address);
      const key = ipKey(instance.address);
      if (literal === undefined || literal.unspecified || key === undefined) continue;
      let names = byIp.get(key);
      if (!names) byIp.set(key, (names = new Set()));
      names.add(service.name);
    }
  }
  const lines: [string, string][] = [];
  for (const [ip, names] of byIp) {
    const [only] = names;
    if (names.size === 1 && only !== undefined && CALLER_NAME.test(only)) lines.push([ip, only]);
  }
  return lines.sort(([a], [b]) => compareStrings(a, b));
}

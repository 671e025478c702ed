import { chooseValue } from '../policy/meta.ts';
import { serviceRejection } from '../rejections.ts';
import type { ServiceEntry } from '../../consul/snapshot.ts';
import type { Rejection } from '../types.ts';

export const GATEWAYS_META = 'ipx-gateways';

export interface GatewayConfig {
  readonly name: string;
  readonly exposeAll: boolean;
}

/**
 * The services this gateway routes. Without `gateway.name`, every one. With
 * it, a service whose instances list the name in `ipx-gateways`
 * (comma-separated; when instances disagree, the value most of them hold, as
 * for every service-level meta key), or one without `ipx-gateways` when
 * `exposeAll` is on. Pure.
 */
export function exposedServices(services: readonly ServiceEntry[], gateway: GatewayConfig): { services: ServiceEntry[]; rejections: Rejection[] } {
  if (gateway.name === '') return { services: [...services], rejections: [] };
  const rejections: Rejection[] = [];
  const exposed = services.filter((service) => {
    const chosen = chooseValue(service.instances, GATEWAYS_META);
    if (chosen === undefined) return gateway.exposeAll;
    if (chosen.disagreement !== undefined) rejections.push(serviceRejection(service.name, `instance meta: ${chosen.disagreement}`));
    return chosen.value.split(',').some((part) => part.trim() === gateway.name);
  });
  return { services: exposed, rejections };
}

import { serviceRejection } from './rejections.ts';
import type { Rejection } from './types.ts';
import type { ServiceEntry } from '../consul/snapshot.ts';

// A DNS label, because the name becomes the first label of the Host that routes to it.
const DNS_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export const INVALID_NAME_REASON =
  'name must be a DNS label: letters, digits and hyphens, 1 to 63 characters, not starting or ending with a hyphen';

export interface AcceptedServices {
  /** In the order given; names unique when lower-cased. */
  readonly accepted: readonly ServiceEntry[];
  readonly rejections: readonly Rejection[];
}

/**
 * Keeps the services whose names can route: valid DNS labels, and of names
 * equal after lower-casing (Host matching is case-insensitive) the first in
 * sorted order. `ordered` must already be sorted deterministically.
 */
export function acceptServiceNames(ordered: readonly ServiceEntry[]): AcceptedServices {
  const accepted: ServiceEntry[] = [];
  const rejections: Rejection[] = [];
  const owners = new Map<string, string>();
  for (const service of ordered) {
    if (!DNS_LABEL.test(service.name)) {
      rejections.push(serviceRejection(service.name, INVALID_NAME_REASON));
      continue;
    }
    const key = service.name.toLowerCase();
    const owner = owners.get(key);
    if (owner !== undefined) {
      const reason =
        owner === service.name
          ? 'the snapshot lists this service twice; only the first entry is used'
          : `name equals service "${owner}" when compared case-insensitively; only "${owner}" is routed, rename one of them`;
      rejections.push(serviceRejection(service.name, reason));
      continue;
    }
    owners.set(key, service.name);
    accepted.push(service);
  }
  return { accepted, rejections };
}

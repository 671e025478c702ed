/**
 * Registering and deregistering service instances through the local agent's
 * API, as a CI pipeline would: used by `ipx dev` and `ipx demo-service`
 * (demo services), the tests and the benchmarks.
 */
import { ConsulError } from '../errors.ts';
import type { CheckStatus, ConsulClient } from './client.ts';

export type ServiceCheck =
  | {
      /** URL the agent polls; 2xx is passing, 429 warning, anything else critical. */
      readonly http: string;
      /** e.g. "10s". */
      readonly interval: string;
      readonly timeout?: string;
      /** Status until the first poll; Consul's default is critical. */
      readonly status?: CheckStatus;
      /** e.g. "1m": the agent removes the instance after being critical this long. */
      readonly deregisterAfter?: string;
    }
  | {
      /** e.g. "30s": the instance must report through updateCheck() within this time. */
      readonly ttl: string;
      /** Status until the first report; Consul's default is critical. */
      readonly status?: CheckStatus;
      readonly deregisterAfter?: string;
    };

export interface ServiceRegistration {
  readonly name: string;
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly tags?: readonly string[];
  readonly meta?: Readonly<Record<string, string>>;
  readonly check?: ServiceCheck;
}

/** Consul names the single check registered with a service "service:<id>". */
export function serviceCheckId(serviceId: string): string {
  return `service:${serviceId}`;
}

export async function registerService(client: ConsulClient, registration: ServiceRegistration): Promise<void> {
  const { name, id, address, port } = registration;
  if (!name || !id) {
    throw new ConsulError('consul: a service registration needs a name and an id; pass both (e.g. --name web --id web-1)');
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConsulError(`consul: port ${port} of service instance "${id}" is not a TCP port; use 1-65535`);
  }
  await client.registerService({
    name,
    id,
    address,
    port,
    tags: registration.tags ?? [],
    meta: registration.meta ?? {},
    ...(registration.check ? { check: checkDefinition(registration.check) } : {}),
  });
}

export async function deregisterService(client: ConsulClient, id: string): Promise<void> {
  await client.deregisterService(id);
}

/** Sets a TTL check's status, e.g. updateCheck(client, serviceCheckId('web-1'), 'critical'). */
export async function updateCheck(client: ConsulClient, checkId: string, status: CheckStatus, note?: string): Promise<void> {
  await client.updateCheck(checkId, status, note);
}

function checkDefinition(check: ServiceCheck): Record<string, string> {
  const out: Record<string, string> = 'ttl' in check
    ? { ttl: check.ttl }
    : { http: check.http, interval: check.interval };
  if (check.status) out.status = check.status;
  if ('http' in check && check.timeout) out.timeout = check.timeout;
  if (check.deregisterAfter) out.deregistercriticalserviceafter = check.deregisterAfter;
  return out;
}

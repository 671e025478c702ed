import { compareStrings, compareTuples } from '../compare.ts';
import { backendName, serverNames } from './identifiers.ts';
import { parseIpLiteral } from './ip-literal.ts';
import { fieldLengthProblem, instancesReason, type Limits } from './limits.ts';
import { VERSION_LABEL } from './policy/schema.ts';
import { instanceRejection, quoteForLog } from './rejections.ts';
import type { Rejection, ServerModel, ServerState, ServiceModel } from './types.ts';
import type { InstanceEntry, ServiceEntry } from '../consul/snapshot.ts';

export const HOSTNAME_REASON = 'address must be an IP literal; HAProxy would resolve a hostname only at start';
export const UNSPECIFIED_REASON =
  'address 0.0.0.0 or :: is unspecified; HAProxy would forward to the address the client connected to (itself); register the instance with its own IP';
export const PORT_REASON = 'port must be an integer from 1 to 65535';
export const WEIGHT_REASON = 'weight (Consul Weights.Passing, or Weights.Warning while in warning) must be a whole number of at least 1';

/**
 * HAProxy's largest server weight. Consul accepts weights up to 65535 (they
 * are DNS SRV weights), so a larger one is a valid registration meaning
 * "heaviest": it is clamped, not rejected; only its resolution above 256 is lost.
 */
export const MAX_WEIGHT = 256;

/** Instance meta naming the version an instance runs (POLICIES.md `versions`). */
export const VERSION_META = 'ipx-version';

export interface BuildServiceInput {
  /** Its name has passed the DNS-label check. */
  readonly service: ServiceEntry;
  readonly domain: string;
  readonly passingOnly: boolean;
  readonly limits: Pick<Limits, 'fieldLength' | 'instancesPerService'>;
}

export interface BuiltService {
  readonly service: Omit<ServiceModel, 'policy' | 'policyOrigins' | 'settings' | 'versions' | 'failover' | 'tcp'>;
  readonly rejections: readonly Rejection[];
}

export function buildService({ service, domain, passingOnly, limits }: BuildServiceInput): BuiltService {
  const rejections: Rejection[] = [];
  const reject = (instance: InstanceEntry, reason: string): void => {
    rejections.push(instanceRejection(service.name, instance.id, instance.node, reason));
  };
  const fitsLength = (instance: InstanceEntry): boolean => {
    const problem = fieldLengthProblem(instance, limits.fieldLength);
    if (problem !== undefined) reject(instance, problem);
    return problem === undefined;
  };

  // Lengths first: nothing below should sort, sanitize or hash a megabyte string.
  const instances = uniqueInstances([...service.instances].filter(fitsLength).sort(compareInstances), reject);
  const names = serverNames(instances);
  const servers: ServerModel[] = [];
  instances.forEach((instance, index) => {
    const problem = instanceProblem(instance);
    if (problem !== undefined) return reject(instance, problem);
    // Counted over valid instances only, in (node, ID) order: the limit bounds servers, not registrations.
    if (servers.length >= limits.instancesPerService) return reject(instance, instancesReason(limits.instancesPerService));
    servers.push({
      name: names[index] as string,
      instanceId: instance.id,
      address: instance.address,
      port: instance.port,
      weight: Math.min(instance.weight, MAX_WEIGHT),
      state: serverState(instance.status, passingOnly),
      version: instanceVersion(instance, reject),
    });
  });
  servers.sort((a, b) => compareStrings(a.name, b.name));

  const lower = service.name.toLowerCase();
  return {
    service: { name: service.name, host: `${lower}.${domain}`, backend: backendName(service.name), servers },
    rejections,
  };
}

/** Consul keys instances by (node, id); a repeated pair can only come from a broken or hostile source. */
function uniqueInstances(sorted: readonly InstanceEntry[], reject: (instance: InstanceEntry, reason: string) => void): InstanceEntry[] {
  const seen = new Set<string>();
  return sorted.filter((instance) => {
    const key = JSON.stringify([instance.node, instance.id]);
    if (!seen.has(key)) return seen.add(key);
    reject(instance, 'the snapshot lists this instance twice on the same node; only the first entry is used');
    return false;
  });
}

function instanceProblem(instance: InstanceEntry): string | undefined {
  const ip = parseIpLiteral(instance.address);
  if (ip === undefined) return HOSTNAME_REASON;
  if (ip.unspecified) return UNSPECIFIED_REASON;
  if (!Number.isInteger(instance.port) || instance.port < 1 || instance.port > 65535) return PORT_REASON;
  // Consul refuses a weight below 1 at registration: only a broken or hostile source sends one.
  if (!Number.isSafeInteger(instance.weight) || instance.weight < 1) return WEIGHT_REASON;
  // The snapshot is typed, but its producer reads JSON from Consul: an unknown status must not route.
  const status: string = instance.status;
  if (status !== 'passing' && status !== 'warning' && status !== 'critical') {
    return `health status ${JSON.stringify(status.slice(0, 40))} is unknown; expected passing, warning or critical`;
  }
  return undefined;
}

/** `ipx-version` meta, or null; a label that could not name a backend is reported and the instance serves unversioned. */
function instanceVersion(instance: InstanceEntry, reject: (instance: InstanceEntry, reason: string) => void): string | null {
  const label = Object.hasOwn(instance.meta, VERSION_META) ? instance.meta[VERSION_META] : undefined;
  if (label === undefined) return null;
  if (VERSION_LABEL.test(label)) return label;
  reject(instance, `meta ${VERSION_META} ${quoteForLog(label)} is not a version label (letters, digits, ".", "_" and "-", up to 32 characters); the instance serves without a version`);
  return null;
}

/** Not routable is kept as `maint`: a later health flip is then one runtime state change. */
function serverState(status: string, passingOnly: boolean): ServerState {
  return status === 'passing' || (status === 'warning' && !passingOnly) ? 'ready' : 'maint';
}

// Every field takes part, so that even duplicate entries sort the same whatever the input order.
function compareInstances(a: InstanceEntry, b: InstanceEntry): number {
  const key = (i: InstanceEntry) => [i.node, i.id, i.address, String(i.port), i.status, String(i.weight), JSON.stringify(i.meta), JSON.stringify(i.tags)];
  return compareTuples(key(a), key(b));
}

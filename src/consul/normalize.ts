/**
 * Pure: Consul's JSON answers into the sorted, frozen shapes of snapshot.ts.
 * Consul data is untrusted (DESIGN.md invariant 1): fields of the wrong type
 * are dropped here, values are validated later by the model. A body of the
 * wrong shape throws, because treating it as "no data" would empty services.
 */
import { compareStrings } from '../compare.ts';
import { ConsulError } from '../errors.ts';
import type { HealthStatus, InstanceEntry, KvEntry } from './snapshot.ts';

export interface CheckSummary {
  readonly checkId: string;
  readonly status: string;
}

const RANK: Record<HealthStatus, number> = { passing: 0, warning: 1, critical: 2 };

/** Consul's weight for an instance registered without `Weights`. */
const DEFAULT_WEIGHT = 1;

/**
 * Worst of the node's and the service's checks. Maintenance mode is a check
 * Consul adds; it counts as critical whatever it says, and so does a status
 * ipx does not know. No checks at all is passing, as in Consul.
 */
export function worstStatus(checks: readonly CheckSummary[]): HealthStatus {
  let worst: HealthStatus = 'passing';
  for (const check of checks) {
    const maintenance = check.checkId === '_node_maintenance' || check.checkId.startsWith('_service_maintenance:');
    const status: HealthStatus = maintenance || !Object.hasOwn(RANK, check.status) ? 'critical' : (check.status as HealthStatus);
    if (RANK[status] > RANK[worst]) worst = status;
  }
  return worst;
}

/** GET /v1/catalog/services: { name: tags } into sorted names. */
export function normalizeServiceNames(body: unknown): readonly string[] {
  if (!isRecord(body)) throw shapeError('/v1/catalog/services', 'an object of service names');
  return Object.freeze(Object.keys(body).sort(compareStrings));
}

/** GET /v1/health/service/<name>: every instance with its aggregated status, sorted by node then id. */
export function normalizeInstances(body: unknown, service: string): readonly InstanceEntry[] {
  if (!Array.isArray(body)) throw shapeError(`/v1/health/service/${service}`, 'a list of instances');
  const instances: InstanceEntry[] = [];
  for (const item of body) {
    const instance = toInstance(item);
    if (instance) instances.push(instance);
  }
  instances.sort((a, b) => compareStrings(a.node, b.node) || compareStrings(a.id, b.id));
  return Object.freeze(instances);
}

/**
 * GET /v1/kv/<prefix>?recurse: node-consul has already base64-decoded each
 * value to a UTF-8 string (a Buffer if asked). A 404 (empty prefix) arrives as
 * undefined. Folder placeholders ("ipx/services/") carry no value and are dropped.
 */
export function normalizeKv(body: unknown, prefix: string): readonly KvEntry[] {
  if (body === undefined || body === null) return Object.freeze([]);
  if (!Array.isArray(body)) throw shapeError(`/v1/kv/${prefix}`, 'a list of keys');
  const entries = new Map<string, KvEntry>();
  for (const item of body) {
    if (!isRecord(item) || typeof item.Key !== 'string' || item.Key.endsWith('/')) continue;
    entries.set(item.Key, Object.freeze({ key: item.Key, value: decodeValue(item.Value) }));
  }
  return Object.freeze([...entries.values()].sort((a, b) => compareStrings(a.key, b.key)));
}

function toInstance(item: unknown): InstanceEntry | undefined {
  if (!isRecord(item) || !isRecord(item.Service) || !isRecord(item.Node)) return undefined;
  const { Service: svc, Node: node } = item;
  if (typeof svc.ID !== 'string' || typeof node.Node !== 'string') return undefined;
  const checks = Array.isArray(item.Checks) ? item.Checks.filter(isRecord) : [];
  return Object.freeze({
    id: svc.ID,
    node: node.Node,
    // Consul's rule: an empty service address means "the node's address".
    address: str(svc.Address) || str(node.Address),
    port: typeof svc.Port === 'number' && Number.isInteger(svc.Port) ? svc.Port : 0,
    tags: Object.freeze([...new Set(Array.isArray(svc.Tags) ? svc.Tags.filter(isString) : [])].sort(compareStrings)),
    meta: sortedMeta(svc.Meta),
    // Check Output is dropped on purpose: output-only changes must not wake the pipeline.
    ...statusAndWeight(checks, svc.Weights),
  });
}

function statusAndWeight(checks: ReadonlyArray<Record<string, unknown>>, weights: unknown): { status: InstanceEntry['status']; weight: number } {
  const status = worstStatus(checks.map((check) => ({ checkId: str(check.CheckID), status: str(check.Status) })));
  return { status, weight: weightFor(status, weights) };
}

/**
 * Consul's rule (as its DNS interface applies it): `Weights.Warning` while the
 * instance is in warning, else `Weights.Passing`; 1, Consul's own default, when
 * the registration sets none. A number is kept as it is (the model judges its
 * range); any other type is dropped to the default, as for other fields of the
 * wrong type.
 */
function weightFor(status: InstanceEntry['status'], weights: unknown): number {
  const weight = isRecord(weights) ? (status === 'warning' ? weights.Warning : weights.Passing) : undefined;
  return typeof weight === 'number' && Number.isFinite(weight) ? weight : DEFAULT_WEIGHT;
}

// fromEntries defines own properties, so a hostile "__proto__" key stays a plain key.
function sortedMeta(meta: unknown): Readonly<Record<string, string>> {
  const entries = isRecord(meta)
    ? Object.entries(meta).filter((entry): entry is [string, string] => typeof entry[1] === 'string')
    : [];
  return Object.freeze(Object.fromEntries(entries.sort((a, b) => compareStrings(a[0], b[0]))));
}

function decodeValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return '';
}

export function shapeError(path: string, expected: string): ConsulError {
  return new ConsulError(
    `consul: GET ${path} answered with something other than ${expected}; is consul.address pointing at a Consul agent?`,
  );
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

export function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/**
 * Versions of a service (POLICIES.md `versions`): one backend per `ipx-version`
 * label, the exact request shares of `versions.split` as 100 slots (a request
 * draws a slot with rand(100)), and the header that pins a request to a version.
 * Pure. A version with no server up gets no slot: its share goes to the others
 * in proportion; with none up at all, every slot goes to the service's own backend.
 */
import { compareStrings } from '../compare.ts';
import type { BackendSettings } from './policy/backend-settings.ts';
import type { EffectivePolicy } from './policy/merge.ts';
import type { ServerModel } from './types.ts';

export const SLOTS = 100;

export interface VersionBackend {
  readonly version: string;
  /** `<service backend>.<version>`: service backends hold no dot, so it names no other backend. */
  readonly backend: string;
  readonly servers: readonly ServerModel[];
  readonly settings: BackendSettings;
}

export interface VersionsModel {
  /** Lower-cased header name that pins a request to a version, or null. */
  readonly pinHeader: string | null;
  /** One per label carried by a server, sorted by label; empty when the service declares no `versions`. */
  readonly backends: readonly VersionBackend[];
  /** The split as applied now: version → share of requests (0–100), after taking out versions with no server up. */
  readonly shares: Readonly<Record<string, number>>;
  /** Slot i (0–99) → the backend a request drawing i goes to; empty without `versions.split`. */
  readonly slots: readonly string[];
}

export const NO_VERSIONS: VersionsModel = { pinHeader: null, backends: [], shares: {}, slots: [] };

export function buildVersions(backend: string, servers: readonly ServerModel[], policy: EffectivePolicy, settings: BackendSettings): VersionsModel {
  const split = policy.versions?.split;
  const pin = policy.versions?.pinHeader;
  if (split === undefined && pin === undefined) return NO_VERSIONS;
  const labels = [...new Set(servers.map((s) => s.version).filter((v): v is string => v !== null))].sort(compareStrings);
  const backends = labels.map((version) => ({
    version,
    backend: `${backend}.${version}`,
    servers: servers.filter((s) => s.version === version),
    settings,
  }));
  if (split === undefined) return { pinHeader: pin?.toLowerCase() ?? null, backends, shares: {}, slots: [] };
  const up = new Set(backends.filter((b) => b.servers.some((s) => s.state === 'ready')).map((b) => b.version));
  const shares = effectiveShares(split, up);
  const slots: string[] = [];
  for (const version of Object.keys(shares).sort(compareStrings)) {
    for (let i = 0; i < (shares[version] as number); i++) slots.push(`${backend}.${version}`);
  }
  while (slots.length < SLOTS) slots.push(backend);
  return { pinHeader: pin?.toLowerCase() ?? null, backends, shares, slots };
}

/**
 * The declared shares of the versions that are up, scaled to add up to 100
 * (largest remainder, ties to the lower label); empty when none is up.
 */
export function effectiveShares(split: Readonly<Record<string, number>>, up: ReadonlySet<string>): Record<string, number> {
  const live = Object.entries(split)
    .filter(([version, share]) => up.has(version) && share > 0)
    .sort(([a], [b]) => compareStrings(a, b));
  const total = live.reduce((sum, [, share]) => sum + share, 0);
  if (total === 0) return {};
  const exact = live.map(([version, share]) => ({ version, exact: (share * SLOTS) / total }));
  const result: Record<string, number> = {};
  for (const { version, exact: value } of exact) result[version] = Math.floor(value);
  let left = SLOTS - Object.values(result).reduce((sum, n) => sum + n, 0);
  const byRemainder = [...exact].sort((a, b) => b.exact - Math.floor(b.exact) - (a.exact - Math.floor(a.exact)) || compareStrings(a.version, b.version));
  for (const { version } of byRemainder) {
    if (left-- <= 0) break;
    result[version] = (result[version] as number) + 1;
  }
  return result;
}

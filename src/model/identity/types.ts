import type { JwtAlgorithm } from '../../config/caller-schema.ts';
import type { RateUnit } from './rates.ts';

export interface JwtModel {
  readonly algorithm: JwtAlgorithm;
  /** RS and ES: the PEM of the public key (rendered as its own file); HS: the secret. Both checked at config load. */
  readonly key: string;
  readonly issuer: string;
  readonly audience: string;
  readonly callerClaim: string;
  readonly skewSeconds: number;
}

/**
 * What the frontend's caller rules are made of: a change here is a new kind
 * of rule and reloads. Values (keys, allow lists, limits) live in the maps.
 */
export interface CallerRules {
  /** Any identity, access or rate-limit feature is on; off, only the client's X-Ipx-Caller is removed. */
  readonly enabled: boolean;
  readonly jwt: JwtModel | null;
  /** Lower-case API-key header, or null without identity.apiKeys. */
  readonly apiKeyHeader: string | null;
  /** identity.sourceAddress: a caller without credentials is looked up by its IP. */
  readonly sourceAddress: boolean;
  /** Tables for per-caller-on-a-service limits, by `<request unit><byte unit>` (e.g. `sm`). */
  readonly perCallerTables: readonly string[];
  /** Tables for per-service totals, by unit. */
  readonly totalTables: readonly RateUnit[];
  /** Unit of rateLimit.perCaller across services, or null. */
  readonly globalPerCaller: RateUnit | null;
  /** access.consulIntentions: Consul's intentions are looked up in their map. */
  readonly intentions: boolean;
  /** rateLimit.global is set (its value is in the policy map). */
  readonly global: boolean;
  /** The local peer's address, when any limit is tracked (tables survive reloads). */
  readonly syncBind: string | null;
}

export interface CallerModel {
  readonly rules: CallerRules;
  /** [sha256 hex, caller] lines of the API-key map. */
  readonly apiKeys: readonly (readonly [string, string])[];
  /** [key, value] lines of the policy map: `<backend>/auth`, `/access` (1), tracker units (`/pcu`, `/tu`), and `/on` (1) for a service with any of them. */
  readonly policy: readonly (readonly [string, string])[];
  /** [key, whole number] lines of the limits map: `<backend>/<limit>` and `*\/<limit>`, with Retry-After seconds. */
  readonly limits: readonly (readonly [string, string])[];
  /** Keys of the access map: `<backend>/<caller>` and `<backend>/*`. */
  readonly access: readonly string[];
  /** [IP, caller] lines of the source-address map (identity.sourceAddress). */
  readonly sources: readonly (readonly [string, string])[];
  /** [`<backend or *>/<caller or *>`, allow | deny] lines of the intentions map. */
  readonly intentions: readonly (readonly [string, string])[];
}

import type { CompositesModel } from './composites/types.ts';
import type { CallerModel } from './identity/types.ts';
import type { BackendSettings } from './policy/backend-settings.ts';
import type { EffectivePolicy, PolicyOrigins } from './policy/merge.ts';
import type { PolicyLayer } from './policy/parse-layer.ts';
import type { RouteModel } from './routes.ts';
import type { TcpModel } from './tcp-services.ts';
import type { VersionsModel } from './versions.ts';

/**
 * The model: everything the templates need, and only values that are safe to
 * write into HAProxy's configuration as they are. Built by a pure function
 * from a Snapshot and the Config; rejected items are listed with a reason.
 */
export interface Model {
  readonly global: GlobalModel;
  /** Sorted by lower-cased name (as their hosts sort), then by name. */
  readonly services: readonly ServiceModel[];
  /** Path routes for hosts that are not service hosts, longest prefix first. */
  readonly routes: readonly RouteModel[];
  /** What could not be expressed safely, and why; everything else still applies. */
  readonly rejections: readonly Rejection[];
  /** Composite routes (request aggregation); absent when there are none, so models without them look as they always did. */
  readonly composites?: CompositesModel;
  /** Identity, access and rate limits (src/model/identity/). */
  readonly caller: CallerModel;
}

export interface GlobalModel {
  readonly maxconn: number;
  /** nbthread, or 0 for HAProxy's default (one thread per CPU). */
  readonly threads: number;
  /** Absolute path of the admin (runtime API) socket. */
  readonly adminSocket: string;
  /** Unix group with access to the admin socket (mode 0660), or null for owner only (0600). */
  readonly socketGroup: string | null;
  /**
   * Absolute path of the server state file HAProxy loads at each (re)load;
   * ipx writes it just before, from the live state that agrees with the next model.
   */
  readonly serverStateFile: string;
  readonly hardStopAfterMs: number;
  /** "ip:port" as HAProxy writes a bind, e.g. 127.0.0.1:8080 or [::1]:8080. */
  readonly httpBind: string;
  readonly statsBind: string;
  readonly domain: string;
  /** `ip:port` HAProxy sends access-log lines to (UDP, read by ipx), or null for none. */
  readonly accessLog: string | null;
  /** Basic auth on the stats frontend, or null for none. */
  readonly statsAuth: StatsAuth | null;
}

export interface StatsAuth {
  /** Matches [A-Za-z0-9._-]+ (checked by the config schema). */
  readonly user: string;
  /** A crypt(3) hash ($5$ or $6$), never the password. */
  readonly passwordHash: string;
}

export interface ServiceModel {
  /** The Consul service name (validated against a DNS-label grammar). */
  readonly name: string;
  /** Lower-cased "<name>.<domain>", the Host that routes here. */
  readonly host: string;
  /** Safe HAProxy backend name. */
  readonly backend: string;
  /**
   * Valid instances, sorted by server name: routable ones `ready`, the others
   * (critical, or warning under passingOnly) `maint`, so that a health flip is a
   * runtime state change rather than a server removed and added. No ready
   * server (or none at all) → HAProxy answers the JSON 503.
   */
  readonly servers: readonly ServerModel[];
  /** Every policy value the service runs with (src/model/policy/), validated. */
  readonly policy: EffectivePolicy;
  /** The layer each policy value came from, by dotted key. */
  readonly policyOrigins: PolicyOrigins;
  /** The policy as HAProxy settings, shared by the templates and the runtime API. */
  readonly settings: BackendSettings;
  /** Per-version backends, shares and pinning (`versions`); NO_VERSIONS without them. */
  readonly versions: VersionsModel;
  /** Backend that takes this service's requests while none of its servers is up (`failover.service`), or null. */
  readonly failover: string | null;
  /** For `protocol: tcp`: its listener; null for HTTP services. */
  readonly tcp: TcpModel | null;
}

export interface ServerModel {
  /** Safe HAProxy server name, unique within its backend and stable for an instance. */
  readonly name: string;
  /** The Consul service ID it came from (untrusted; never written to the config). */
  readonly instanceId: string;
  /** IP literal; IPv6 without brackets. */
  readonly address: string;
  readonly port: number;
  /** HAProxy weight, 1 to 256 (Consul's Weights.Passing, or Weights.Warning while in warning; clamped). */
  readonly weight: number;
  readonly state: ServerState;
  /** `ipx-version` meta (a valid label), or null. */
  readonly version: string | null;
}

/** `ready` takes traffic; `maint` is kept in the backend but gets none (HAProxy's maintenance). */
export type ServerState = 'ready' | 'maint';

export interface Rejection {
  /** e.g. `service "web"` or `instance "web-1" of service "web"`. */
  readonly subject: string;
  readonly reason: string;
  /** For a policy value that was not used: the layer it came from (metrics count by it). */
  readonly layer?: PolicyLayer;
}

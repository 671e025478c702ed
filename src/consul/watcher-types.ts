/** The watcher's interface: what it is given, what it reports, how it is driven. */
import type { Config } from '../config/index.ts';
import type { ConsulError } from '../errors.ts';
import type { WatchLimits } from './assemble.ts';
import type { ViewEffects, ViewTiming } from './blocking-view.ts';
import type { ConsulClient } from './client.ts';
import type { Following } from './node-views.ts';
import type { Snapshot } from './snapshot.ts';

/** What the watcher logs through; a pino logger fits. */
export interface WatcherLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** The logger of a watcher given none. */
export const SILENT_LOGGER: WatcherLogger = { debug() {}, info() {}, warn() {}, error() {} };

export interface WatcherErrorInfo {
  /** Query key of the failing view, e.g. health.service("web"). */
  readonly key: string;
  /** Position in this view's current failure streak (1 = first failure). */
  readonly attempt: number;
}

/** For /readyz and `ipx status`. Times are epoch milliseconds. */
export interface WatcherState {
  /** The catalog, the KV prefix and every service have been read at least once: a snapshot can be complete. */
  readonly ready: boolean;
  /** Some view is failing: snapshots may lag behind Consul. */
  readonly stale: boolean;
  readonly staleSince: number | undefined;
  /** Last successful answer from any view. */
  readonly lastSuccessAt: number | undefined;
  readonly lastError: { readonly message: string; readonly key: string; readonly at: number } | undefined;
  /** Keys of the views now failing, sorted. */
  readonly failing: readonly string[];
  readonly services: number;
  /** Service reads waiting for a free connection (consul.maxConnections). */
  readonly queuedReads: number;
  /** Reads kept current (the change signals, one read per service), and how many have answered. */
  readonly views: number;
  readonly viewsRead: number;
  /** Highest X-Consul-Index a change signal has seen: how far into Consul's history ipx has read. */
  readonly lastIndex: string | undefined;
  /** How registrations are followed: a view per node, or scans of every node (README, Consul at scale). */
  readonly registrations?: Following;
}

export interface WatcherOptions {
  readonly client: ConsulClient;
  readonly config: Config['consul'];
  /**
   * limits.services and limits.fieldLength: no service is read beyond them;
   * the names left out travel in the snapshot's `unwatched`. Absent: no limit.
   */
  readonly limits?: WatchLimits;
  /** Also watch Connect intentions (access.consulIntentions); the snapshot waits for their first answer. */
  readonly intentions?: boolean;
  onSnapshot(snapshot: Snapshot): void;
  onError?(error: ConsulError, info: WatcherErrorInfo): void;
  readonly logger?: WatcherLogger;
  readonly timing?: Partial<ViewTiming>;
  readonly effects?: Partial<ViewEffects>;
}

export interface ConsulWatcher {
  /** Starts the views; calling it again, or after stop(), does nothing. */
  start(): void;
  /** Cancels every request in flight and resolves when all views have ended. Idempotent. */
  stop(): Promise<void>;
  state(): WatcherState;
}

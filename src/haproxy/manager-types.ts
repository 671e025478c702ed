/** The HAProxy stage's contract: what the daemon and the CLI call (implemented in manager.ts). */
import type { Config } from '../config/index.ts';
import type { Logger } from 'pino';
import type { ApplyResult } from './apply.ts';
import type { HaproxyStatus } from './manager-status.ts';
import type { ExecFn } from './process/exec.ts';
import type { LiveServer } from './runtime/servers-state.ts';
import type { RenderedConfig } from './types.ts';
import type { Model } from '../model/types.ts';

export interface HaproxyManagerOptions {
  readonly config: Config['haproxy'];
  /** The listen addresses by key (`{ http: '127.0.0.1:8080' }`), so a port in use is reported as `listen.http`. */
  readonly listen?: Readonly<Record<string, string>>;
  readonly logger: Logger;
  readonly exec?: ExecFn;
}

/** What to apply: the rendered files and the model they were rendered from. */
export interface ApplyInput {
  /** The files, or how to render them: a runtime change is applied before they are rendered. */
  readonly rendered: RenderedConfig | (() => RenderedConfig);
  /** Without it (a hand-written config) every change reloads and no server state is carried over. */
  readonly model?: Model;
  /**
   * The templates and settings the files are rendered with (any object, compared by identity).
   * While it is the one the live files came from, a model equal to the live one renders the
   * same files (nothing to apply), and a runtime change needs no render before its ops.
   */
  readonly renderer?: object;
}

export interface HaproxyManager {
  /** Starts HAProxy (or adopts the one an earlier ipx left running) and applies the input. */
  start(input: ApplyInput): Promise<ApplyResult>;
  /**
   * Applies the input: noop when its hash is live; through the runtime API
   * when only servers of existing backends changed; else check, swap and
   * reload (starting HAProxy if needed).
   */
  apply(input: ApplyInput): Promise<ApplyResult>;
  /** Waits for the apply in flight, then stops a managed HAProxy. Idempotent. */
  stop(): Promise<void>;
  status(): HaproxyStatus;
  refresh(): Promise<HaproxyStatus>;
  /** The last configuration a reload confirmed, for a cold start while Consul is unreachable. */
  lastGood(): Promise<RenderedConfig | undefined>;
  /** What HAProxy's servers are doing now (`show servers state`); undefined when it cannot be asked. */
  liveServers(): Promise<readonly LiveServer[] | undefined>;
  /**
   * Calls `listener` when writing the files of a runtime apply fails after the
   * apply returned (the check refused them): HAProxy was reloaded on the last
   * good files, and the caller should apply its latest state again.
   */
  onBackgroundFailure(listener: (error: unknown) => void): void;
  /** Resolves once the files of every runtime apply so far are on disk, or their check failed and was undone. */
  settled(): Promise<void>;
  /** Empties a map in the running HAProxy, atomically (prepare, commit); after any apply in flight. */
  clearMap(map: string): Promise<void>;
}

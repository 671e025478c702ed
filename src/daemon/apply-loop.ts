import { POLICY_LAYERS, buildModel, createModelMemo, type Model } from '../model/index.ts';
import { Runner } from '../runner/runner.ts';
import { renderModel } from '../runner/pipeline.ts';
import { MassDropGuard, totalReady, type GuardStatus } from '../runner/mass-drop-guard.ts';
import { errorMessage } from '../errors.ts';
import type { Config } from '../config/index.ts';
import type { Snapshot } from '../consul/index.ts';
import type { Logger } from '../log.ts';
import type { RenderResult } from '../render/index.ts';
import type { RenderKit } from '../runner/assets.ts';
import type { Metrics } from './metrics.ts';
import type { LiveServer } from '../haproxy/runtime/servers-state.ts';
import { countChanges, formatSummaryLine, summarizeChange } from './change-summary.ts';

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;
const REJECTIONS_LOGGED = 20;

/** What an apply reports: the action, and for the log line its steps' durations and reasons. */
export interface AppliedResult {
  readonly action: string;
  readonly hash: string;
  readonly runtimeOps?: Readonly<Partial<Record<string, number>>>;
  readonly phasesMs?: Readonly<Partial<Record<string, number>>>;
  readonly reasons?: readonly string[];
}

export interface ApplyInput {
  readonly model?: Model;
  /** The files, or how to render them (the applier renders after runtime ops, before anything else). */
  readonly rendered: RenderResult | (() => RenderResult);
  /** Changes whenever the templates or settings do (compared by identity). */
  readonly renderer?: object;
}

/** What the daemon needs of the HAProxy stage. */
export interface Applier {
  /** `model` lets instance changes go through the runtime API; `runtimeOps` counts them by kind. */
  apply(input: ApplyInput): Promise<AppliedResult>;
  stop(): Promise<void>;
  status(): { running: boolean; managed: boolean };
  /** The last configuration a reload confirmed, for a cold start while Consul is unreachable. */
  lastGood(): Promise<RenderResult | undefined>;
  /** HAProxy's servers as it reports them now, for /status; undefined when it cannot be asked. */
  liveServers?(): Promise<readonly LiveServer[] | undefined>;
  /** Work an apply left running after it returned (writing a runtime change's files) failed: apply again. */
  onBackgroundFailure?(listener: (error: unknown) => void): void;
  /** Resolves once that work (for every apply so far) is done. */
  settled?(): Promise<void>;
  /** Empties a map in the running HAProxy (one HAProxy fills at runtime). */
  clearMap?(map: string): Promise<void>;
}

export interface Applied {
  readonly model: Model;
  readonly rendered: RenderResult;
  readonly action: string;
  readonly at: string;
}

export interface LoopState {
  readonly applied: Applied | undefined;
  readonly lastFailure: { readonly message: string; readonly at: string } | undefined;
  readonly guard: GuardStatus;
}

type RunResult =
  | { readonly held: true }
  | { readonly held: false; readonly model: Model; readonly rendered: RenderResult; readonly result: AppliedResult; readonly modelMs: number; readonly renderMs: number };

export interface ApplyLoopOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly applier: Applier;
  readonly kit: RenderKit;
  readonly metrics: Metrics;
  readonly now?: () => number;
}

/**
 * Snapshot → model → files → guard → apply, one run at a time (the Runner
 * debounces and queues). A held change is tried again when its hold ends;
 * a failed one leaves the last good configuration serving.
 */
export class ApplyLoop {
  private readonly runner: Runner<Snapshot, RunResult>;
  private readonly guard: MassDropGuard;
  private applied: Applied | undefined;
  private lastFailure: LoopState['lastFailure'];
  private latest: Snapshot | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private rejectionKey = '';
  private failures = 0;
  // One change rebuilds one service, not thousands (model/model-memo.ts).
  private readonly memo = createModelMemo();
  // A new object for every new config or kit: the applier compares it to know the render is the same.
  private renderer: object = {};
  // Replaced by reconfigure() (SIGHUP, an edited config file or template); the next run uses them.
  private config: Config;
  private kit: RenderKit;

  constructor(private readonly options: ApplyLoopOptions) {
    this.config = options.config;
    this.kit = options.kit;
    this.guard = new MassDropGuard(options.config.guard, options.now);
    this.runner = new Runner<Snapshot, RunResult>({
      window: options.config.watch,
      run: (snapshot) => this.run(snapshot),
      onEvent: (event) => {
        options.metrics.runDuration.observe(event.durationMs / 1000);
        if (event.type === 'run-ok') this.succeeded(event.result, event.durationMs);
        else this.failed(event.error);
      },
    });
  }

  /** Something that was applied did not hold (the applier undid it): record it and apply the latest snapshot again, backing off. */
  undone(error: unknown): void {
    this.failed(error);
  }

  submit(snapshot: Snapshot): void {
    this.latest = snapshot;
    this.runner.submit(snapshot);
  }

  /** An operator confirms a held drop: apply it now. Returns whether anything was held. */
  confirm(): boolean {
    const held = this.guard.confirm();
    if (held) this.retry();
    return held;
  }

  private retry(): void {
    if (this.latest) this.runner.submit(this.latest);
  }

  /** New settings and templates (already checked by the caller): render the latest snapshot with them now. */
  reconfigure(config: Config, kit: RenderKit): void {
    this.config = config;
    this.kit = kit;
    this.renderer = {};
    this.failures = 0;
    this.retry();
  }

  /** The latest snapshot submitted, for a trial render of new settings. */
  latestSnapshot(): Snapshot | undefined {
    return this.latest;
  }

  state(): LoopState {
    return { applied: this.applied, lastFailure: this.lastFailure, guard: this.guard.status() };
  }

  idle(): Promise<void> {
    return this.runner.idle();
  }

  async close(): Promise<void> {
    clearTimeout(this.retryTimer);
    await this.runner.close();
  }

  private async run(snapshot: Snapshot): Promise<RunResult> {
    const { applier, logger } = this.options;
    const { config, kit } = this;
    const modelStarted = performance.now();
    const model = buildModel({ snapshot, config, memo: this.memo });
    const modelMs = Math.round(performance.now() - modelStarted);
    this.logRejections(model);
    const verdict = this.guard.evaluate(this.applied?.model, model);
    if (!verdict.apply) {
      const { dropped, total } = verdict.assessment;
      logger.error(
        { dropped, total, heldSince: new Date(verdict.heldSince).toISOString(), releaseAt: new Date(verdict.releaseAt).toISOString() },
        `guard: holding back a change that removes ${dropped} of ${total} instances; the current configuration keeps serving. ` +
          'Confirm it with `ipx confirm` if it is real, or it applies by itself at releaseAt if it persists',
      );
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.retry(), Math.max(0, verdict.releaseAt - Date.now()) + 10);
      return { held: true };
    }
    if (verdict.confirmed !== undefined) logger.warn({ confirmed: verdict.confirmed }, 'guard: applying the held change');
    // Rendered when the applier asks: after the runtime ops of an instance change, before anything else.
    let rendered: RenderResult | undefined;
    let renderMs = 0;
    const render = (): RenderResult => {
      if (rendered) return rendered;
      const started = performance.now();
      rendered = renderModel(model, kit);
      renderMs = Math.round(performance.now() - started);
      return rendered;
    };
    const result = await applier.apply({ model, rendered: render, renderer: this.renderer });
    return { held: false, model, rendered: render(), result, modelMs, renderMs };
  }

  private succeeded(result: RunResult, durationMs: number): void {
    const { metrics } = this.options;
    metrics.guardHeld.set(result.held ? 1 : 0);
    if (result.held) return;
    const { model, rendered } = result;
    const { action, runtimeOps } = result.result;
    metrics.runs.inc({ result: 'ok' });
    metrics.applies.inc({ action });
    for (const [op, count] of Object.entries(runtimeOps ?? {})) if (count) metrics.runtimeOps.inc({ op }, count);
    metrics.services.set(model.services.length);
    metrics.servers.set(totalReady(model));
    metrics.rejections.set(model.rejections.length);
    for (const layer of POLICY_LAYERS) metrics.policyRejections.set({ layer }, model.rejections.filter((r) => r.layer === layer).length);
    metrics.lastSuccess.setToCurrentTime();
    if (action !== 'noop') this.logApplied(result, durationMs);
    this.applied = { model, rendered, action, at: new Date().toISOString() };
    this.lastFailure = undefined;
    this.failures = 0;
  }

  /**
   * One line per apply: what changed, how, and how long each step took
   * (render, then the HAProxy stage's steps), so an operator reads one line, not five.
   */
  private logApplied(run: Extract<RunResult, { held: false }>, durationMs: number): void {
    const { model, rendered, modelMs, renderMs, result } = run;
    const change = summarizeChange(this.applied?.model, model);
    // In the order they ran: a runtime apply renders the files after its ops.
    const stepsMs = result.action === 'runtime' ? { model: modelMs, ...result.phasesMs, render: renderMs } : { model: modelMs, render: renderMs, ...result.phasesMs };
    const steps = Object.entries(stepsMs).map(([step, ms]) => `${step} ${ms} ms`).join(', ');
    const why = result.action === 'reload' && result.reasons?.length ? ` because ${result.reasons.slice(0, 3).join('; ')}${result.reasons.length > 3 ? '; …' : ''}` : '';
    this.options.logger.info(
      { action: result.action, hash: rendered.hash.slice(0, 12), durationMs, stepsMs, services: model.services.length, runtimeOps: result.runtimeOps, change: countChanges(change), reasons: result.reasons?.slice(0, 20) },
      `haproxy: ${result.action} applied in ${durationMs} ms (${steps}): ${formatSummaryLine(change)}${why}`,
    );
  }

  private failed(error: unknown): void {
    this.options.metrics.runs.inc({ result: 'failed' });
    this.lastFailure = { message: errorMessage(error), at: new Date().toISOString() };
    // The cause may pass (a full disk, a busy port): try the latest snapshot again, backing off.
    const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** this.failures++);
    this.options.logger.error({ err: this.lastFailure.message, retryInMs: delay }, 'apply failed; the last good configuration keeps serving');
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.retry(), delay);
  }

  private logRejections(model: Model): void {
    const key = JSON.stringify(model.rejections);
    if (key === this.rejectionKey) return;
    this.rejectionKey = key;
    // A limit can reject thousands of items at once: name the first ones, count the rest.
    for (const rejection of model.rejections.slice(0, REJECTIONS_LOGGED)) {
      this.options.logger.warn({ subject: rejection.subject, reason: rejection.reason, ...(rejection.layer ? { layer: rejection.layer } : {}) }, `skipped ${rejection.subject}: ${rejection.reason}`);
    }
    const more = model.rejections.length - REJECTIONS_LOGGED;
    if (more > 0) this.options.logger.warn({ more }, `skipped ${more} more items; GET /status lists them all`);
  }
}

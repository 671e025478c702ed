import { HaproxyRuntimeError } from '../../errors.ts';
import { liveMismatches } from './live-vs-model.ts';
import { runRuntimeOps } from './run-runtime-ops.ts';
import { stageConfig, type LiveConfig, type StageDeps } from '../files/stage-config.ts';
import { promoteStaged } from '../files/stage-files.ts';
import type { AdminCli } from './admin-cli.ts';
import type { Drainer } from './drainer.ts';
import type { RuntimeOp } from '../plan/plan-apply.ts';
import type { RenderedConfig } from '../types.ts';
import type { Model } from '../../model/types.ts';

export interface RuntimeApplyInput {
  readonly rendered: RenderedConfig;
  readonly model: Model;
  readonly ops: readonly RuntimeOp[];
}

export interface RuntimeApplyDeps extends StageDeps {
  readonly admin: AdminCli;
  readonly drainer: Drainer;
}

export interface RuntimeApplyOutcome {
  /** Milliseconds spent on the runtime API and on reading back the backends touched. */
  readonly phasesMs: { readonly ops: number; readonly verify: number };
}

export interface PersistOutcome {
  readonly live: LiveConfig;
  readonly checkWarnings: string[];
  /** Milliseconds spent staging and checking, and swapping the file in. */
  readonly phasesMs: { readonly check: number; readonly swap: number };
}

/** Ops ran, but the live servers do not agree with the model; the caller reloads. */
export class RuntimeMismatchError extends HaproxyRuntimeError {
  constructor(readonly mismatches: readonly string[]) {
    super(`haproxy: after the runtime changes the live servers disagree with the model: ${mismatches.slice(0, 5).join('; ')}${mismatches.length > 5 ? ` (and ${mismatches.length - 5} more)` : ''}`);
  }
}

/**
 * Above this many backends touched, one `show servers state` of every backend is
 * cheaper than one exchange per backend (each is a new connection to the socket).
 */
const PER_BACKEND_READS = 32;

/**
 * Reads back only the backends the ops touched: the others did not change, and at
 * thousands of backends the full `show servers state` is most of a runtime apply.
 */
async function touchedMismatches(ops: readonly RuntimeOp[], model: Model, deps: Pick<RuntimeApplyDeps, 'admin' | 'drainer'>): Promise<string[]> {
  // Map ops change no server: only the backends of server ops are read back.
  const touched = new Set(ops.flatMap((op) => ('backend' in op ? [op.backend] : [])));
  const draining = deps.drainer.draining();
  if (touched.size > PER_BACKEND_READS) return liveMismatches((await deps.admin.serversState()).state.servers, model, draining, touched);
  const servers = [];
  for (const backend of touched) servers.push(...(await deps.admin.serversState(backend)).state.servers);
  return liveMismatches(servers, model, draining, touched);
}

/**
 * The runtime transaction: runtime ops → read back and compare with the model
 * (the backends touched). Every op is built by the template encoders from
 * model values and HAProxy refuses a bad one by itself. A refused op or a
 * mismatch throws and the caller falls back to a reload. Writing the files
 * comes after, in persistRuntime, off the path a caller waits on: the check
 * alone is most of an apply's time (a second at 5,000 services).
 */
export async function applyRuntime(input: Omit<RuntimeApplyInput, 'rendered'>, deps: Pick<RuntimeApplyDeps, 'admin' | 'drainer'>): Promise<RuntimeApplyOutcome> {
  const { model, ops } = input;
  const lap = stopwatch();
  await runRuntimeOps(ops, deps);
  const opsMs = lap();
  const mismatches = await touchedMismatches(ops, model, deps);
  const verify = lap();
  if (mismatches.length > 0) throw new RuntimeMismatchError(mismatches);
  return { phasesMs: { ops: opsMs, verify } };
}

/**
 * After runtime ops: stage → `haproxy -c` → swap the checked file in (no
 * reload) → mark last-known-good, so that a reload or a restart brings back
 * exactly what runs. A failed check throws HaproxyCheckError: the previous
 * file stays on disk, and the caller reloads it to undo the ops.
 */
export async function persistRuntime(rendered: RenderedConfig, model: Model, deps: StageDeps): Promise<PersistOutcome> {
  const lap = stopwatch();
  // The servers are live already; the file only has to be right before the next reload.
  const staged = await stageConfig(rendered, deps, { background: true });
  const check = lap();
  await promoteStaged(deps.layout);
  await staged.confirm();
  return { live: { hash: rendered.hash, extraNames: staged.extraNames, model }, checkWarnings: staged.checkWarnings, phasesMs: { check, swap: lap() } };
}

function stopwatch(): () => number {
  let mark = performance.now();
  return () => {
    const now = performance.now();
    const ms = Math.round((now - mark) * 10) / 10;
    mark = now;
    return ms;
  };
}

import type { Command } from 'commander';
import { summarizeChange } from '../../daemon/change-summary.ts';
import { dryRunCheck, planForLive, type ApplyPlan } from '../../haproxy/index.ts';
import { loadRenderKit } from '../../runner/assets.ts';
import { renderSnapshot } from '../../runner/pipeline.ts';
import { CONFIG_FILE, type RenderResult } from '../../render/index.ts';
import { errorMessage, IpxError } from '../../errors.ts';
import type { Config } from '../../config/index.ts';
import type { Model } from '../../model/index.ts';
import { adminRequest } from '../admin-request.ts';
import { EXIT, ExitWith } from '../exit-codes.ts';
import { loadFromFlags, withConfigOptions, type ConfigFlags } from '../load-options.ts';
import { readConsulOnce } from '../read-consul.ts';
import { formatDiffSummary, readGivenFile, readLiveFiles, unifiedDiff, type Baseline } from '../render-diff.ts';
import type { CliIo } from '../io.ts';

interface RenderFlags extends ConfigFlags {
  dryRun?: boolean;
  offline?: boolean;
  all?: boolean;
  diff?: boolean;
  against?: string;
  exitCode?: boolean;
}

/** `ipx render --dry-run`: read Consul once, print the configuration (or its diff with what runs), check it; write nothing. */
export function renderCommand(program: Command, io: CliIo): void {
  withConfigOptions(program.command('render'))
    .description('Read Consul once, print the HAProxy configuration (or --diff against what runs) and check it with haproxy -c; writes nothing')
    .option('--dry-run', 'print and check only (the only mode: ipx watch applies)')
    .option('--offline', 'render without Consul, as if it had no services')
    .option('--all', 'also print the other rendered files (host map)')
    .option('--diff', 'print a unified diff against the live files in haproxy.runDir (or --against), a summary, and whether ipx watch would apply it through the runtime API or a reload')
    .option('--against <file>', 'with --diff: compare with this HAProxy configuration file instead of the live one')
    .option('--exit-code', `with --diff: exit ${EXIT.differs} when there is a difference, 0 when there is none`)
    .action(async (flags: RenderFlags) => {
      const { config } = await loadFromFlags(flags, io);
      if ((flags.against || flags.exitCode) && !flags.diff) throw new IpxError('E_USAGE', 'render: --against and --exit-code go with --diff');
      const snapshot = await readConsulOnce(config, flags.offline);
      const { model, rendered } = renderSnapshot(snapshot, config, await loadRenderKit(undefined, config.templates.dir));
      if (flags.diff) {
        const differs = await printDiff(io, config, model, rendered, flags.against);
        await check(io, config, model, rendered);
        if (differs && flags.exitCode) throw new ExitWith(EXIT.differs);
        return;
      }
      for (const name of Object.keys(rendered.files).sort((a, b) => (a === CONFIG_FILE ? -1 : b === CONFIG_FILE ? 1 : a.localeCompare(b)))) {
        if (name !== CONFIG_FILE && !flags.all) continue;
        if (flags.all) io.stdout.write(`# ---- ${name}\n`);
        io.stdout.write(rendered.files[name] as string);
      }
      await check(io, config, model, rendered);
    });
}

async function check(io: CliIo, config: Config, model: Model, rendered: RenderResult): Promise<void> {
  for (const rejection of model.rejections) io.stderr.write(`skipped ${rejection.subject}: ${rejection.reason}\n`);
  const warnings = await dryRunCheck(rendered, config.haproxy.binary);
  for (const warning of warnings) io.stderr.write(`haproxy -c warning: ${warning}\n`);
  io.stderr.write(`haproxy -c: configuration valid (${model.services.length} services, ${model.rejections.length} skipped, hash ${rendered.hash.slice(0, 12)})\n`);
}

/** Prints the diff and the summary; returns whether anything differs. */
async function printDiff(io: CliIo, config: Config, model: Model, rendered: RenderResult, against: string | undefined): Promise<boolean> {
  const baseline: Baseline = against ? await readGivenFile(against) : ((await readLiveFiles(config.haproxy.runDir)) ?? { label: `${config.haproxy.runDir} (nothing live yet)`, files: {} });
  const patch = unifiedDiff(baseline, rendered.files);
  io.stdout.write(patch);
  // The running watch knows the model of what it applied; a given file or a stopped watch has none.
  const applied: AppliedModel = against ? { running: false, why: `${against} is a file, not a running watch` } : await appliedModel(config);
  let plan: ApplyPlan;
  if (patch === '') plan = { kind: 'noop' };
  else if (against) plan = { kind: 'reload', reasons: [`${against} comes without a model: only a reload can apply the difference`] };
  else plan = planForLive({ running: applied.running, applied: applied.model, next: model });
  io.stdout.write(`${patch === '' ? `no difference from ${baseline.label}\n` : ''}${formatDiffSummary(applied.model ? summarizeChange(applied.model, model) : undefined, plan, applied.why)}`);
  return patch !== '';
}

interface AppliedModel {
  readonly running: boolean;
  readonly model?: Model;
  /** Why there is no model. */
  readonly why?: string;
}

async function appliedModel(config: Config): Promise<AppliedModel> {
  try {
    const res = await adminRequest('render', config.listen.admin, '/model');
    const model = (await res.json()) as Model | null;
    return model ? { running: true, model } : { running: true, why: 'the ipx watch has applied nothing yet' };
  } catch (err) {
    return { running: false, why: errorMessage(err) };
  }
}

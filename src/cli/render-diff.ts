import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';
import { compareStrings } from '../compare.ts';
import { errorMessage, IpxError } from '../errors.ts';
import { formatSummaryLine, type ChangeSet, type ChangeSummary } from '../daemon/change-summary.ts';
import type { ApplyPlan } from '../haproxy/index.ts';

export const MAIN_FILE = 'haproxy.cfg';

/** What a configuration is compared with: files by name, and where they came from. */
export interface Baseline {
  readonly label: string;
  readonly files: Readonly<Record<string, string>>;
}

/**
 * The live files of the watch using `runDir`: haproxy.cfg and the files it
 * names (maps and ACL pattern files, some named by their content hash). Undefined when
 * nothing is live there yet.
 */
export async function readLiveFiles(runDir: string): Promise<Baseline | undefined> {
  const main = await readOptional(path.join(runDir, MAIN_FILE));
  if (main === undefined) return undefined;
  const files: Record<string, string> = { [MAIN_FILE]: main };
  const names = await readdir(runDir).catch(() => [] as string[]);
  for (const name of names.filter((n) => /\.(map|acl)$/.test(n) && main.includes(n)).sort(compareStrings)) {
    const text = await readOptional(path.join(runDir, name));
    if (text !== undefined) files[name] = text;
  }
  return { label: runDir, files };
}

/** A file the user names: compared with the rendered main configuration. */
export async function readGivenFile(file: string): Promise<Baseline> {
  try {
    return { label: file, files: { [MAIN_FILE]: await readFile(file, 'utf8') } };
  } catch (err) {
    throw new IpxError('E_USAGE', `render: cannot read ${file} (${errorMessage(err)}); give --against a readable HAProxy configuration file`, { cause: err });
  }
}

/**
 * Unified diffs between the baseline and the rendered files. Files of the
 * same kind pair up even when their names differ (a host map is named by its
 * content hash); with a single given file only the main configuration is compared.
 */
export function unifiedDiff(baseline: Baseline, next: Readonly<Record<string, string>>): string {
  const pairs = pairFiles(Object.keys(baseline.files), Object.keys(next).filter((name) => name === MAIN_FILE || Object.keys(baseline.files).length > 1));
  return pairs
    .map(([old, now]) => {
      const before = old === undefined ? '' : (baseline.files[old] as string);
      const after = now === undefined ? '' : (next[now] as string);
      if (before === after) return '';
      return createTwoFilesPatch(old ? `live/${old}` : '/dev/null', now ? `next/${now}` : '/dev/null', before, after, undefined, undefined, { headerOptions: FILE_HEADERS_ONLY });
    })
    .join('');
}

function pairFiles(before: readonly string[], after: readonly string[]): Array<[string | undefined, string | undefined]> {
  const kind = (name: string) => name.replace(/-[0-9a-f]{12}(\.[a-z]+)$/, '$1');
  const pairs: Array<[string | undefined, string | undefined]> = [];
  const left = new Set(before);
  for (const name of [...after].sort(compareStrings)) {
    const match = left.has(name) ? name : [...left].find((old) => kind(old) === kind(name));
    if (match !== undefined) left.delete(match);
    pairs.push([match, name]);
  }
  for (const old of left) pairs.push([old, undefined]);
  return pairs;
}

/** The summary block: what changes, and how `ipx watch` would apply it. */
export function formatDiffSummary(summary: ChangeSummary | undefined, plan: ApplyPlan, unknownWhy?: string): string {
  const lines: string[] = [];
  if (summary) {
    lines.push(`summary: ${formatSummaryLine(summary, 0)}`);
    const list = (label: string, set: ChangeSet) => {
      for (const [verb, names] of [['added', set.added], ['removed', set.removed], ['changed', set.changed]] as const) {
        if (names.length > 0) lines.push(`  ${label} ${verb}: ${names.join(', ')}`);
      }
    };
    list('services', summary.services);
    list('routes', summary.routes);
    list('servers', summary.servers);
    if (summary.global.length > 0) lines.push(`  global settings changed: ${summary.global.join(', ')}`);
  } else {
    lines.push(`summary: services, routes and servers unknown: ${unknownWhy ?? 'the model behind the live files is unknown'}`);
  }
  lines.push(`apply: ${describePlan(plan)}`);
  return `${lines.join('\n')}\n`;
}

function describePlan(plan: ApplyPlan): string {
  switch (plan.kind) {
    case 'noop':
      return 'nothing (the live files are the same)';
    case 'runtime': {
      const counts = new Map<string, number>();
      for (const op of plan.ops) counts.set(op.kind, (counts.get(op.kind) ?? 0) + 1);
      return `runtime API, no reload (${plan.ops.length} operations: ${[...counts].map(([kind, n]) => `${kind} ${n}`).join(', ')})`;
    }
    case 'reload':
      return `seamless reload (${plan.reasons.slice(0, 5).join('; ')}${plan.reasons.length > 5 ? `; ${plan.reasons.length - 5} more` : ''})`;
  }
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new IpxError('E_USAGE', `render: cannot read ${file} (${errorMessage(err)}); check haproxy.runDir and its permissions`, { cause: err });
  }
}

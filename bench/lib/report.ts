/** Summaries and the printed table shared by the benchmarks. */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface Distribution {
  readonly n: number;
  readonly p50?: number;
  readonly p95?: number;
  readonly p99?: number;
  readonly max?: number;
}

/** Nearest-rank percentiles. */
export function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
  if (sorted.length === 0) return { n: 0 };
  return { n: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted.at(-1) };
}

export function formatDistribution(d: Distribution, unit = ''): string {
  if (d.n === 0) return '–';
  return `${d.p50}/${d.p95}/${d.p99}${unit} (n=${d.n}, max ${d.max})`;
}

export function formatCounts(counts: Readonly<Record<string, number>>): string {
  const entries = Object.entries(counts).filter(([, n]) => n > 0);
  return entries.length === 0 ? '0' : entries.map(([key, n]) => `${key}×${n}`).join(' ');
}


export function non2xx(statuses: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(statuses).filter(([code]) => !code.startsWith('2')));
}

/** Rows of cells, first column left-aligned, the others padded to the widest cell. */
export function table(rows: ReadonlyArray<readonly string[]>): string {
  const widths = rows.reduce<number[]>((w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, cell.length)), []);
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]! + 2))).join('').trimEnd()).join('\n');
}

export interface Provenance {
  readonly commit: string;
  /** Uncommitted changes to what runs (src/, templates/, haproxy/) when the benchmark ran. */
  readonly dirty: string[];
  readonly host: { readonly cpus: number; readonly node: string; readonly haproxy: string; readonly platform: string };
}

export function provenance(root: string): Provenance {
  const run = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trimEnd();
    } catch {
      return '';
    }
  };
  return {
    commit: run('git', ['rev-parse', '--short=12', 'HEAD']) || 'unknown',
    dirty: run('git', ['status', '--porcelain', '--', 'src', 'templates', 'haproxy']).split('\n').filter(Boolean).map((line) => line.slice(3)),
    host: { cpus: os.cpus().length, node: process.version, haproxy: run('haproxy', ['-v']).split('\n')[0] ?? '', platform: `${os.platform()} ${os.release()}` },
  };
}

export function describeProvenance(p: Provenance): string {
  const dirty = p.dirty.length ? ` plus uncommitted changes to ${p.dirty.join(', ')}` : '';
  return `ran against ${p.commit}${dirty}; ${p.host.cpus} CPUs, node ${p.host.node}, ${p.host.haproxy}`;
}

/** Writes bench/results/<name>-<timestamp>.json and returns its path. */
export async function saveResults(root: string, name: string, data: unknown): Promise<string> {
  const dir = path.join(root, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}

/** Share of all CPUs busy between two readings of /proc/stat (Linux); undefined elsewhere. */
export async function cpuBusySince(before: CpuTimes | undefined): Promise<number | undefined> {
  const after = await cpuTimes();
  if (!before || !after) return undefined;
  const total = after.total - before.total;
  return total > 0 ? 1 - (after.idle - before.idle) / total : undefined;
}

export interface CpuTimes {
  readonly idle: number;
  readonly total: number;
}

export async function cpuTimes(): Promise<CpuTimes | undefined> {
  const text = await readFile('/proc/stat', 'utf8').catch(() => '');
  const fields = /^cpu\s+(.*)$/m.exec(text)?.[1]?.trim().split(/\s+/).map(Number);
  if (!fields || fields.length < 5) return undefined;
  // user nice system idle iowait irq softirq steal …: idle and iowait are idle time.
  return { idle: fields[3]! + fields[4]!, total: fields.slice(0, 8).reduce((a, b) => a + b, 0) };
}

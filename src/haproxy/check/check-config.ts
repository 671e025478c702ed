import { HaproxyCheckError, HaproxyRuntimeError } from '../../errors.ts';
import { parseCheckOutput } from './check-output.ts';
import { execCommand, type ExecFn } from '../process/exec.ts';

export interface CheckConfigOptions {
  /** HAProxy binary: a path or a name on PATH. */
  readonly binary: string;
  /** The config's directory; relative files it names (`default-path config`) are found there. */
  readonly dir: string;
  /** The file to check, relative to `dir` (or absolute). */
  readonly configFile: string;
  /** What the alerts call the file, when the checked file is a staged copy (e.g. `haproxy.cfg`). */
  readonly displayName?: string;
  readonly exec?: ExecFn;
  readonly timeoutMs?: number;
  /** See ExecOptions.niceness. */
  readonly niceness?: number;
}

export interface CheckConfigResult {
  readonly warnings: string[];
  readonly durationMs: number;
}

const MAX_QUOTED_ALERTS = 8;

/**
 * `haproxy -c -f <file>`. Never `-q`: it hides the reason. Exit 0 is valid
 * (warnings are returned); anything else throws HaproxyCheckError quoting the alerts.
 */
export async function checkConfig(options: CheckConfigOptions): Promise<CheckConfigResult> {
  const { binary, dir, configFile } = options;
  const exec = options.exec ?? execCommand;
  const started = performance.now();
  const result = await exec(binary, ['-c', '-f', configFile], { cwd: dir, timeoutMs: options.timeoutMs ?? 60_000, ...(options.niceness === undefined ? {} : { niceness: options.niceness }) });
  const durationMs = Math.round(performance.now() - started);
  if (result.exitCode === undefined) {
    throw new HaproxyRuntimeError(
      `haproxy: could not run '${binary} -c' (${result.failure ?? 'unknown failure'}); install HAProxy 2.6 or newer, or set haproxy.binary to its path`,
    );
  }
  const output = `${result.stdout}\n${result.stderr}`;
  const rename = (text: string) => (options.displayName ? text.split(configFile).join(options.displayName) : text);
  const { alerts, warnings } = parseCheckOutput(output);
  if (result.exitCode === 0) return { warnings: warnings.map(rename), durationMs };

  const quoted = alerts.length > 0 ? alerts.slice(0, MAX_QUOTED_ALERTS).map(rename) : [lastLines(result.stderr, 5)];
  const more = alerts.length > MAX_QUOTED_ALERTS ? ` (and ${alerts.length - MAX_QUOTED_ALERTS} more)` : '';
  throw new HaproxyCheckError(
    `haproxy -c rejected the configuration (exit ${result.exitCode}): ${quoted.join('; ')}${more}. ` +
      'Nothing was applied; fix the template or the value named at that line.',
    output,
  );
}

function lastLines(text: string, count: number): string {
  const lines = text.trim().split(/\r?\n/).filter((line) => line.trim() !== '');
  return lines.slice(-count).join(' / ') || 'no output';
}

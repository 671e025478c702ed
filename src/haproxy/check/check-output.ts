/** `haproxy -c` output, split into what blocks a config and what only warns. */
export interface CheckOutput {
  /** `[ALERT]` messages without their prefix, e.g. `config : parsing [haproxy.cfg:12] : unknown keyword 'x' …`. */
  readonly alerts: string[];
  /** `[WARNING]` messages without their prefix; continuation lines (`   | …`) joined with a space. */
  readonly warnings: string[];
}

// `[ALERT]    (1234) : config : parsing [...]` — the level, then the pid, then the message.
const MESSAGE = /^\[(ALERT|WARNING|NOTICE)\]\s+\(\d+\)\s+:\s?(.*)$/;
const CONTINUATION = /^\s+\|\s?(.*)$/;
// Summary lines repeat what the specific alerts already say.
const SUMMARY = /^config : (Error\(s\) found in configuration file|Fatal errors found in configuration)/;

/** Pure: parses the combined stdout and stderr of `haproxy -c`. */
export function parseCheckOutput(output: string): CheckOutput {
  const alerts: string[] = [];
  const warnings: string[] = [];
  let last: { list: string[]; index: number } | undefined;
  for (const line of output.split(/\r?\n/)) {
    const message = MESSAGE.exec(line);
    if (message) {
      const [, level, text = ''] = message;
      last = undefined;
      if (level === 'NOTICE') continue;
      const list = level === 'ALERT' ? alerts : warnings;
      if (level === 'ALERT' && SUMMARY.test(text)) continue;
      list.push(text.trim());
      last = { list, index: list.length - 1 };
      continue;
    }
    const continuation = CONTINUATION.exec(line);
    if (continuation && last) {
      last.list[last.index] = `${last.list[last.index]} ${(continuation[1] ?? '').trim()}`.trim();
    }
  }
  return { alerts, warnings };
}

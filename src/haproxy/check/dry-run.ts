import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfig } from './check-config.ts';
import { extraFileNames } from '../files/run-dir.ts';
import type { ExecFn } from '../process/exec.ts';
import { MAIN_CONFIG, type RenderedConfig } from '../types.ts';

/** `haproxy -c`'s warning for a `server-state-file` that does not exist yet. */
const MISSING_STATE_FILE = /Can't open global server state file/;

/**
 * `haproxy -c` on a rendered set in a fresh temp folder, deleted afterwards:
 * for `ipx render --dry-run` and `ipx validate`, which must write nothing in
 * runDir. Returns the warnings; throws HaproxyCheckError with the alerts.
 */
export async function dryRunCheck(rendered: RenderedConfig, binary: string, options: { exec?: ExecFn } = {}): Promise<string[]> {
  extraFileNames(rendered);
  const dir = await mkdtemp(join(tmpdir(), 'ipx-check-'));
  try {
    for (const [name, content] of Object.entries(rendered.files)) await writeFile(join(dir, name), content, { mode: 0o600 });
    const { warnings } = await checkConfig({ binary, dir, configFile: MAIN_CONFIG, exec: options.exec });
    // The manager writes the server state file before every check and load; a dry run writes nothing in runDir.
    return warnings.filter((warning) => !MISSING_STATE_FILE.test(warning));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

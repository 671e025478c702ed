import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/parse.ts';
import type { ConfigInput, Config } from '../../src/config/schema.ts';
import type { Snapshot } from '../../src/consul/snapshot.ts';

/** Test-side I/O for the pure render stage: fixtures (templates and assets come from loadRenderKit). */
export const ROOT = new URL('../..', import.meta.url).pathname;

/**
 * A fixed run directory string, so that golden files do not depend on the machine.
 * Nothing creates it or needs it to exist: checks render into folders of their own.
 */
export const GOLDEN_RUN_DIR = '/run/ipx-golden';

export interface Fixture {
  readonly name: string;
  readonly config: Config;
  readonly snapshot: Snapshot;
}

/** The fixtures with golden renders in test/golden/<name>/. */
export const GOLDEN_FIXTURES = ['basic', 'ipv6', 'hostile', 'policy', 'composites', 'caller'] as const;

/** test/fixtures/snapshot-<name>.json: `{ description, config, snapshot }`; runDir is always GOLDEN_RUN_DIR. */
export function loadFixture(name: string): Fixture {
  const raw = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', `snapshot-${name}.json`), 'utf8')) as {
    config?: ConfigInput;
    snapshot: Snapshot;
  };
  const input = raw.config ?? {};
  const config = parseConfig({ ...input, haproxy: { ...input.haproxy, runDir: GOLDEN_RUN_DIR } }, `fixture ${name}`);
  return { name, config, snapshot: raw.snapshot };
}

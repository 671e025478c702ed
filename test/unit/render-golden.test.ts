import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildModel } from '../../src/model/build-model.ts';
import { CONFIG_FILE, render } from '../../src/render/render.ts';
import { EMPTY_SERVER_STATE } from '../../src/haproxy/servers-state.ts';
import { GOLDEN_FIXTURES, GOLDEN_RUN_DIR, ROOT, loadFixture } from '../helpers/render-inputs.ts';
import { loadRenderKit } from '../../src/runner/assets.ts';

/**
 * Golden files: test/golden/<fixture>/ holds exactly what render() writes for
 * test/fixtures/snapshot-<fixture>.json, plus rejections.json. Compared byte
 * for byte; a diff is a change to review. To accept a deliberate change:
 *   UPDATE_GOLDEN=1 npx vitest run --config test/vitest.config.ts test/unit/render-golden.test.ts
 * then read `git diff test/golden` before committing.
 */
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const HAPROXY = process.env.HAPROXY_BIN ?? 'haproxy';
const { templates, assets } = await loadRenderKit();
const scratch = mkdtempSync(join(tmpdir(), 'ipx-golden-check-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function renderFixture(name: string) {
  const { config, snapshot } = loadFixture(name);
  const model = buildModel({ snapshot, config });
  const result = render({ model, templates, assets });
  return { model, result, files: { ...result.files, 'rejections.json': `${JSON.stringify(model.rejections, null, 2)}\n` } };
}

describe.each(GOLDEN_FIXTURES)('golden render of fixture %s', (name) => {
  const dir = join(ROOT, 'test', 'golden', name);
  const { result, files } = renderFixture(name);

  if (UPDATE) {
    // Remove first: a map file is named by its content hash, so the old one would linger.
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const [file, content] of Object.entries(files)) writeFileSync(join(dir, file), content);
  }

  it('matches the golden files byte for byte', () => {
    expect(readdirSync(dir).sort()).toEqual(Object.keys(files).sort());
    for (const [file, content] of Object.entries(files)) {
      expect(readFileSync(join(dir, file), 'utf8'), `${name}/${file}`).toBe(content);
    }
  });

  it('renders the same bytes and hash on a second run', () => {
    expect(renderFixture(name).result).toEqual(result);
  });

  it('is accepted by haproxy -c', () => {
    const out = join(scratch, name);
    mkdirSync(out, { recursive: true });
    for (const [file, content] of Object.entries(result.files)) writeFileSync(join(out, file), content);
    // As the manager does before every check: the rendered config loads this file.
    mkdirSync(GOLDEN_RUN_DIR, { recursive: true });
    writeFileSync(join(GOLDEN_RUN_DIR, 'server-state'), EMPTY_SERVER_STATE);
    const check = spawnSync(HAPROXY, ['-c', '-f', join(out, CONFIG_FILE)], { encoding: 'utf8' });
    expect(check.error).toBeUndefined();
    expect(`${check.stdout}${check.stderr}`).not.toMatch(/\[(ALERT|WARNING)\]/);
    expect(check.status, check.stderr).toBe(0);
  });
});

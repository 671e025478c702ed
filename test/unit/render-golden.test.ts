import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildModel } from '../../src/model/build-model.ts';
import { render } from '../../src/render/render.ts';
import { dryRunCheck } from '../../src/haproxy/check/dry-run.ts';
import { GOLDEN_FIXTURES, ROOT, loadFixture } from '../helpers/render-inputs.ts';
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

  it('is accepted by haproxy -c without warnings', async () => {
    // The check `ipx render --dry-run` runs: a fresh folder of its own, nothing needed at runDir.
    expect(await dryRunCheck(result, HAPROXY)).toEqual([]);
  });
});

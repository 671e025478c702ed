import { buildModel, type Model } from '../model/index.ts';
import { render, type RenderResult } from '../render/index.ts';
import type { Config } from '../config/index.ts';
import type { Snapshot } from '../consul/index.ts';
import type { RenderKit } from './assets.ts';

export interface Rendered {
  readonly model: Model;
  readonly rendered: RenderResult;
}

/** Pure: snapshot → model → files. Shared by the daemon, `render --dry-run`, `validate` and `explain`. */
export function renderSnapshot(snapshot: Snapshot, config: Config, kit: RenderKit): Rendered {
  const model = buildModel({ snapshot, config });
  return { model, rendered: renderModel(model, kit) };
}

/** Pure: the files of a model. */
export function renderModel(model: Model, kit: RenderKit): RenderResult {
  return render({ model, templates: kit.templates, assets: kit.assets });
}

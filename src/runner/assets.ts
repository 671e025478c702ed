import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { compileTemplates, type CompiledTemplates, type RenderAssets } from '../render/index.ts';
import { RenderError, errorMessage } from '../errors.ts';

/** The folder holding templates/ and haproxy/ (the package root). */
export const PACKAGE_ROOT = path.resolve(import.meta.dirname, '../..');

export interface RenderKit {
  readonly templates: CompiledTemplates;
  readonly assets: RenderAssets;
}

/** I/O edge of the render stage: reads templates/*.hbs and haproxy/errors/*.json once, compiles them. */
export async function loadRenderKit(root: string = PACKAGE_ROOT): Promise<RenderKit> {
  const templatesDir = path.join(root, 'templates');
  const partialsDir = path.join(templatesDir, 'partials');
  const partialFiles = (await readdir(partialsDir)).filter((file) => file.endsWith('.hbs')).sort();
  const partials: Record<string, string> = {};
  for (const file of partialFiles) partials[file.slice(0, -'.hbs'.length)] = await read(path.join(partialsDir, file));
  const templates = compileTemplates({ main: await read(path.join(templatesDir, 'haproxy.cfg.hbs')), partials });
  const errorsDir = path.join(root, 'haproxy', 'errors');
  const assets: RenderAssets = {
    errors: {
      '404': await read(path.join(errorsDir, '404.json')),
      '502': await read(path.join(errorsDir, '502.json')),
      '503': await read(path.join(errorsDir, '503.json')),
      '504': await read(path.join(errorsDir, '504.json')),
    },
  };
  return { templates, assets };
}

async function read(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new RenderError(`render: cannot read ${file} (${errorMessage(err)}); is the ipx installation complete?`, { cause: err });
  }
}

import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { compileTemplates, type CompiledTemplates, type RenderAssets } from '../render/index.ts';
import { ConfigError, RenderError, errorMessage } from '../errors.ts';

/** The folder holding templates/ and haproxy/ (the package root). */
export const PACKAGE_ROOT = path.resolve(import.meta.dirname, '../..');

const MAIN_TEMPLATE = 'haproxy.cfg.hbs';

export interface RenderKit {
  readonly templates: CompiledTemplates;
  readonly assets: RenderAssets;
  /** The user's templates in use (file paths); absent or empty with built-ins only. */
  readonly overrides?: readonly string[];
}

interface TemplateFiles {
  main?: { source: string; file: string };
  partials: Record<string, { source: string; file: string }>;
}

/**
 * I/O edge of the render stage: reads the built-in templates/*.hbs, then the
 * user's folder (`templates.dir`) whose haproxy.cfg.hbs and partials/*.hbs
 * replace the built-ins of the same name (confd-style), and
 * haproxy/errors/*.json; compiles them all under the same rules. A template
 * that does not compile is named by its file and line.
 */
export async function loadRenderKit(root: string = PACKAGE_ROOT, userDir = ''): Promise<RenderKit> {
  const builtIn = await readTemplateFolder(path.join(root, 'templates'), true);
  const user = userDir ? await readUserFolder(userDir) : { partials: {} };
  const main = user.main ?? builtIn.main;
  if (!main) throw new RenderError(`render: ${path.join(root, 'templates', MAIN_TEMPLATE)} is missing; is the ipx installation complete?`);
  const partials = { ...builtIn.partials, ...user.partials };
  const overrides = [...(user.main ? [user.main.file] : []), ...Object.values(user.partials).map((p) => p.file)].sort();
  // Built-ins keep their short labels; a user's file is named by its path.
  const templates = compileTemplates({
    main: main.source,
    partials: Object.fromEntries(Object.entries(partials).map(([name, p]) => [name, p.source])),
    origins: {
      ...(user.main ? { main: user.main.file } : {}),
      partials: Object.fromEntries(Object.entries(user.partials).map(([name, p]) => [name, p.file])),
    },
  });
  const errorsDir = path.join(root, 'haproxy', 'errors');
  const assets: RenderAssets = {
    errors: {
      '404': (await read(path.join(errorsDir, '404.json'))) as string,
      '502': (await read(path.join(errorsDir, '502.json'))) as string,
      '503': (await read(path.join(errorsDir, '503.json'))) as string,
      '504': (await read(path.join(errorsDir, '504.json'))) as string,
    },
  };
  return { templates, assets, overrides };
}

async function readUserFolder(dir: string): Promise<TemplateFiles> {
  try {
    await readdir(dir);
  } catch (err) {
    throw new ConfigError(`templates.dir: cannot read ${dir} (${errorMessage(err)}); create it with haproxy.cfg.hbs and/or partials/*.hbs, or leave templates.dir empty`, { cause: err });
  }
  return readTemplateFolder(dir, false);
}

/** `haproxy.cfg.hbs` and `partials/*.hbs` of one folder; in a user's folder either may be absent. */
async function readTemplateFolder(dir: string, required: boolean): Promise<TemplateFiles> {
  const files: TemplateFiles = { partials: {} };
  const mainFile = path.join(dir, MAIN_TEMPLATE);
  const mainSource = await read(mainFile, !required);
  if (mainSource !== undefined) files.main = { source: mainSource, file: mainFile };
  const partialsDir = path.join(dir, 'partials');
  const entries = await readdir(partialsDir).catch((err: unknown) => {
    if (!required && (err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new RenderError(`render: cannot read ${partialsDir} (${errorMessage(err)})`, { cause: err });
  });
  for (const entry of entries.filter((name) => name.endsWith('.hbs')).sort()) {
    const file = path.join(partialsDir, entry);
    files.partials[entry.slice(0, -'.hbs'.length)] = { source: (await read(file)) as string, file };
  }
  return files;
}

async function read(file: string, optional = false): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if (optional && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new RenderError(`render: cannot read ${file} (${errorMessage(err)}); check the file and its permissions`, { cause: err });
  }
}

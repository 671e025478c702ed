import Handlebars from 'handlebars';
import { errorMessage, RenderError } from '../errors.ts';
import { checkTemplate } from './check-template.ts';
import { helpers, type HelperName } from './helpers.ts';
import { registerMemoBlock } from './memo-block.ts';

export interface TemplateSources {
  /** The main template (templates/haproxy.cfg.hbs). */
  readonly main: string;
  /** Partials by the name the main template uses in `{{> name}}`. */
  readonly partials: Readonly<Record<string, string>>;
  /**
   * Where each source came from (a file path), for error messages; by default
   * `main template` and `partial "<name>"`. A user's template folder sets them.
   */
  readonly origins?: { readonly main?: string; readonly partials?: Readonly<Record<string, string>> };
}

/** Compiled and checked templates, ready for `render`. Opaque to callers. */
export interface CompiledTemplates {
  readonly main: (context: object) => string;
}

// noEscape: HTML escaping is the wrong encoder for HAProxy (DESIGN.md invariant 1);
// strict: a misspelled model field throws instead of rendering an empty word.
const COMPILE_OPTIONS = { noEscape: true, strict: true } as const;

/**
 * Pure: parses, checks and compiles the sources on a private Handlebars
 * instance, so that partials and helpers never leak between callers.
 * Throws RenderError naming the template and the reason.
 */
export function compileTemplates(sources: TemplateSources): CompiledTemplates {
  const hb = Handlebars.create();
  const helperNames = Object.keys(helpers) as HelperName[];
  for (const name of helperNames) hb.registerHelper(name, helpers[name]);
  rejectUndefinedInBlocks(hb);
  registerMemoBlock(hb);
  const partialNames = Object.keys(sources.partials).sort();
  for (const name of partialNames) {
    const label = sources.origins?.partials?.[name] ?? `partial "${name}"`;
    const template = compileOne(hb, label, sources.partials[name] as string, helperNames, partialNames);
    hb.registerPartial(name, template);
  }
  return { main: compileOne(hb, sources.origins?.main ?? 'main template', sources.main, helperNames, partialNames) };
}

function compileOne(
  hb: typeof Handlebars,
  label: string,
  source: string,
  helperNames: readonly HelperName[],
  partialNames: readonly string[],
): (context: object, options?: Handlebars.RuntimeOptions) => string {
  let compiled: HandlebarsTemplateDelegate;
  try {
    const ast = hb.parse(source);
    const problems = checkTemplate(ast, helperNames, partialNames);
    if (problems.length > 0) throw new Error(problems.join('; '));
    // compile() is lazy; precompile() runs the compiler now so its errors carry this label.
    hb.precompile(ast, COMPILE_OPTIONS);
    compiled = hb.compile(ast, COMPILE_OPTIONS);
  } catch (err) {
    throw new RenderError(`render: ${label} does not compile: ${oneLine(err)}; fix the template`, { cause: err });
  }
  return (context, options) => {
    try {
      return compiled(context, options);
    } catch (err) {
      // The innermost template names itself; outer ones pass its error on.
      if (err instanceof RenderError) throw err;
      throw new RenderError(`render: ${label} failed: ${oneLine(err)}`, { cause: err });
    }
  };
}

/**
 * `strict` only covers plain `{{path}}` lookups: `{{#each servcies}}` would
 * silently render no backends. The model has no optional fields, so an
 * undefined block argument is always a misspelled path.
 */
function rejectUndefinedInBlocks(hb: typeof Handlebars): void {
  for (const name of ['each', 'if', 'unless', 'with']) {
    const builtin = hb.helpers[name] as (this: unknown, ...args: unknown[]) => unknown;
    hb.registerHelper(name, function (this: unknown, ...args: unknown[]) {
      if (args.length < 2 || args[0] === undefined) throw new Error(`#${name}: its argument is undefined; is the path misspelled?`);
      return builtin.apply(this, args);
    });
  }
}

function oneLine(err: unknown): string {
  return errorMessage(err).replace(/\s*\n\s*/g, ' ').trim();
}

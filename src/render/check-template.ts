import Handlebars from 'handlebars';
import type { HelperName } from './helpers.ts';

/**
 * Static checks on a parsed template, so that mistakes show at compile time
 * with a line number rather than as a subtly wrong configuration:
 * - every `{{…}}` that writes text calls a known encoding helper (a bare
 *   `{{name}}` would write a value no encoder has seen);
 * - every `{{> partial}}` names a partial that exists.
 * Returns the problems found, empty when the template is fine.
 */
export function checkTemplate(ast: hbs.AST.Program, helperNames: readonly HelperName[], partialNames: readonly string[]): string[] {
  const checker = new TemplateChecker(new Set<string>(helperNames), new Set(partialNames));
  checker.accept(ast);
  return checker.problems;
}

class TemplateChecker extends Handlebars.Visitor {
  readonly problems: string[] = [];

  constructor(
    private readonly helpers: ReadonlySet<string>,
    private readonly partials: ReadonlySet<string>,
  ) {
    super();
  }

  override MustacheStatement(mustache: hbs.AST.MustacheStatement): void {
    const path = mustache.path;
    const helper = path.type === 'PathExpression' ? (path as hbs.AST.PathExpression).original : undefined;
    if (helper === undefined || mustache.params.length === 0 || !this.helpers.has(helper)) {
      this.problems.push(
        `line ${mustache.loc.start.line}: {{${helper ?? '…'}}} must call one of the encoding helpers (${[...this.helpers].join(', ')}) with a value`,
      );
    }
    super.MustacheStatement(mustache);
  }

  override PartialStatement(partial: hbs.AST.PartialStatement): void {
    const name = partial.name.type === 'PathExpression' ? partial.name.original : undefined;
    if (name === undefined || !this.partials.has(name)) {
      this.problems.push(`line ${partial.loc.start.line}: partial "${name ?? '(dynamic)'}" does not exist; known: ${[...this.partials].join(', ') || 'none'}`);
    }
    super.PartialStatement(partial);
  }
}

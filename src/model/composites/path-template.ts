/**
 * Path templates: a composite's route (`/views/order/{id}`) and its parts'
 * paths (`/orders/{id}`, `/stock?sku={id}&at={warehouse}`). Pure.
 */
import { PARAM_NAME, PATH_SEGMENT } from '../../config/composites.ts';

export interface RouteTemplate {
  /** Literal segments as they are, parameters as `{name}`. */
  readonly segments: readonly string[];
  readonly params: readonly string[];
  /**
   * The route as a regular expression HAProxy's `path_reg` reads in single
   * quotes: literal segments hold only [A-Za-z0-9._~-] (checked), a dot is
   * written `[.]` so that no backslash is needed, a parameter is `[^/]+`.
   */
  readonly haproxyRegex: string;
}

const PLACEHOLDER = /\{([^{}]*)\}/g;

/** Parses a route path; throws an Error naming what is wrong. */
export function parseRouteTemplate(path: string): RouteTemplate {
  if (!path.startsWith('/')) throw new Error('must start with /');
  const segments = path.slice(1).split('/');
  const params: string[] = [];
  for (const segment of segments) {
    if (!PATH_SEGMENT.test(segment)) throw new Error(`segment ${JSON.stringify(segment)} must be letters, digits, ._~- or one {param}`);
    const param = paramOf(segment);
    if (param === undefined) continue;
    if (params.includes(param)) throw new Error(`parameter {${param}} appears twice`);
    params.push(param);
  }
  const regex = segments.map((segment) => (paramOf(segment) === undefined ? segment.replaceAll('.', '[.]') : '[^/]+')).join('/');
  return { segments, params, haproxyRegex: `^/${regex}$` };
}

/**
 * Checks a part's path against its route: a placeholder in the path itself
 * must be a route parameter (a path segment is never left empty); one in the
 * query may also name a request query parameter (absent: the item is left out).
 */
export function checkPartPath(path: string, routeParams: readonly string[]): void {
  const [pathOnly = '', query] = splitQuery(path);
  for (const name of placeholders(pathOnly)) {
    if (!PARAM_NAME.test(name)) throw new Error(`{${name}} is not a parameter name`);
    if (!routeParams.includes(name)) throw new Error(`{${name}} in the path is not a parameter of the route (${routeParams.map((p) => `{${p}}`).join(', ') || 'none'})`);
  }
  for (const name of placeholders(query ?? '')) if (!PARAM_NAME.test(name)) throw new Error(`{${name}} is not a parameter name`);
  const stray = path.replace(PLACEHOLDER, '');
  if (stray.includes('{') || stray.includes('}')) throw new Error('has an unmatched { or }');
}

/** Route parameters of a request path, or undefined when the path does not match. Values are decoded. */
export function matchRoute(route: RouteTemplate, path: string): Record<string, string> | undefined {
  const segments = path.slice(1).split('/');
  if (!path.startsWith('/') || segments.length !== route.segments.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, pattern] of route.segments.entries()) {
    const actual = segments[i] as string;
    const param = paramOf(pattern);
    if (param === undefined) {
      if (actual !== pattern) return undefined;
      continue;
    }
    if (actual === '') return undefined;
    try {
      params[param] = decodeURIComponent(actual);
    } catch {
      return undefined;
    }
  }
  return params;
}

/**
 * The part's path for one request: placeholders in the path take route
 * parameters, in the query route parameters first, then the request's query.
 * Every value is percent-encoded, so a parameter can never add a segment or a query item.
 */
export function expandPartPath(template: string, params: Readonly<Record<string, string>>, query: URLSearchParams): string {
  const [pathOnly = '', rawQuery] = splitQuery(template);
  const path = pathOnly.replace(PLACEHOLDER, (_, name: string) => encodeURIComponent(params[name] ?? ''));
  if (rawQuery === undefined) return path;
  const items: string[] = [];
  for (const item of rawQuery.split('&')) {
    if (item === '') continue;
    let missing = false;
    const expanded = item.replace(PLACEHOLDER, (_, name: string) => {
      const value = params[name] ?? query.get(name);
      if (value === null || value === undefined) missing = true;
      return encodeURIComponent(value ?? '');
    });
    if (!missing) items.push(expanded);
  }
  return items.length > 0 ? `${path}?${items.join('&')}` : path;
}

/** Whether two routes can match the same path: same length, and no two different literals at one place. */
export function routesOverlap(a: RouteTemplate, b: RouteTemplate): boolean {
  if (a.segments.length !== b.segments.length) return false;
  return a.segments.every((segment, i) => {
    const other = b.segments[i] as string;
    return segment === other || paramOf(segment) !== undefined || paramOf(other) !== undefined;
  });
}

function paramOf(segment: string): string | undefined {
  return segment.startsWith('{') && segment.endsWith('}') ? segment.slice(1, -1) : undefined;
}

function splitQuery(path: string): [string, string | undefined] {
  const at = path.indexOf('?');
  return at < 0 ? [path, undefined] : [path.slice(0, at), path.slice(at + 1)];
}

function placeholders(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((match) => match[1] as string);
}

/**
 * Composite definitions from the config file and from KV
 * `<kvPrefix>composites/<name>` (JSON or YAML; a KV entry replaces the file's
 * definition of the same name). Pure. A bad definition is rejected with its
 * composite, source, key and reason; every other composite still applies.
 */
import { parse as parseYaml } from 'yaml';
import { compositeSchema, COMPOSITE_NAME, PARAM_NAME, type CompositeDefinition } from '../../config/composites.ts';
import { compareStrings } from '../../compare.ts';
import { errorMessage } from '../../errors.ts';
import { quoteForLog } from '../rejections.ts';
import { checkPartPath, parseRouteTemplate, routesOverlap } from './path-template.ts';
import type { CompositeModel, CompositePartModel } from './types.ts';
import type { KvEntry } from '../../consul/snapshot.ts';
import type { Rejection } from '../types.ts';

export interface ParseCompositesInput {
  /** `composites` of the config file, already checked by the config schema. */
  readonly file: Readonly<Record<string, CompositeDefinition>>;
  /** KV entries within limits, full keys. */
  readonly kv: readonly KvEntry[];
  readonly kvPrefix: string;
  readonly domain: string;
  readonly maxParts: number;
}

export interface ParsedComposites {
  readonly routes: readonly CompositeModel[];
  readonly rejections: readonly Rejection[];
}

const NAME_RULE = 'a composite name is lower-case letters, digits and -';

interface Candidate {
  readonly name: string;
  readonly source: string;
  readonly definition: CompositeDefinition;
}

export function parseComposites(input: ParseCompositesInput): ParsedComposites {
  const rejections: Rejection[] = [];
  const reject = (name: string, source: string, reason: string): void => {
    rejections.push({ subject: `composite ${quoteForLog(name)} (${source})`, reason });
  };

  const candidates = new Map<string, Candidate>();
  for (const [name, definition] of Object.entries(input.file)) {
    if (COMPOSITE_NAME.test(name)) candidates.set(name, { name, source: 'config file', definition });
    else reject(name, 'config file', `${NAME_RULE}; rename it under composites`);
  }
  const prefix = `${input.kvPrefix}composites/`;
  for (const entry of input.kv) {
    if (!entry.key.startsWith(prefix)) continue;
    const name = entry.key.slice(prefix.length);
    const source = `KV ${entry.key}`;
    if (!COMPOSITE_NAME.test(name)) {
      reject(name, source, `${NAME_RULE} (one key per composite, no folders); rename the key`);
      continue;
    }
    const parsed = parseKvDefinition(entry.value);
    if (typeof parsed === 'string') {
      // The file's definition of the same name, if any, keeps serving.
      reject(name, source, `${parsed}; ${candidates.has(name) ? "the config file's definition applies instead" : 'the composite is not routed until the value is fixed'}`);
      continue;
    }
    candidates.set(name, { name, source, definition: parsed });
  }

  const routes: CompositeModel[] = [];
  for (const candidate of [...candidates.values()].sort((a, b) => compareStrings(a.name, b.name))) {
    const built = buildComposite(candidate, input);
    if (typeof built === 'string') {
      reject(candidate.name, candidate.source, built);
      continue;
    }
    const clash = routes.find((route) => routesOverlap(route.route, built.route));
    if (clash) {
      reject(candidate.name, candidate.source, `path ${built.path} overlaps composite "${clash.name}" (${clash.path}); the first name in order keeps the route: change one path`);
      continue;
    }
    routes.push(built);
  }
  return { routes, rejections };
}

/** The definition, or why not: `key: reason`. */
function parseKvDefinition(text: string): CompositeDefinition | string {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    return `not JSON or YAML (${errorMessage(err).split('\n')[0]}); store an object like {"path": "/views/x/{id}", "parts": {...}}`;
  }
  const result = compositeSchema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const key = issue?.path.length ? issue.path.join('.') : '(value)';
  return `${key}: ${issue?.message ?? 'invalid'}`;
}

function buildComposite(candidate: Candidate, input: ParseCompositesInput): CompositeModel | string {
  const { name, source, definition } = candidate;
  let route;
  try {
    route = parseRouteTemplate(definition.path);
  } catch (err) {
    return `path: ${errorMessage(err)}`;
  }
  const entries = Object.entries(definition.parts).sort(([a], [b]) => compareStrings(a, b));
  if (entries.length === 0) return 'parts: a composite needs at least one part';
  if (entries.length > input.maxParts) return `parts: ${entries.length} parts, beyond aggregator.maxParts (${input.maxParts}); split the composite or raise aggregator.maxParts`;
  const parts: CompositePartModel[] = [];
  for (const [partName, part] of entries) {
    if (!PARAM_NAME.test(partName)) return `parts.${partName}: a part name is letters, digits and _ (it is a key of the answer)`;
    if (partName === 'parts') return 'parts.parts: "parts" is the name of the report in the answer; name the part otherwise';
    try {
      checkPartPath(part.path, route.params);
    } catch (err) {
      return `parts.${partName}.path: ${errorMessage(err)}`;
    }
    if (part.timeout === 0) return `parts.${partName}.timeout: must be more than 0`;
    parts.push({
      name: partName,
      service: part.service,
      host: `${part.service.toLowerCase()}.${input.domain}`,
      path: part.path,
      timeoutMs: Math.min(part.timeout, definition.deadline),
      required: part.required,
      cacheForMs: part.cacheFor,
    });
  }
  if (definition.deadline === 0) return 'deadline: must be more than 0';
  return { name, source, path: definition.path, route, deadlineMs: definition.deadline, parts };
}

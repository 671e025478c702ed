import { errorMessage, RenderError } from '../errors.ts';
import { quoteSingle } from './haproxy-quote.ts';
import { callerParts, type CallerContext } from './caller-context.ts';
import { frontendParts, type FrontendContext, type FrontendParts } from './frontend-context.ts';
import { hashFiles } from './hash-files.ts';
import { renderTimeoutsMap, TIMEOUTS_MAP } from './timeouts-map.ts';
import { renderHostMap, type HostMap } from './host-map.ts';
import type { CompiledTemplates } from './compile-templates.ts';
import type { CompositesModel, Model } from '../model/index.ts';

/** The main configuration's file name; the runner stages and checks this one. */
export const CONFIG_FILE = 'haproxy.cfg';

/** Static response bodies, read from haproxy/errors/*.json by the caller. */
export interface RenderAssets {
  readonly errors: { readonly '404': string; readonly '502': string; readonly '503': string; readonly '504': string };
}

export interface RenderInput {
  readonly model: Model;
  readonly templates: CompiledTemplates;
  readonly assets: RenderAssets;
}

export interface RenderResult {
  /** File name (relative to the config's directory) → content. */
  readonly files: Record<string, string>;
  /** sha256 over the sorted file names and contents: equal hashes, nothing to apply. */
  readonly hash: string;
}

/** What the templates see. Values are written only through the helpers in helpers.ts. */
export interface TemplateContext {
  readonly global: Model['global'];
  readonly services: Model['services'];
  readonly mapFile: string;
  /** The per-backend server timeout map (render/timeouts-map.ts). */
  readonly timeoutsMap: string;
  /** Path routes, failover and version routing in the frontend. */
  readonly frontend: FrontendContext;
  /** Identity, access and rate-limit rules (caller-*.hbs). */
  readonly caller: CallerContext;
  readonly errors: { readonly notFound: string; readonly upstreamError: string; readonly unavailable: string; readonly upstreamTimeout: string };
  /** Null unless a composite is routed (templates/partials/composites-*.hbs). */
  readonly composites: CompositesContext | null;
}

export interface CompositesContext extends CompositesModel {
  /** HAProxy's server timeout for the aggregator: the longest deadline and a margin for the answer. */
  readonly timeoutMs: number;
}

// The aggregator answers by the deadline itself; the margin only covers writing the answer.
const AGGREGATOR_MARGIN_MS = 1000;

function compositesContext(composites: CompositesModel | undefined): CompositesContext | null {
  if (!composites) return null;
  const timeoutMs = Math.max(...composites.routes.map((route) => route.deadlineMs)) + AGGREGATOR_MARGIN_MS;
  return { ...composites, timeoutMs };
}

/** Pure: the same input renders byte-identical files. Throws RenderError. */
export function render({ model, templates, assets }: RenderInput): RenderResult {
  const hostMap = hostMapOf(model);
  const frontend = frontendOf(model);
  const caller = callerOf(model);
  const context: TemplateContext = {
    global: model.global,
    services: model.services,
    mapFile: hostMap.fileName,
    timeoutsMap: TIMEOUTS_MAP,
    frontend: frontend.context,
    caller: caller.context,
    errors: {
      notFound: errorBody(assets, '404'),
      upstreamError: errorBody(assets, '502'),
      unavailable: errorBody(assets, '503'),
      upstreamTimeout: errorBody(assets, '504'),
    },
    composites: compositesContext(model.composites),
  };
  const files = { [CONFIG_FILE]: templates.main(context), [hostMap.fileName]: hostMap.content, [TIMEOUTS_MAP]: timeoutsOf(model), ...frontend.files, ...caller.files };
  return { files, hash: hashFiles(files) };
}

function frontendOf(model: Model): FrontendParts {
  try {
    return frontendParts(model);
  } catch (err) {
    throw new RenderError(`render: frontend maps: ${errorMessage(err)}; the model should only hold safe values`, { cause: err });
  }
}

function callerOf(model: Model): ReturnType<typeof callerParts> {
  try {
    return callerParts(model);
  } catch (err) {
    throw new RenderError(`render: caller maps: ${errorMessage(err)}; the model should only hold safe values`, { cause: err });
  }
}

function timeoutsOf(model: Model): string {
  try {
    return renderTimeoutsMap(model.services.filter((s) => s.tcp === null));
  } catch (err) {
    throw new RenderError(`render: timeouts map: ${errorMessage(err)}; the model should only hold safe values`, { cause: err });
  }
}

function hostMapOf(model: Model): HostMap {
  try {
    // A TCP service has its own listener; Host routing would send HTTP to it.
    return renderHostMap(model.services.filter((s) => s.tcp === null));
  } catch (err) {
    throw new RenderError(`render: host map: ${errorMessage(err)}; the model should only hold safe values`, { cause: err });
  }
}

/** Checked here so that a bad asset is named; the template's `quote` helper encodes it. */
function errorBody(assets: RenderAssets, status: keyof RenderAssets['errors']): string {
  // A file's final newline is not part of the body (and could not be quoted).
  const body = assets.errors[status]?.trimEnd();
  const fail = (reason: string, cause?: unknown): never => {
    throw new RenderError(`render: error body ${status} (haproxy/errors/${status}.json) ${reason}`, { cause });
  };
  if (body === undefined || body === '') return fail('is missing or empty');
  try {
    JSON.parse(body);
  } catch (err) {
    fail('is not valid JSON; it is served as application/json', err);
  }
  try {
    quoteSingle(body);
  } catch (err) {
    fail(`${errorMessage(err)}; write it on one line`, err);
  }
  return body;
}

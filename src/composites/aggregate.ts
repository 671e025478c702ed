/**
 * One composite request: every part at once, each cut at its timeout and all
 * at the deadline; optional parts fall back to their last good answer while
 * `cacheFor` allows; one JSON answer with a `parts` report.
 */
import { createHash, randomUUID } from 'node:crypto';
import { expandPartPath } from '../model/composites/path-template.ts';
import { callPart, type PartResponse } from './part-client.ts';
import type { PartCache } from './part-cache.ts';
import type { CompositeModel, CompositePartModel } from '../model/composites/types.ts';
import type http from 'node:http';

export interface AggregateContext {
  readonly gateway: { readonly host: string; readonly port: number };
  readonly agent: http.Agent;
  readonly cache: PartCache;
  readonly maxBodyBytes: number;
  /** Lower-cased names of the caller headers passed to every part. */
  readonly forwardHeaders: readonly string[];
}

export interface AggregateRequest {
  readonly composite: CompositeModel;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly headers: http.IncomingHttpHeaders;
}

export interface PartReport {
  readonly status: number;
  readonly durationMs: number;
  readonly stale: boolean;
  /** Why the part has no fresh answer: timeout, unreachable, part_too_large, upstream_status. */
  readonly error?: string;
  /** How old a stale answer is. */
  readonly ageMs?: number;
}

export interface AggregateResult {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Record<string, unknown>;
}

// Trace headers differ per request; only the others say who is calling.
const NOT_IDENTITY = new Set(['x-request-id', 'traceparent', 'tracestate']);
// Passed on from a required part's client error, so the caller learns how to retry or authenticate.
const CLIENT_ERROR_HEADERS = ['www-authenticate', 'retry-after'];

export async function aggregate(ctx: AggregateContext, request: AggregateRequest): Promise<AggregateResult> {
  const { composite } = request;
  const headers = forwarded(request.headers, ctx.forwardHeaders);
  // One ID for the composite and all its parts, so their log lines join up even when the caller sent none.
  headers['x-request-id'] ??= randomUUID();
  const identity = identityOf(headers);
  const deadline = new AbortController();
  const deadlineTimer = setTimeout(() => deadline.abort(), composite.deadlineMs);
  try {
    const outcomes = await Promise.all(
      composite.parts.map(async (part) => {
        const path = expandPartPath(part.path, request.params, request.query);
        const started = performance.now();
        const response = await callPart({
          gateway: ctx.gateway,
          host: part.host,
          path,
          headers: { ...headers, 'x-ipx-composite': composite.name },
          timeoutMs: part.timeoutMs,
          maxBodyBytes: ctx.maxBodyBytes,
          agent: ctx.agent,
          signal: deadline.signal,
        });
        const durationMs = Math.round(performance.now() - started);
        return { part, response, durationMs, cacheKey: JSON.stringify([composite.name, part.name, path, identity]) };
      }),
    );
    const result = merge(ctx, outcomes);
    return { ...result, headers: { ...result.headers, 'x-request-id': headers['x-request-id'] } };
  } finally {
    clearTimeout(deadlineTimer);
  }
}

interface Outcome {
  readonly part: CompositePartModel;
  readonly response: PartResponse;
  readonly durationMs: number;
  readonly cacheKey: string;
}

function merge(ctx: AggregateContext, outcomes: readonly Outcome[]): AggregateResult {
  const body: Record<string, unknown> = {};
  const parts: Record<string, PartReport> = {};
  const now = Date.now();
  let failedRequired: Outcome | undefined;
  for (const outcome of outcomes) {
    const { part, response, durationMs, cacheKey } = outcome;
    if (response.ok) {
      body[part.name] = response.body;
      parts[part.name] = { status: response.status, durationMs, stale: false };
      ctx.cache.set(cacheKey, { status: response.status, body: response.body, at: now }, part.cacheForMs);
      continue;
    }
    // A client error (401, 403, 429…) is about this caller: never cover it with someone's cached answer.
    const cached = part.required || isClientError(response) ? undefined : ctx.cache.get(cacheKey);
    if (cached) {
      body[part.name] = cached.body;
      parts[part.name] = { status: response.status, durationMs, stale: true, error: response.error, ageMs: now - cached.at };
    } else {
      parts[part.name] = { status: response.status, durationMs, stale: false, error: response.error };
      if (part.required) failedRequired ??= outcome;
    }
  }
  if (failedRequired) return requiredFailed(failedRequired, parts);
  return { status: 200, headers: {}, body: { ...body, parts } };
}

/**
 * A required part failed. Its client error is the caller's (bad credentials, over a
 * rate limit, not found): answered as such; anything else is the composite's 502.
 */
function requiredFailed({ part, response }: Outcome, parts: Record<string, PartReport>): AggregateResult {
  if (isClientError(response)) {
    const code = errorCodeOf(response.body) ?? 'upstream_error';
    const headers: Record<string, string> = {};
    for (const name of CLIENT_ERROR_HEADERS) {
      const value = response.headers?.[name];
      if (typeof value === 'string') headers[name] = value;
    }
    return { status: response.status, headers, body: { error: code, message: `required part "${part.name}" (service ${part.service}) answered ${response.status}`, parts } };
  }
  const error = response.ok ? 'upstream_status' : response.error;
  const why = error === 'timeout' ? 'did not answer in time' : error === 'upstream_status' ? `answered ${response.status}` : `failed (${error})`;
  return { status: 502, headers: {}, body: { error: 'upstream_error', message: `required part "${part.name}" (service ${part.service}) ${why}`, parts } };
}

function isClientError(response: PartResponse): boolean {
  return !response.ok && response.error === 'upstream_status' && response.status >= 400 && response.status < 500;
}

function errorCodeOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  const code = (body as { error: unknown }).error;
  return typeof code === 'string' && /^[a-z_]{1,64}$/.test(code) ? code : undefined;
}

function forwarded(incoming: http.IncomingHttpHeaders, names: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of names) {
    const value = incoming[name];
    if (typeof value === 'string') headers[name] = value;
  }
  return headers;
}

/** A digest of the caller's credentials headers: the cache key part that keeps callers apart. */
function identityOf(headers: Readonly<Record<string, string>>): string {
  const entries = Object.entries(headers).filter(([name]) => !NOT_IDENTITY.has(name)).sort(([a], [b]) => (a < b ? -1 : 1));
  return entries.length === 0 ? '' : createHash('sha256').update(JSON.stringify(entries)).digest('hex');
}

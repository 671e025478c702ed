/**
 * Request aggregation (`composites` and `aggregator` in the config file; the same
 * definition schema reads KV `<kvPrefix>composites/<name>`, see src/model/composites/).
 * Kept in its own file so that schema.ts gains two lines, not a section.
 */
import { z } from 'zod';
import { duration } from './duration.ts';

/** A literal path segment, or one `{param}`; nothing HAProxy or a URL would read as syntax. */
export const PATH_SEGMENT = /^([A-Za-z0-9._~-]+|\{[A-Za-z_][A-Za-z0-9_]{0,63}\})$/;
export const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** The grammar service names are routed under (service-names.ts checks the same). */
const SERVICE_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
export const COMPOSITE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

const LISTEN = /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}|\[[0-9a-fA-F:.]+\]):(\d{1,5})$/;

export const compositePartSchema = z
  .strictObject({
    service: z.string().regex(SERVICE_NAME, 'must be a Consul service name routed by ipx, e.g. orders').describe('The service called, through the gateway (Host: <service>.<domain>)'),
    path: z
      .string()
      .max(1024)
      .regex(/^\/[A-Za-z0-9._~\-/{}%]*(\?[A-Za-z0-9._~\-{}=&%]*)?$/, 'must be a path like /orders/{id} or /stock?sku={id}: letters, digits, ._~- / and {param} only')
      .describe('Path (and query) of the part; {param} takes a route parameter, or in the query a request query parameter'),
    timeout: duration('How long this part may take; cut to what is left of the deadline', '1s'),
    required: z.boolean().default(false).describe('Without it the composite answers 502; an optional part is left out (or served stale)'),
    cacheFor: duration('How long the last good response may stand in for a failed or late optional part (0: never)', '0ms'),
  })
  .describe('One part of a composite');

export const compositeSchema = z
  .strictObject({
    path: z
      .string()
      .max(512)
      .refine((path) => path.startsWith('/') && path.slice(1).split('/').every((segment) => PATH_SEGMENT.test(segment)), {
        message: 'must be a path like /views/order/{id}: segments of letters, digits, ._~- or one {param} each',
      })
      .describe('The route, on any gateway host that is not a service host; {param} matches one segment'),
    deadline: duration('The whole answer is due by then: parts still out are cut', '1s'),
    // Part names are checked by the model (src/model/composites/parse.ts): zod words a bad record key only as "Invalid key".
    parts: z
      .record(z.string(), compositePartSchema)
      .describe('Named parts, fetched in parallel'),
  })
  .describe('A composite route: one call, parts fetched in parallel, one merged JSON answer');

export type CompositeInput = z.input<typeof compositeSchema>;
export type CompositeDefinition = z.output<typeof compositeSchema>;

export const compositesSchema = z
  .record(z.string(), compositeSchema)
  .default({})
  .describe('Composite routes by name: lower-case letters, digits and - (KV <kvPrefix>composites/<name> overrides one of the same name)');

export const aggregatorSchema = z
  .strictObject({
    listen: z
      .string()
      .regex(LISTEN, 'must be <ip>:<port> with a literal IP, e.g. 127.0.0.1:8408')
      .default('127.0.0.1:8408')
      .describe('Where the aggregator listens; only HAProxy calls it (composite paths are routed there)'),
    maxParts: z.number().int().min(1).max(64).default(8).describe('Most parts per composite; a composite with more is rejected'),
    maxPartBodyBytes: z.number().int().min(1024).default(1_048_576).describe('Largest part body read, in bytes; a bigger part fails with part_too_large'),
    cacheEntries: z.number().int().min(0).default(10_000).describe('Most part responses kept for cacheFor (least recently used go first)'),
    forwardHeaders: z
      .array(z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'a header name'))
      .default(['authorization', 'x-api-key', 'x-request-id', 'traceparent', 'tracestate', 'cookie'])
      .describe("Caller headers passed to every part, so that each part sees the caller's identity and trace"),
  })
  .prefault({})
  .describe('The composite engine: a small HTTP server ipx runs behind HAProxy');

export type AggregatorConfig = z.output<typeof aggregatorSchema>;

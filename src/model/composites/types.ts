import type { RouteTemplate } from './path-template.ts';

/** What the aggregator and the frontend partial need of the composites: only checked values. */
export interface CompositesModel {
  /** Where HAProxy sends composite paths: `ip:port` as a bind is written. */
  readonly aggregator: string;
  /** Sorted by name. */
  readonly routes: readonly CompositeModel[];
}

export interface CompositeModel {
  readonly name: string;
  /** Where the definition came from: `file` or the KV key. */
  readonly source: string;
  readonly path: string;
  readonly route: RouteTemplate;
  readonly deadlineMs: number;
  /** Sorted by name; the answer's keys follow this order. */
  readonly parts: readonly CompositePartModel[];
}

export interface CompositePartModel {
  readonly name: string;
  readonly service: string;
  /** Lower-cased `<service>.<domain>`: the Host the part is called with. */
  readonly host: string;
  /** Checked by checkPartPath; expanded per request by expandPartPath. */
  readonly path: string;
  readonly timeoutMs: number;
  readonly required: boolean;
  readonly cacheForMs: number;
}

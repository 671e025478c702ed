import { parseComposites } from './parse.ts';
import type { CompositesModel } from './types.ts';
import type { Config } from '../../config/schema.ts';
import type { KvEntry } from '../../consul/snapshot.ts';
import type { Rejection } from '../types.ts';

export interface BuiltComposites {
  /** Undefined when no composite is routed. */
  readonly model: CompositesModel | undefined;
  readonly rejections: readonly Rejection[];
}

/** The model's composites from the config file and KV within limits. Pure. */
export function buildComposites(
  config: Pick<Config, 'routing'> & Partial<Pick<Config, 'aggregator' | 'composites' | 'consul'>>,
  kv: readonly KvEntry[],
): BuiltComposites {
  if (!config.aggregator) return { model: undefined, rejections: [] };
  const { routes, rejections } = parseComposites({
    file: config.composites ?? {},
    kv,
    kvPrefix: config.consul?.kvPrefix ?? 'ipx/',
    domain: config.routing.domain,
    maxParts: config.aggregator.maxParts,
  });
  return { model: routes.length > 0 ? { aggregator: config.aggregator.listen, routes } : undefined, rejections };
}

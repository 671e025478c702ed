import type { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { configSchema, type Config } from './schema.ts';

/** Pure: validates an already-merged input object. `source` names where it came from, for messages. */
export function parseConfig(input: unknown, source = 'config'): Config {
  const result = configSchema.safeParse(input ?? {});
  if (result.success) return result.data;
  throw new ConfigError(`${source}: ${formatIssues(result.error.issues)}`);
}

function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      if (issue.code === 'unrecognized_keys') {
        const keys = issue.keys.map((key) => (path ? `${path}.${key}` : key));
        return `unknown key ${keys.join(', ')}; remove it or check its spelling (see README "Configuration")`;
      }
      return `${path || '(root)'}: ${issue.message}`;
    })
    .join('; ');
}

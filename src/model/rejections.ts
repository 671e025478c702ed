import type { Rejection } from './types.ts';

const MAX_QUOTED = 80;

/**
 * Quotes an untrusted string for a log line: JSON escaping makes newlines and
 * control characters visible, and the cut keeps a 10 kB id from flooding logs.
 */
export function quoteForLog(value: string): string {
  const cut = value.length > MAX_QUOTED ? `${value.slice(0, MAX_QUOTED)}…` : value;
  return JSON.stringify(cut);
}

export function serviceRejection(service: string, reason: string): Rejection {
  return { subject: `service ${quoteForLog(service)}`, reason };
}

export function instanceRejection(service: string, instance: string, node: string, reason: string): Rejection {
  return { subject: `instance ${quoteForLog(instance)} on node ${quoteForLog(node)} of service ${quoteForLog(service)}`, reason };
}

export function kvRejection(key: string, reason: string): Rejection {
  return { subject: `KV key ${quoteForLog(key)}`, reason };
}

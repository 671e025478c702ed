import type { Rejection } from './types.ts';

const MAX_QUOTED = 80;

// JSON leaves DEL, the C1 controls and U+2028/U+2029 raw, yet terminals and log viewers break lines on NEL, U+2028 and U+2029.
const LINE_BREAKERS = /[\u007f-\u009f\u2028\u2029]/g;

/**
 * Quotes an untrusted string for a log line: JSON escaping makes newlines and
 * control characters visible, and the cut keeps a 10 kB id from flooding logs.
 */
export function quoteForLog(value: string): string {
  const cut = value.length > MAX_QUOTED ? `${value.slice(0, MAX_QUOTED)}…` : value;
  return JSON.stringify(cut).replace(LINE_BREAKERS, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
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

/** A rate or quota as HAProxy tracks it: a count over one period. */
export type RateUnit = 's' | 'm' | 'h';
export const UNIT_SECONDS: Readonly<Record<RateUnit, number>> = { s: 1, m: 60, h: 3600 };

export interface Rate {
  readonly count: number;
  readonly unit: RateUnit;
}

const BYTES: Readonly<Record<string, number>> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };

/** `100/s` → { count: 100, unit: 's' }; undefined for anything else (the schema has already checked). */
export function parseRate(text: string | undefined): Rate | undefined {
  const match = text === undefined ? null : /^([1-9]\d{0,8})\/(s|m|h)$/.exec(text);
  return match ? { count: Number(match[1]), unit: match[2] as RateUnit } : undefined;
}

/** `10MB/m` → bytes per minute. HAProxy's counters are 32-bit: the count is capped just under 2^31. */
export function parseByteRate(text: string | undefined): Rate | undefined {
  const match = text === undefined ? null : /^([1-9]\d{0,8})(B|KB|MB|GB)\/(s|m|h)$/.exec(text);
  if (!match) return undefined;
  const count = Math.min(Number(match[1]) * (BYTES[match[2] as string] as number), 2 ** 31 - 1);
  return { count, unit: match[3] as RateUnit };
}

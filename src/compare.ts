/**
 * Code-unit string order. `localeCompare` depends on the ICU data of the
 * Node build, and output must be byte-identical everywhere (DESIGN.md invariant 4).
 */
export function compareStrings(a: string, b: string): number {
  if (a < b) return -1;
  if (a > b) return 1;
  return 0;
}

/** Compares tuples of strings and numbers element by element. */
export function compareTuples(a: readonly (string | number)[], b: readonly (string | number)[]): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i += 1) {
    const x = a[i] as string | number;
    const y = b[i] as string | number;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x < y ? -1 : 1;
    return compareStrings(String(x), String(y));
  }
  return a.length - b.length;
}

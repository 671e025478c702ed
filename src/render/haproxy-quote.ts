/**
 * Encoders for HAProxy's configuration syntax (HAPROXY-2.6.md "Config safety").
 * Pure; they throw a plain Error that the caller wraps with context.
 */

// C0 controls, DEL and C1 controls: a newline would inject lines, and none of
// them can be written inside HAProxy's single quotes.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * A single-quoted HAProxy word. Inside single quotes nothing is interpreted
 * (no `#` comments, no `${VAR}`, no backslashes); a quote itself cannot appear
 * there, so it is closed, written escaped and reopened: `'\''`.
 */
export function quoteSingle(value: string): string {
  const at = value.search(CONTROL);
  if (at >= 0) {
    const code = value.charCodeAt(at).toString(16).padStart(4, '0');
    throw new Error(`contains control character U+${code} at offset ${at}; HAProxy cannot read it inside quotes`);
  }
  return `'${value.replaceAll("'", "'\\''")}'`;
}

import { open, stat } from 'node:fs/promises';
import { parseCheckOutput } from '../check/check-output.ts';

const MAX_READ = 64 * 1024;

/** The log's current size: remember it before a reload to read only what that reload wrote. */
export async function logOffset(path: string | undefined): Promise<number> {
  if (!path) return 0;
  return stat(path).then((info) => info.size, () => 0);
}

/** What HAProxy wrote to its log since `offset` (at most the last 64 KiB of it). */
export async function readLogSince(path: string | undefined, offset: number): Promise<string> {
  if (!path) return '';
  try {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      const start = Math.max(offset > size ? 0 : offset, size - MAX_READ);
      const buffer = Buffer.alloc(size - start);
      await handle.read(buffer, 0, buffer.length, start);
      return buffer.toString('utf8');
    } finally {
      await handle.close();
    }
  } catch {
    return '';
  }
}

/** The `[ALERT]` reasons in a stretch of HAProxy's log, joined for an error message; '' when none. */
export function failureReasons(logText: string, max = 6): string {
  const { alerts } = parseCheckOutput(logText);
  const reasons = alerts.slice(-max);
  return reasons.join('; ');
}

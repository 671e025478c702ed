import { HaproxyRuntimeError } from '../../errors.ts';
import type { AdminCli } from './admin-cli.ts';

const MAP_FILE = /^[A-Za-z0-9][A-Za-z0-9._-]*\.map$/;
/** Map keys and values the caller maps hold: plain words (hashes, `<backend>/<caller>`, IPs, numbers, units). */
/** Entries per `add map` payload: under 7 kB with 64-character hashes and caller names, well within the CLI's buffer (tune.bufsize, 16 kB). */
const BATCH = 50;
const WORD = /^[A-Za-z0-9*][A-Za-z0-9._*/:-]*$/;

/**
 * Replaces a whole map in the running HAProxy atomically: `prepare map`
 * opens a new version, `add map @<version>` fills it, `commit map` swaps it
 * in, so a request sees the old entries or the new ones, never half. Used for
 * the caller maps, whose entries come and go (an API key revoked, a caller
 * leaving an allow list); `set map` only changes existing keys.
 */
export async function replaceMap(admin: AdminCli, map: string, entries: readonly (readonly [string, string])[]): Promise<void> {
  if (!MAP_FILE.test(map)) throw new Error(`replaceMap: ${JSON.stringify(map)} is not a map file name`);
  for (const [key, value] of entries) {
    if (!WORD.test(key) || !WORD.test(value)) throw new Error(`replaceMap: ${JSON.stringify(key)} ${JSON.stringify(value)} is not two plain words`);
  }
  const prepared = await admin.run({ text: `prepare map ${map}`, ok: (answer) => /New version created: \d+/.test(answer) });
  const version = /New version created: (\d+)/.exec(prepared)?.[1];
  if (version === undefined) throw new HaproxyRuntimeError(`haproxy: prepare map ${map} gave no version`);
  // The payload form (`<<`, one entry a line, a blank line ends it) fills the version in a few commands, not one per key.
  for (let at = 0; at < entries.length; at += BATCH) {
    const lines = entries.slice(at, at + BATCH).map(([key, value]) => `${key} ${value}\n`).join('');
    await admin.run({ text: `add map @${version} ${map} <<\n${lines}`, ok: (answer) => answer.trim() === '' });
  }
  await admin.run({ text: `commit map @${version} ${map}`, ok: (answer) => answer.trim() === '' });
}

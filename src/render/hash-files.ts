import { createHash } from 'node:crypto';
import { compareStrings } from '../compare.ts';

/**
 * sha256 over the files sorted by name. Each name and content is prefixed by
 * its byte length, so that no two different file sets hash the same input.
 */
export function hashFiles(files: Readonly<Record<string, string>>): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(files).sort(compareStrings)) {
    const content = files[name] as string;
    hash.update(`${Buffer.byteLength(name)}:${name}\n${Buffer.byteLength(content)}:`);
    hash.update(content, 'utf8');
    hash.update('\n');
  }
  return hash.digest('hex');
}

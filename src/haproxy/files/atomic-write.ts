import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { HaproxyRuntimeError, errorMessage } from '../../errors.ts';

/** Temp files start with this, so a crash's leftovers are recognised and removed. */
export const TEMP_PREFIX = '.ipx-tmp-';

export interface AtomicWriteOptions {
  /** 0o644 by default; 0o600 for secrets (none yet). */
  readonly mode?: number;
}

/**
 * Writes `path` so that a reader sees the old or the new content, never a
 * part: temp file in the same directory (rename is atomic only within one
 * file system), fsync, chmod, rename, then fsync the directory so the rename
 * itself survives a crash.
 */
export async function writeFileAtomic(path: string, content: string, options: AtomicWriteOptions = {}): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `${TEMP_PREFIX}${basename(path)}-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const handle = await open(temp, 'wx', options.mode ?? 0o644);
    try {
      await handle.writeFile(content);
      await handle.sync();
      // open()'s mode is filtered by the umask; chmod makes the mode exact.
      await handle.chmod(options.mode ?? 0o644);
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw writeError(path, err);
  }
  await syncDir(dir);
}

// fs errors name the syscall but not always the file (ENOSPC: "no space left on device, write").
function writeError(path: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  const hint =
    code === 'ENOSPC' ? 'free space on that file system'
    : code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? 'make haproxy.runDir writable for ipx'
    : 'check haproxy.runDir';
  return new HaproxyRuntimeError(`haproxy: cannot write ${path} (${errorMessage(err)}); ${hint}. The previous configuration keeps serving`, { cause: err });
}

/** Renames within one directory and makes the rename durable. */
export async function renameDurable(from: string, to: string): Promise<void> {
  await rename(from, to);
  await syncDir(dirname(to));
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

import { isAbsolute, join } from 'node:path';
import { HaproxyRuntimeError } from '../../errors.ts';
import { MAIN_CONFIG, type RenderedConfig } from '../types.ts';

/** Where everything of one managed HAProxy lives. */
export interface RunDirLayout {
  readonly dir: string;
  /** The live main config HAProxy loads (`-f`). */
  readonly config: string;
  /** The next main config, staged beside the live one so `haproxy -c` sees the same relative files. */
  readonly staged: string;
  readonly pidFile: string;
  /** HAProxy's stderr: `Loading failure!` and `[ALERT]` reasons land here. */
  readonly logFile: string;
  readonly masterSocket: string;
  /** The worker's runtime API; the rendered config puts it here (model/build-model.ts). */
  readonly adminSocket: string;
  /** Written before every (re)load; the rendered config loads it (`server-state-file`). */
  readonly serverStateFile: string;
  /** Copy of the last configuration a reload confirmed, with its extra files. */
  readonly lastGoodDir: string;
}

export const STAGED_NAME = '.haproxy.cfg.next';
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const RESERVED = new Set(['haproxy.pid', 'haproxy.log', 'last-good', 'master.sock', 'admin.sock', 'server-state']);
// Linux sun_path holds 108 bytes including the terminating NUL.
const MAX_SOCKET_PATH = 107;

export function runDirLayout(runDir: string, masterSocket = ''): RunDirLayout {
  if (!isAbsolute(runDir)) {
    throw new HaproxyRuntimeError(`haproxy: runDir '${runDir}' must be an absolute path; the config loader resolves haproxy.runDir, so pass the resolved value`);
  }
  const socket = masterSocket === '' ? join(runDir, 'master.sock') : masterSocket;
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) {
    throw new HaproxyRuntimeError(
      `haproxy: master socket path '${socket}' is longer than ${MAX_SOCKET_PATH} bytes, which a unix socket cannot use; choose a shorter haproxy.runDir or set haproxy.masterSocket`,
    );
  }
  return {
    dir: runDir,
    config: join(runDir, MAIN_CONFIG),
    staged: join(runDir, STAGED_NAME),
    pidFile: join(runDir, 'haproxy.pid'),
    logFile: join(runDir, 'haproxy.log'),
    masterSocket: socket,
    adminSocket: join(runDir, 'admin.sock'),
    serverStateFile: join(runDir, 'server-state'),
    lastGoodDir: join(runDir, 'last-good'),
  };
}

/**
 * Every rendered file must be a plain name in runDir (the config uses
 * `default-path config`), must not shadow ipx's own files, and the main
 * config must be there. Returns the extra (non-main) names, sorted.
 */
export function extraFileNames(rendered: RenderedConfig): string[] {
  const names = Object.keys(rendered.files);
  if (!names.includes(MAIN_CONFIG)) {
    throw new HaproxyRuntimeError(`haproxy: the rendered files have no ${MAIN_CONFIG} (got: ${names.join(', ') || 'none'}); the renderer must emit the main config under that name`);
  }
  for (const name of names) {
    if (!SAFE_NAME.test(name) || RESERVED.has(name) || name.endsWith('.sock')) {
      throw new HaproxyRuntimeError(
        `haproxy: rendered file name '${name}' is not allowed; use a plain name of letters, digits, '.', '_' and '-' that is not one of ipx's own files (${[...RESERVED].join(', ')})`,
      );
    }
  }
  return names.filter((name) => name !== MAIN_CONFIG).sort();
}

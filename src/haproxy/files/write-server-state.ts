import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { errorMessage } from '../../errors.ts';
import { writeFileAtomic } from './atomic-write.ts';
import { serverStateFor } from './server-state-file.ts';
import { EMPTY_SERVER_STATE } from '../runtime/servers-state.ts';
import type { AdminCli } from '../runtime/admin-cli.ts';
import type { Model } from '../../model/types.ts';

export interface WriteServerStateOptions {
  /** The live worker's runtime API; undefined when no HAProxy runs (a start carries no state). */
  readonly admin: AdminCli | undefined;
  /** The model about to be loaded; undefined for a config ipx did not render (no state carried). */
  readonly next: Model | undefined;
  readonly logger: Logger;
}

/**
 * Writes the server state file just before a (re)load: the live state that
 * agrees with the next model, or an empty state. It must exist even empty:
 * a missing file makes `haproxy -c` and every load warn.
 */
export async function writeServerState(path: string, options: WriteServerStateOptions): Promise<void> {
  const { admin, next, logger } = options;
  let content = EMPTY_SERVER_STATE;
  if (admin && next) {
    try {
      const state = serverStateFor((await admin.serversState()).text, next);
      content = state.content;
      if (state.dropped.length > 0) logger.debug({ kept: state.kept, dropped: state.dropped }, 'haproxy: server state left out of the state file');
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'haproxy: could not read the live server state; the reload starts its servers from the config alone');
    }
  }
  // Before a first start runDir may not exist yet (staging creates it after this).
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, content);
}

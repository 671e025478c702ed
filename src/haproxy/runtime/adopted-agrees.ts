import type { Logger } from 'pino';
import { errorMessage } from '../../errors.ts';
import type { Model } from '../../model/types.ts';
import type { AdminCli } from './admin-cli.ts';
import { liveMismatches } from './live-vs-model.ts';

/** For an HAProxy adopted with the right files: whether its servers are what the model says (else it is reloaded). */
export async function adoptedAgrees(admin: Pick<AdminCli, 'serversState'>, model: Model, draining: ReadonlySet<string>, logger: Pick<Logger, 'warn'>): Promise<boolean> {
  try {
    const { state } = await admin.serversState();
    const mismatches = liveMismatches(state.servers, model, draining);
    if (mismatches.length > 0) logger.warn({ mismatches: mismatches.slice(0, 10) }, 'haproxy: the adopted HAProxy\'s servers disagree with the model; reloading');
    return mismatches.length === 0;
  } catch (err) {
    logger.warn({ err: errorMessage(err) }, 'haproxy: could not compare the adopted HAProxy with the model; reloading');
    return false;
  }
}

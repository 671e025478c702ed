import { watch, type FSWatcher } from 'chokidar';
import { errorMessage } from '../errors.ts';
import type { Config } from '../config/index.ts';
import type { Logger } from '../log.ts';
import type { RenderKit } from '../runner/assets.ts';

export interface LiveReloadOptions {
  /** Reads the config file (with env and flags) and the templates again; throws when either is invalid. */
  readonly load: () => Promise<{ readonly config: Config; readonly kit: RenderKit }>;
  /** Takes them into the running watch; throws (and changes nothing) when they are refused. */
  readonly apply: (config: Config, kit: RenderKit) => Promise<void>;
  /** The config file, when there is one; watched with the templates folder. */
  readonly configFile: string | undefined;
  readonly templatesDir: string;
  readonly logger: Logger;
  /** Quiet time after the last file event before reloading (editors write in several steps). */
  readonly settleMs?: number;
}

export interface LiveReload {
  /** Reload now (SIGHUP). Resolves when this reload, or the one it joined, is done. */
  trigger(reason: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * SIGHUP and edits to the config file or the template folder re-read both
 * and apply them through the usual path (runtime API or seamless reload).
 * One reload at a time, at most one queued. A refused reload is logged with
 * its reason and the running configuration stays.
 */
export function startLiveReload(options: LiveReloadOptions): LiveReload {
  const { logger } = options;
  let chain: Promise<void> = Promise.resolve();
  let queued = false;
  let settleTimer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  let watchedDir = '';

  const reloadOnce = async (reason: string): Promise<void> => {
    try {
      const { config, kit } = await options.load();
      await options.apply(config, kit);
      if (config.templates.dir !== watchedDir) watchFiles(config.templates.dir);
      logger.info({ trigger: reason, templates: kit.overrides ?? [] }, `config reloaded (${reason}); applying it`);
    } catch (err) {
      // The reason is the message itself; a field repeating it would double every such line.
      logger.error({ trigger: reason }, `config reload refused (${reason}): ${errorMessage(err)}; the running configuration stays`);
    }
  };

  const trigger = (reason: string): Promise<void> => {
    // A reload already queued reads the files when it starts, so it covers this one too.
    if (queued) return chain;
    queued = true;
    chain = chain.then(() => {
      queued = false;
      return reloadOnce(reason);
    });
    return chain;
  };

  function watchFiles(templatesDir: string): void {
    void watcher?.close();
    watchedDir = templatesDir;
    const paths = [options.configFile, templatesDir].filter((p): p is string => Boolean(p));
    if (paths.length === 0) return;
    watcher = watch(paths, { ignoreInitial: true });
    watcher.on('all', (event, file) => {
      clearTimeout(settleTimer);
      settleTimer = setTimeout(() => void trigger(`${event} ${file}`), options.settleMs ?? 200);
    });
    watcher.on('error', (err) => logger.warn({ err: errorMessage(err) }, 'config watch: cannot watch a file; SIGHUP still reloads'));
  }

  watchFiles(options.templatesDir);
  return {
    trigger,
    close: async () => {
      clearTimeout(settleTimer);
      await watcher?.close();
      await chain;
    },
  };
}

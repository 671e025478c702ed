import type { Command } from 'commander';
import { startDaemon } from '../../daemon/daemon.ts';
import { startLiveReload } from '../../daemon/live-reload.ts';
import { waitForStopSignal } from '../../daemon/signals.ts';
import { createHaproxyManager, dryRunCheck } from '../../haproxy/index.ts';
import { createLogger, isHumanFormat } from '../../log.ts';
import { loadRenderKit } from '../../runner/assets.ts';
import { loadFromFlags, withConfigOptions, type ConfigFlags } from '../load-options.ts';
import type { CliIo } from '../io.ts';

/**
 * `ipx watch`: the daemon. Runs until SIGINT/SIGTERM, then stops cleanly (and
 * stops HAProxy when it manages it). SIGHUP, or an edit to the config file or
 * the template folder, re-reads both and applies them without dropping traffic.
 */
export function watchCommand(program: Command, io: CliIo): void {
  withConfigOptions(program.command('watch'))
    .description('Watch Consul and keep HAProxy configured (the daemon); SIGHUP re-reads the config and templates; SIGTERM stops it cleanly')
    .action(async (flags: ConfigFlags) => {
      const { config, file } = await loadFromFlags(flags, io, { discover: false });
      const logger = createLogger(config.log.level, io.stderr, config.log.format);
      logger.info({ config: file ?? 'defaults' }, 'ipx starting');
      const kit = await loadRenderKit(undefined, config.templates.dir);
      if (kit.overrides?.length) logger.info({ templates: kit.overrides }, 'using your templates in place of the built-ins of the same name');
      const applier = createHaproxyManager({ config: config.haproxy, listen: config.listen, logger });
      const daemon = await startDaemon({
        config,
        logger,
        applier,
        kit,
        ...(isHumanFormat(config.log.format, io.stderr) ? { progress: io.stderr } : {}),
        checkRendered: (rendered, next) => dryRunCheck(rendered, next.haproxy.binary),
      });
      const live = startLiveReload({
        load: async () => {
          const { config: next } = await loadFromFlags(flags, io, { discover: false });
          return { config: next, kit: await loadRenderKit(undefined, next.templates.dir) };
        },
        apply: (next, nextKit) => daemon.reconfigure(next, nextKit),
        configFile: file,
        templatesDir: config.templates.dir,
        logger,
      });
      const onHup = () => void live.trigger('SIGHUP');
      process.on('SIGHUP', onHup);
      const signal = await waitForStopSignal();
      logger.info({ signal }, 'stopping');
      process.off('SIGHUP', onHup);
      await live.close();
      await daemon.stop();
    });
}

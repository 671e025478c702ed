import type { Command } from 'commander';
import { startDaemon } from '../../daemon/daemon.ts';
import { waitForStopSignal } from '../../daemon/signals.ts';
import { createHaproxyManager } from '../../haproxy/index.ts';
import { createLogger } from '../../log.ts';
import { loadFromFlags, withConfigOptions, type ConfigFlags } from '../load-options.ts';
import type { CliIo } from '../io.ts';

/** `ipx watch`: the daemon. Runs until SIGINT/SIGTERM, then stops cleanly (and stops HAProxy when it manages it). */
export function watchCommand(program: Command, io: CliIo): void {
  withConfigOptions(program.command('watch'))
    .description('Watch Consul and keep HAProxy configured (the daemon); SIGTERM stops it cleanly')
    .action(async (flags: ConfigFlags) => {
      const { config, file } = await loadFromFlags(flags, io, { discover: false });
      const logger = createLogger(config.log.level, io.stderr, config.log.format);
      logger.info({ config: file ?? 'defaults' }, 'ipx starting');
      const applier = createHaproxyManager({ config: config.haproxy, listen: config.listen, logger });
      const daemon = await startDaemon({ config, logger, applier });
      const signal = await waitForStopSignal();
      logger.info({ signal }, 'stopping');
      await daemon.stop();
    });
}

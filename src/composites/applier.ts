/**
 * Composites in the apply path: an Applier that hands every applied model's
 * composites to the aggregator before HAProxy routes to them. The aggregator
 * is started on the first model with a composite, so a gateway without any
 * runs no extra process.
 */
import { AggregatorSupervisor } from './supervisor.ts';
import { errorMessage } from '../errors.ts';
import type { Config } from '../config/index.ts';
import type { Applier } from '../daemon/apply-loop.ts';
import type { Logger } from '../log.ts';
import type { Model } from '../model/index.ts';
import type { StateMessage } from './messages.ts';

export interface CompositesApplier extends Applier {
  /** The aggregator process, while it runs. */
  aggregatorPid(): number | undefined;
}

/** `config` is read at each apply: a config reload may move listen.http, the gateway the parts are called through. */
export function withComposites(inner: Applier, config: () => Pick<Config, 'aggregator' | 'listen'>, logger: Logger): CompositesApplier {
  const supervisor = new AggregatorSupervisor(logger);
  let started = false;
  return {
    async apply(input) {
      const routes = input.model?.composites?.routes ?? [];
      if (input.model && (routes.length > 0 || started)) {
        started = true;
        // A failing aggregator costs the composite routes only (HAProxy answers them 503): every other change still applies.
        await supervisor
          .update(stateMessage(config(), input.model))
          .catch((err: unknown) => logger.error({ err: errorMessage(err) }, 'composites: the aggregator did not take the new routes; composite paths answer 503 until it does'));
      }
      return inner.apply(input);
    },
    async stop() {
      await supervisor.stop();
      await inner.stop();
    },
    status: () => inner.status(),
    lastGood: () => inner.lastGood(),
    liveServers: async () => inner.liveServers?.(),
    onBackgroundFailure: (listener) => inner.onBackgroundFailure?.(listener),
    settled: async () => inner.settled?.(),
    clearMap: async (map) => inner.clearMap?.(map),
    aggregatorPid: () => supervisor.pid,
  };
}

export function stateMessage(config: Pick<Config, 'aggregator' | 'listen'>, model: Model): StateMessage {
  const { aggregator } = config;
  return {
    type: 'state',
    listen: aggregator.listen,
    state: {
      settings: {
        gateway: config.listen.http,
        maxPartBodyBytes: aggregator.maxPartBodyBytes,
        cacheEntries: aggregator.cacheEntries,
        forwardHeaders: aggregator.forwardHeaders,
      },
      routes: model.composites?.routes ?? [],
    },
  };
}

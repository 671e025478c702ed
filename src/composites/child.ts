/**
 * Entry of the aggregator process (forked by supervisor.ts). A process of its
 * own, so that a crash or a CPU-bound moment of the aggregator never reaches
 * the watch loop; HAProxy keeps serving every other path either way.
 */
import { startAggregatorServer, type AggregatorServer } from './server.ts';
import type { ReplyMessage, StateMessage } from './messages.ts';

let server: AggregatorServer | undefined;
let listening = '';

const reply = (message: ReplyMessage): void => {
  process.send?.(message);
};

// Updates apply in order: a listen change closes the old server before the next message is read.
let queue = Promise.resolve();
process.on('message', (message: StateMessage) => {
  queue = queue.then(async () => {
    try {
      if (server && listening !== message.listen) {
        await server.close();
        server = undefined;
      }
      if (server) server.update(message.state);
      else {
        server = await startAggregatorServer(message.listen, message.state);
        listening = message.listen;
      }
      reply({ type: 'ready', address: server.address });
    } catch (err) {
      reply({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
    }
  });
});

// The parent is gone (stopped or crashed): nothing would update the routes any more.
process.on('disconnect', () => process.exit(0));

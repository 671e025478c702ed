import type { AggregatorState } from './server.ts';

/** Parent → aggregator process: the whole state, on every applied model. */
export interface StateMessage {
  readonly type: 'state';
  readonly listen: string;
  readonly state: AggregatorState;
}

/** Aggregator process → parent: answer to each StateMessage. */
export type ReplyMessage = { readonly type: 'ready'; readonly address: string } | { readonly type: 'failed'; readonly message: string };

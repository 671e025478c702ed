/**
 * Request aggregation: composite routes answered by an aggregator process
 * behind HAProxy, each part called back through HAProxy's own frontend.
 *
 * Why a node process and not HAProxy Lua (`core.httpclient`, one task per
 * part, polling): measured with `npm run bench:composite` on the same HAProxy,
 * the aggregator adds 1-2 ms over the slowest part (Lua: 4-5 ms, from its 5 ms polling);
 * it cuts a hung part at its timeout, where a running httpclient call cannot
 * be cancelled (a 100 ms timeout held the answer ~400 ms); and its crash costs
 * composite routes a moment of 503 while every other route carries on, where a
 * Lua or httpclient crash is a crash of the worker carrying all traffic. Lua
 * costs less CPU per composite request (0.25-0.34 ms against 0.32-0.52 ms): the price of that isolation.
 */
export { stateMessage, withComposites, type CompositesApplier } from './applier.ts';
export { AggregatorSupervisor, AggregatorError } from './supervisor.ts';
export { startAggregatorServer, type AggregatorServer, type AggregatorSettings, type AggregatorState } from './server.ts';

export { stateMessage, withComposites, type CompositesApplier } from './applier.ts';
export { AggregatorSupervisor, AggregatorError } from './supervisor.ts';
export { startAggregatorServer, type AggregatorServer, type AggregatorSettings, type AggregatorState } from './server.ts';

/** The consul stage: the only part of ipx that talks to Consul. */
export type { Snapshot, ServiceEntry, InstanceEntry, KvEntry, HealthStatus } from './snapshot.ts';
export { EMPTY_SNAPSHOT } from './snapshot.ts';
export {
  createConsulClient,
  type ConsulClient,
  type ReadOptions,
  type ReadResult,
  type CheckStatus,
  type AgentServiceRegistration,
} from './client.ts';
export {
  catalogServicesQuery,
  healthServiceQuery,
  kvPrefixQuery,
  type Query,
  type QueryResult,
  type FetchOptions,
} from './query.ts';
export {
  runBlockingView,
  nextIndex,
  backoffDelay,
  pacingDelay,
  requestTimeout,
  DEFAULT_VIEW_TIMING,
  type BlockingViewOptions,
  type IndexDecision,
  type ViewTiming,
  type ViewEffects,
} from './blocking-view.ts';
export {
  createWatcher,
  type ConsulWatcher,
  type WatcherOptions,
  type WatcherState,
  type WatcherErrorInfo,
  type WatcherLogger,
} from './watcher.ts';
export { readSnapshot, type ReadSnapshotOptions } from './read-once.ts';
export {
  registerService,
  deregisterService,
  updateCheck,
  serviceCheckId,
  type ServiceRegistration,
  type ServiceCheck,
} from './register.ts';
export { findConsulBinary, startDevAgent, type DevAgent, type DevAgentOptions } from './dev-agent.ts';
export { spawnAgent, waitForLeader, type AgentProcess } from './agent-process.ts';
export { assembleSnapshot, chooseWatched, watchedServices, type WatchLimits } from './assemble.ts';

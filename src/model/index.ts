export type { GlobalModel, Model, Rejection, ServerModel, ServerState, ServiceModel } from './types.ts';
export type { CompositeModel, CompositePartModel, CompositesModel } from './composites/index.ts';
export { buildModel, type BuildModelInput } from './build-model.ts';
export { createModelMemo, type ModelMemo } from './model-memo.ts';
export { changedGlobalKeys, diffModel, isEmptyDiff, type ModelDiff } from './diff-model.ts';
export { SAFE_NAME, backendName, safeName, serverNames, shortHash } from './identifiers.ts';
export { ipKey, parseIpLiteral, type IpLiteral } from './ip-literal.ts';
export { POLICY_LAYERS, type EffectivePolicy, type PolicyLayer, type PolicyOrigins } from './policy/index.ts';

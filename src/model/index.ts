export type { GlobalModel, Model, Rejection, ServerModel, ServiceModel } from './types.ts';
export { buildModel, type BuildModelInput } from './build-model.ts';
export { diffModel, isEmptyDiff, type ModelDiff } from './diff-model.ts';
export { SAFE_NAME, backendName, safeName, serverNames, shortHash } from './identifiers.ts';
export { parseIpLiteral, type IpLiteral } from './ip-literal.ts';

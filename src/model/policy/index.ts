export { POLICY_LAYERS, parseLayer, type ParsedLayer, type PolicyIssue, type PolicyLayer } from './parse-layer.ts';
export { flattenPolicy, mergeLayers, type EffectivePolicy, type MergedPolicy, type PolicyOrigins } from './merge.ts';
export { META_KEYS, META_KEY_TARGETS, chooseValue, metaDocument } from './meta.ts';
export { builtInPolicy, prepareSharedLayers, resolveServicePolicy, type PolicyConfig, type PolicyInput, type ResolvedPolicy, type SharedLayers } from './resolve.ts';
export { policySchema, type PolicyDocument, type PolicyDocumentInput } from './schema.ts';
export { layerSource, policyRows, type PolicyRow } from './explain-policy.ts';
export { backendSettings, type BackendSettings } from './backend-settings.ts';

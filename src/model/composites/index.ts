export type { CompositeModel, CompositePartModel, CompositesModel } from './types.ts';
export { parseComposites, type ParseCompositesInput, type ParsedComposites } from './parse.ts';
export { expandPartPath, matchRoute, parseRouteTemplate, routesOverlap, type RouteTemplate } from './path-template.ts';

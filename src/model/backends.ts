import type { Model, ServerModel, ServiceModel } from './types.ts';

/** A backend ipx renders with servers: a service's own, or one of its version backends. */
export interface ServerBackend {
  readonly backend: string;
  readonly servers: readonly ServerModel[];
  /** The policy keywords of every server line and `add server` (settings.serverKeywords). */
  readonly keywords: string;
}

/** The service's backend, then its version backends in label order. */
export function serviceBackends(service: ServiceModel): ServerBackend[] {
  const keywords = service.settings.serverKeywords;
  return [
    { backend: service.backend, servers: service.servers, keywords },
    ...service.versions.backends.map((v) => ({ backend: v.backend, servers: v.servers, keywords })),
  ];
}

/** Every backend with servers in the model. */
export function modelBackends(model: Model): ServerBackend[] {
  return model.services.flatMap(serviceBackends);
}

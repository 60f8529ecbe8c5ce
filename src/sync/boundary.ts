// What a replica's tunnel may reach when it does not lead. The leader's boundary is what its outbox sent (see
// Outbox.exposedRoutes); a standby sends nothing, so it derives the same routes from its own caches of the
// GatewayRoutes and of what resolves their backends (Services, ReferenceGrants), with the same translation.
// It cannot know which routes the control plane rejected; the gateway never routes to those, and an explicit
// target naming one still names a backend that a GatewayRoute of this cluster asked to expose.
import type { GatewayRoute } from '../api/v1alpha1/types.js';
import type { ExposedRoute } from '../controlplane/protocol.js';
import type { BackendContext } from '../gatewayroute/backends.js';
import type { Informer, KubeObject } from '../operator/informer.js';
import { toWireGatewayRoute } from './wire.js';

export function exposedRoutesOf(routes: Iterable<GatewayRoute>, backends: BackendContext): ExposedRoute[] {
  const exposed: ExposedRoute[] = [];
  for (const route of routes) {
    const { gatewayRoute } = toWireGatewayRoute(route, backends);
    for (const wire of gatewayRoute.routes) exposed.push({ ...wire, namespace: wire.service_namespace ?? gatewayRoute.namespace });
  }
  return exposed;
}

/** exposedRoutesOf the caches, rebuilt only after a GatewayRoute's spec or a backend-resolving object changed. */
export class CachedBoundary {
  private cache?: ExposedRoute[];

  constructor(
    private readonly gatewayRoutes: Informer<GatewayRoute>,
    private readonly backends: BackendContext,
    resolvers: ReadonlyArray<Informer<KubeObject>>,
  ) {
    // Status writes (every Synced change) leave the boundary as it is.
    gatewayRoutes.onChange((route, previous, deleted) => {
      if (deleted || !previous || route.metadata.generation !== previous.metadata.generation) this.cache = undefined;
    });
    for (const informer of resolvers) informer.onChange(() => (this.cache = undefined));
  }

  exposedRoutes(): ExposedRoute[] {
    this.cache ??= exposedRoutesOf(this.gatewayRoutes.list(), this.backends);
    return this.cache;
  }
}

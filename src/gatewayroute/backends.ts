// How a GatewayRoute's backends resolve, in one place for every reader: the source controllers'
// ResolvedRefs, the sync controller's wire translation and hand-written GatewayRoutes' ResolvedRefs all
// ask the same BackendResolver (one per manager), so a backend is never usable for one and not the other.
import type { GatewayRouteCondition } from '../api/v1alpha1/reasons.js';
import type { RouteSpec } from '../api/v1alpha1/types.js';
import { resolveBackendPort, type PortResolution, type ServiceLike } from '../routing/backends.js';

export type ServiceLookup = (namespace: string, name: string) => ServiceLike | undefined;

/** A ServiceLookup over a cache keyed "namespace/name" (the Services informer). */
export function lookupIn(services: { get(key: string): ServiceLike | undefined }): ServiceLookup {
  return (namespace, name) => services.get(`${namespace}/${name}`);
}

/**
 * Whether GatewayRoutes (and HTTPRoutes) of `from` may use Service `service` of namespace `to`: a
 * ReferenceGrant in `to` decides, never who a GatewayRoute says it is owned by (a tenant writes that too).
 */
export type CrossNamespacePolicy = (from: string, to: string, service: string) => boolean;

/** No ReferenceGrants to read (the Gateway API is not installed): no backend in another namespace. */
export const NO_CROSS_NAMESPACE: CrossNamespacePolicy = () => false;

/** How backends are looked up and which namespaces a GatewayRoute may reach: what every resolution needs. */
export interface BackendContext {
  readonly service: ServiceLookup;
  readonly crossNamespace: CrossNamespacePolicy;
}

/** The one BackendContext of a running operator: Services from the cache; cross-namespace once grants are read. */
export class BackendResolver implements BackendContext {
  private policy: CrossNamespacePolicy = NO_CROSS_NAMESPACE;

  constructor(readonly service: ServiceLookup) {}

  get crossNamespace(): CrossNamespacePolicy {
    return this.policy;
  }

  /** ReferenceGrants are watched (the Gateway API is installed): they decide from now on. */
  permitCrossNamespace(policy: CrossNamespacePolicy): void {
    this.policy = policy;
  }
}

/**
 * A route's backend port through its Service: in the GatewayRoute's `namespace`, or the one backend.namespace
 * names (shown as namespace/name in messages then) when a ReferenceGrant there allows it.
 */
export function resolveRouteBackend(route: RouteSpec, namespace: string, { service, crossNamespace }: BackendContext): PortResolution {
  const backendNamespace = route.backend.namespace ?? namespace;
  const name = route.backend.service;
  if (backendNamespace !== namespace && !crossNamespace(namespace, backendNamespace, name)) {
    return { ok: false, reason: 'RefNotPermitted', message: `no ReferenceGrant in namespace ${backendNamespace} allows routes from ${namespace} to use Service ${name}`, refused: true };
  }
  const shown = backendNamespace === namespace ? name : `${backendNamespace}/${name}`;
  return resolveBackendPort(service(backendNamespace, name), shown, route.backend.port);
}

/** ResolvedRefs: every backend Service exists, may be used, and has the referenced port. */
export function resolvedRefsCondition(routes: readonly RouteSpec[], namespace: string, backends: BackendContext): GatewayRouteCondition<'ResolvedRefs'> {
  type Failure = Extract<PortResolution, { ok: false }>;
  const problems = new Map<string, Failure['reason']>(); // message -> reason, deduplicated
  for (const route of routes) {
    const result = resolveRouteBackend(route, namespace, backends);
    if (!result.ok && !problems.has(result.message)) problems.set(result.message, result.reason);
  }
  if (problems.size === 0) {
    return { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: 'all backend Services and ports exist' };
  }
  const [firstMessage, firstReason] = [...problems.entries()][0] as [string, Failure['reason']];
  const more = problems.size > 1 ? ` (and ${problems.size - 1} more: ${[...problems.keys()].slice(1, 5).join('; ')})` : '';
  return { type: 'ResolvedRefs', status: 'False', reason: firstReason, message: `${firstMessage}${more}` };
}

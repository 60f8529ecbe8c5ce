// How a GatewayRoute's backends resolve, in one place for every reader: the source controllers'
// ResolvedRefs, the sync controller's wire translation and hand-written GatewayRoutes' ResolvedRefs all
// ask the same BackendResolver (one per manager), so a backend is never usable for one and not the other.
import { listWithin } from '../api/v1alpha1/conditions.js';
import type { GatewayRouteCondition } from '../api/v1alpha1/reasons.js';
import type { RouteSpec } from '../api/v1alpha1/types.js';
import type { TransportChoice } from '../routing/backend-transport.js';
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

/** A resolved backend: its Service (in `namespace`) and the port number the route's port resolved to. */
export interface ResolvedBackend {
  namespace: string;
  service: string;
  port: number;
}

/** How the tunnel would dial a route (of a GatewayRoute in `gatewayRouteNamespace`) to its resolved backend (routing/backend-transport.ts), for ResolvedRefs. */
export type TransportChooser = (route: RouteSpec, backend: ResolvedBackend, gatewayRouteNamespace: string) => TransportChoice;

/** How backends are looked up and which namespaces a GatewayRoute may reach: what every resolution needs. */
export interface BackendContext {
  readonly service: ServiceLookup;
  readonly crossNamespace: CrossNamespacePolicy;
  /** How resolved backends are dialled; without it (the preview command) ResolvedRefs does not say. */
  readonly transport?: TransportChooser;
}

/** The one BackendContext of a running operator: Services from the cache; cross-namespace once grants are read. */
export class BackendResolver implements BackendContext {
  private policy: CrossNamespacePolicy = NO_CROSS_NAMESPACE;

  constructor(
    readonly service: ServiceLookup,
    readonly transport?: TransportChooser,
  ) {}

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
  return resolveBackendPort(service(backendNamespace, name), shownService(route, namespace), route.backend.port);
}

/** The backend Service as messages name it: its name, or namespace/name when in another namespace. */
function shownService(route: RouteSpec, namespace: string): string {
  const backendNamespace = route.backend.namespace ?? namespace;
  return backendNamespace === namespace ? route.backend.service : `${backendNamespace}/${route.backend.service}`;
}

/** Room for the list of how backends are dialled in ResolvedRefs' message, and for each entry of it. */
const DIALLED_BUDGET = 2048;
const DIALLED_ENTRY_CHARS = 300;
/** Room for the names of the backends whose certificate is not verified (their count is always said). */
const UNVERIFIED_BUDGET = 1024;

/**
 * ResolvedRefs: every backend Service exists, may be used, and has the referenced port, and no BackendTLSPolicy
 * for it is unusable (InvalidBackendTLSPolicy: such a route is still sent, and the tunnel answers its requests
 * with a 5xx naming the policy, as the Gateway API asks). The True message names every backend not dialled as
 * plain HTTP/1.1, and why (the explanation of routing/backend-transport.ts); those whose certificate is not
 * verified first, and counted before the list so that a long list never hides them.
 */
export function resolvedRefsCondition(routes: readonly RouteSpec[], namespace: string, backends: BackendContext): GatewayRouteCondition<'ResolvedRefs'> {
  type Reason = Extract<GatewayRouteCondition<'ResolvedRefs'>, { status: 'False' }>['reason'];
  const problems = new Map<string, Reason>(); // message -> reason, deduplicated
  const dialled = new Set<string>();
  // Backends whose certificate is not checked: listed first, and counted in a clause that is never cut.
  const unverified = new Set<string>();
  const unverifiedEntries = new Set<string>();
  for (const route of routes) {
    const result = resolveRouteBackend(route, namespace, backends);
    if (!result.ok) {
      if (!problems.has(result.message)) problems.set(result.message, result.reason);
      continue;
    }
    const choice = backends.transport?.(route, { namespace: route.backend.namespace ?? namespace, service: route.backend.service, port: result.port }, namespace);
    const backend = `${shownService(route, namespace)}:${result.port}`;
    if (choice && !choice.ok) {
      const message = `${backend}: ${choice.error}; the tunnel refuses this backend`;
      if (!problems.has(message)) problems.set(message, 'InvalidBackendTLSPolicy');
    } else if (choice && choice.explanation !== 'HTTP') {
      const entry = `${backend} ${choice.explanation}`;
      if (choice.transport.tls?.verify === false) {
        unverified.add(backend);
        unverifiedEntries.add(entry);
      } else dialled.add(entry);
    }
  }
  if (problems.size === 0) {
    const notVerified = unverified.size ? `; ${unverified.size} backend(s) NOT verified: ${listWithin([...unverified], UNVERIFIED_BUDGET, DIALLED_ENTRY_CHARS)}` : '';
    const entries = [...unverifiedEntries, ...dialled];
    const how = entries.length ? `; dialled as: ${listWithin(entries, DIALLED_BUDGET, DIALLED_ENTRY_CHARS)}` : '';
    return { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: `all backend Services and ports exist${notVerified}${how}` };
  }
  const [firstMessage, firstReason] = [...problems.entries()][0] as [string, Reason];
  const more = problems.size > 1 ? ` (and ${problems.size - 1} more: ${[...problems.keys()].slice(1, 5).join('; ')})` : '';
  return { type: 'ResolvedRefs', status: 'False', reason: firstReason, message: `${firstMessage}${more}` };
}

// GatewayRoute helpers shared by every feature that writes GatewayRoutes (Ingress, HTTPRoute) and by the
// sync controller: the object reference, who owns one, and the status pieces computed the same way for all.
import type { CustomObjectRef } from '../../operator/apply.js';
import { resolveBackendPort, type PortResolution, type ServiceLike } from '../../routing/backends.js';
import type { ConditionInput } from './conditions.js';
import { GATEWAY_ROUTE, GROUP, VERSION, type GatewayRoute, type OwnerReference, type RouteSpec } from './types.js';

/** What identifies a route within a GatewayRoute and among all of them: host, path type and path. */
export function routeIdentity(route: Pick<RouteSpec, 'host' | 'path' | 'pathType'>): string {
  return `${route.host ?? ''} ${route.pathType} ${route.path}`;
}

/** The field manager of GatewayRoute specs (metadata and spec), whichever feature writes them. */
export const SPEC_FIELD_MANAGER = 'gateway-operator';

export function gatewayRouteRef(namespace: string, name: string): CustomObjectRef {
  return { group: GROUP, version: VERSION, plural: GATEWAY_ROUTE.plural, kind: GATEWAY_ROUTE.kind, namespace, name };
}

/** The kinds a GatewayRoute is translated from, by the apiVersion group of the owner. */
const SOURCE_GROUPS: Readonly<Record<string, string>> = { Ingress: 'networking.k8s.io', HTTPRoute: 'gateway.networking.k8s.io' };

/** The object (Ingress or HTTPRoute) that controls this GatewayRoute; hand-written ones have none. */
export function sourceOwner(route: GatewayRoute, kind?: keyof typeof SOURCE_GROUPS): OwnerReference | undefined {
  return route.metadata.ownerReferences?.find(
    (o) => o.controller && (kind === undefined || o.kind === kind) && SOURCE_GROUPS[o.kind] !== undefined && o.apiVersion.startsWith(`${SOURCE_GROUPS[o.kind]}/`),
  );
}

/** User annotations only: kubectl's bookkeeping (last-applied-configuration, …) is never forwarded. */
export function userAnnotations(annotations: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(annotations ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    if (!key.startsWith('kubectl.kubernetes.io/')) out[key] = value;
  }
  return out;
}

/**
 * Accepted for a translated GatewayRoute: True with the count (PartiallyAccepted when some parts were
 * dropped, each named), False NoRoutes when nothing is left; `empty` says why when nothing was there.
 */
export function acceptedCondition({ routeCount, dropped, empty }: { routeCount: number; dropped: readonly string[]; empty: string }): ConditionInput {
  const detail = dropped.slice(0, 10).join('; ') + (dropped.length > 10 ? `; and ${dropped.length - 10} more` : '');
  if (routeCount === 0) {
    return { type: 'Accepted', status: 'False', reason: 'NoRoutes', message: dropped.length ? `no usable paths: ${detail}` : empty };
  }
  if (dropped.length) {
    return { type: 'Accepted', status: 'True', reason: 'PartiallyAccepted', message: `${routeCount} route(s) accepted; dropped ${detail}` };
  }
  return { type: 'Accepted', status: 'True', reason: 'Accepted', message: `${routeCount} route(s) accepted` };
}

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
  service: ServiceLookup;
  crossNamespace: CrossNamespacePolicy;
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
export function resolvedRefsCondition(routes: readonly RouteSpec[], namespace: string, backends: BackendContext): ConditionInput {
  const problems = new Map<string, string>(); // message -> reason, deduplicated
  for (const route of routes) {
    const result = resolveRouteBackend(route, namespace, backends);
    if (!result.ok && !problems.has(result.message)) problems.set(result.message, result.reason);
  }
  if (problems.size === 0) {
    return { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: 'all backend Services and ports exist' };
  }
  const [firstMessage, firstReason] = [...problems.entries()][0] as [string, string];
  const more = problems.size > 1 ? ` (and ${problems.size - 1} more: ${[...problems.keys()].slice(1, 5).join('; ')})` : '';
  return { type: 'ResolvedRefs', status: 'False', reason: firstReason, message: `${firstMessage}${more}` };
}

/** Hosts for printing: unique, in route order; "*" for the catch-all. */
export function hostsSummary(routes: readonly RouteSpec[]): string {
  return [...new Set(routes.map((r) => r.host || '*'))].join(',');
}

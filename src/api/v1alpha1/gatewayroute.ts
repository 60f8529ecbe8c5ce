// GatewayRoute functions shared by every feature that writes GatewayRoutes (Ingress, HTTPRoute, GRPCRoute) and by the
// sync controller, pure: who owns one, route identity, and the status pieces computed the same way for all.
import type { GatewayRouteCondition } from './reasons.js';
import { type GatewayRoute, type GatewayRouteSource, type GatewayRouteStatus, type OwnerReference, type RouteSpec } from './types.js';

/** What identifies a route within a GatewayRoute and among all of them: host, path type and path. */
export function routeIdentity(route: Pick<RouteSpec, 'host' | 'path' | 'pathType'>): string {
  return `${route.host ?? ''} ${route.pathType} ${route.path}`;
}

/** The field manager of GatewayRoute specs (metadata and spec), whichever feature writes them. */
export const SPEC_FIELD_MANAGER = 'gateway-operator';

/** The kinds a GatewayRoute is translated from: every status.source but Manual. */
export type TranslatedFrom = Exclude<GatewayRouteSource, 'Manual'>;

/** The kinds a GatewayRoute is translated from, by the apiVersion group of the owner. */
const SOURCE_GROUPS: Readonly<Record<string, string>> = {
  Ingress: 'networking.k8s.io',
  HTTPRoute: 'gateway.networking.k8s.io',
  GRPCRoute: 'gateway.networking.k8s.io',
} satisfies Record<TranslatedFrom, string>;

/** The object (Ingress, HTTPRoute or GRPCRoute) that controls this GatewayRoute; hand-written ones have none. */
export function sourceOwner(route: GatewayRoute, kind?: TranslatedFrom): OwnerReference | undefined {
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

/** Up to ten items joined, the rest counted. */
function listed(items: readonly string[]): string {
  return items.slice(0, 10).join('; ') + (items.length > 10 ? `; and ${items.length - 10} more` : '');
}

/**
 * Accepted for a translated GatewayRoute: True with the count (PartiallyAccepted when some parts were
 * dropped or some settings ignored, each named), False NoRoutes when nothing is left; `empty` says why when
 * nothing was there.
 */
export function acceptedCondition({ routeCount, dropped, ignored = [], empty }: { routeCount: number; dropped: readonly string[]; ignored?: readonly string[]; empty: string }): GatewayRouteCondition<'Accepted'> {
  if (routeCount === 0) {
    return { type: 'Accepted', status: 'False', reason: 'NoRoutes', message: dropped.length ? `no usable paths: ${listed(dropped)}` : empty };
  }
  if (dropped.length || ignored.length) {
    const parts = [`${routeCount} route(s) accepted`, ...(dropped.length ? [`dropped ${listed(dropped)}`] : []), ...(ignored.length ? [`ignored ${listed(ignored)}`] : [])];
    return { type: 'Accepted', status: 'True', reason: 'PartiallyAccepted', message: parts.join('; ') };
  }
  return { type: 'Accepted', status: 'True', reason: 'Accepted', message: `${routeCount} route(s) accepted` };
}

/** Hosts for printing: unique, in route order; "*" for the catch-all. */
export function hostsSummary(routes: readonly RouteSpec[]): string {
  return [...new Set(routes.map((r) => r.host || '*'))].join(',');
}

/** The printed status fields that say where a GatewayRoute comes from and what it holds. */
export type SourceStatus = Required<Pick<GatewayRouteStatus, 'source' | 'hosts' | 'routeCount'>>;

/**
 * SourceStatus of these routes: written by the source controller of a translated GatewayRoute, and by the
 * sync controller for a hand-written one (source Manual), so that every row of `kubectl get gwr` is filled.
 */
export function sourceStatus(source: GatewayRouteSource, routes: readonly RouteSpec[]): SourceStatus {
  return { source, hosts: hostsSummary(routes), routeCount: routes.length };
}

export function sourceStatusChanged(current: GatewayRouteStatus | undefined, next: SourceStatus): boolean {
  return current?.source !== next.source || current.hosts !== next.hosts || current.routeCount !== next.routeCount;
}

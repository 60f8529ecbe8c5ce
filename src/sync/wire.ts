// GatewayRoute → wire routes (protocol.md's route object), pure. Named ports are resolved through the
// Service; when that fails the port last sent for the same route key is kept, so a Service that
// disappears for a moment does not pull a working route from the gateway.
import type { GatewayRoute, RouteSpec } from '../api/v1alpha1/types.js';
import type { WireRoute } from '../controlplane/protocol.js';
import { resolveBackendPort, type ServiceLike } from '../routing/backends.js';
import { userAnnotations } from '../ingress/translate.js';
import { ingressOwner } from '../api/v1alpha1/ownership.js';

export interface WireTranslation {
  routes: WireRoute[];
  /** Routes left out because their port cannot be resolved and was never sent before. */
  unresolved: string[];
}

/**
 * A route's key, from what identifies it within its GatewayRoute (translation keeps host + path + pathType
 * unique there): inserting or reordering paths leaves every other key as it was, so the control plane sees
 * only what changed. `*` stands for the catch-all host.
 */
export function routeKey(namespace: string, name: string, route: Pick<RouteSpec, 'host' | 'path' | 'pathType'>): string {
  return `${namespace}/${name}/${route.pathType}:${route.host || '*'}${route.path}`;
}

export function toWireRoutes(
  route: GatewayRoute,
  serviceByName: (name: string) => ServiceLike | undefined,
  lastSent: readonly WireRoute[] = [],
): WireTranslation {
  const namespace = route.metadata.namespace ?? '';
  const name = route.metadata.name ?? '';
  const ingressName = ingressOwner(route)?.name ?? (route.spec.source?.kind === 'Ingress' ? route.spec.source.name : '');
  const annotations = userAnnotations(route.metadata.annotations);
  const previous = new Map(lastSent.map((r) => [r.key, r]));
  const routes: WireRoute[] = [];
  const unresolved: string[] = [];
  for (const spec of route.spec.routes ?? []) {
    const key = routeKey(namespace, name, spec);
    const resolved = resolveBackendPort(serviceByName(spec.backend.service), spec.backend.service, spec.backend.port);
    const before = previous.get(key);
    let port: number | undefined;
    if (resolved.ok) port = resolved.port;
    else if (before && before.service === spec.backend.service) port = before.port; // the key pins host, path and type
    if (port === undefined) {
      unresolved.push(`${key}: ${resolved.ok ? '' : resolved.message}`);
      continue;
    }
    routes.push({
      key,
      host: spec.host ?? '',
      path: spec.path,
      path_type: spec.pathType,
      namespace,
      service: spec.backend.service,
      port,
      tls: spec.tls ?? false,
      ingress_name: ingressName,
      gateway_route: name,
      annotations,
    });
  }
  return { routes, unresolved };
}

/** Equality of two route sets, order included (the order is stable: spec order). */
export function sameRoutes(a: readonly WireRoute[] | undefined, b: readonly WireRoute[] | undefined): boolean {
  return JSON.stringify(a ?? []) === JSON.stringify(b ?? []);
}

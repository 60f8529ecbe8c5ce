import type { GatewayRoute, OwnerReference } from './types.js';

/** The Ingress that controls this GatewayRoute, if one does (hand-written ones have none). */
export function ingressOwner(route: GatewayRoute): OwnerReference | undefined {
  return route.metadata.ownerReferences?.find((o) => o.controller && o.kind === 'Ingress' && o.apiVersion.startsWith('networking.k8s.io/'));
}

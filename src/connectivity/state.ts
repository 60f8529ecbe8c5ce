// The cluster's connectivity as the rest of the operator reads it (heartbeats, route syncs, status),
// taken from ClusterConnectivity/cluster's status. Private + tunnel until detection says otherwise.
import type { ClusterConnectivity, RoutingMode } from '../api/v1alpha1/types.js';

export interface Connectivity {
  isPrivate: boolean;
  routingMode: RoutingMode;
  publicEndpoint?: string;
}

export const DEFAULT_CONNECTIVITY: Connectivity = { isPrivate: true, routingMode: 'tunnel' };

export function connectivityOf(object: ClusterConnectivity | undefined): Connectivity {
  const status = object?.status;
  if (!status?.routingMode) return DEFAULT_CONNECTIVITY;
  const result: Connectivity = { isPrivate: status.isPrivate ?? status.routingMode === 'tunnel', routingMode: status.routingMode };
  if (status.publicEndpoint) result.publicEndpoint = status.publicEndpoint;
  return result;
}

export function sameConnectivity(a: Connectivity, b: Connectivity): boolean {
  return a.isPrivate === b.isPrivate && a.routingMode === b.routingMode && a.publicEndpoint === b.publicEndpoint;
}

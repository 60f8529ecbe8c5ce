// The gateway.pipeops.io/v1alpha1 API: names and labels, and the TypeScript shapes of the
// CRDs, generated from crds/ (the schema's source of truth) into generated.ts by `make generate`.
// Condition types and reasons: reasons.ts.
// test/integration/crds.test.ts checks that objects of these types are accepted by the real apiserver.

export * from './generated.js';
export type { ObjectMeta, OwnerReference } from './meta.js';

export const GROUP = 'gateway.pipeops.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export const GATEWAY_ROUTE = { kind: 'GatewayRoute', plural: 'gatewayroutes' } as const;
export const CLUSTER_CONNECTIVITY = { kind: 'ClusterConnectivity', plural: 'clusterconnectivities' } as const;
/** The two kinds as informers list and watch them. */
// What an informer needs to list and watch each kind (the shape of operator/kinds' ResourceKind; api/ imports nothing).
export const GATEWAY_ROUTE_KIND = { apiVersion: API_VERSION, ...GATEWAY_ROUTE, namespaced: true };
export const CLUSTER_CONNECTIVITY_KIND = { apiVersion: API_VERSION, ...CLUSTER_CONNECTIVITY, namespaced: false };
/** The one ClusterConnectivity object the operator reads and writes. */
export const CLUSTER_CONNECTIVITY_NAME = 'cluster';

export const MANAGED_BY_LABEL = `${GROUP}/managed-by`;
export const EXCLUDE_ANNOTATION = `${GROUP}/exclude`;

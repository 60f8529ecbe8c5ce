// TypeScript shapes of the gateway.pipeops.io/v1alpha1 CRDs. crds/ is the schema's source of truth;
// test/integration/crds.test.ts checks that objects of these types are accepted by the real apiserver.
import type { ResourceKind } from '../../operator/kinds.js';

export const GROUP = 'gateway.pipeops.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export const GATEWAY_ROUTE = { kind: 'GatewayRoute', plural: 'gatewayroutes' } as const;
export const CLUSTER_CONNECTIVITY = { kind: 'ClusterConnectivity', plural: 'clusterconnectivities' } as const;
/** The two kinds as informers list and watch them. */
export const GATEWAY_ROUTE_KIND: ResourceKind = { apiVersion: API_VERSION, ...GATEWAY_ROUTE, namespaced: true };
export const CLUSTER_CONNECTIVITY_KIND: ResourceKind = { apiVersion: API_VERSION, ...CLUSTER_CONNECTIVITY, namespaced: false };
/** The one ClusterConnectivity object the operator reads and writes. */
export const CLUSTER_CONNECTIVITY_NAME = 'cluster';

export const MANAGED_BY_LABEL = `${GROUP}/managed-by`;
export const EXCLUDE_ANNOTATION = `${GROUP}/exclude`;

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** metav1.Condition */
export interface Condition {
  type: string;
  status: ConditionStatus;
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string | Date;
  deletionTimestamp?: string | Date;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export type PathType = 'Prefix' | 'Exact' | 'ImplementationSpecific';
export const PATH_TYPES: readonly PathType[] = ['Prefix', 'Exact', 'ImplementationSpecific'];

export type RoutingMode = 'tunnel' | 'direct';

export interface BackendPort {
  number?: number;
  name?: string;
}

export interface RouteSpec {
  /** Omitted or empty: every host (catch-all). */
  host?: string;
  path: string;
  pathType: PathType;
  /** namespace: a Service in another namespace, which an HTTPRoute may use when a ReferenceGrant allows it. */
  backend: { service: string; namespace?: string; port: BackendPort };
  tls?: boolean;
}

export interface GatewayRouteSpec {
  routes?: RouteSpec[];
  tlsSecrets?: string[];
  ingressClassName?: string;
  source?: { kind: string; name: string };
}

export interface GatewayRouteStatus {
  observedGeneration?: number;
  routingMode?: RoutingMode;
  hosts?: string;
  routeCount?: number;
  controlPlane?: { revision?: number; syncedAt?: string };
  conditions?: Condition[];
}

export interface GatewayRoute {
  apiVersion: typeof API_VERSION;
  kind: 'GatewayRoute';
  metadata: ObjectMeta;
  spec: GatewayRouteSpec;
  status?: GatewayRouteStatus;
}

export type ConnectivityMode = 'auto' | RoutingMode;

export interface ClusterConnectivitySpec {
  mode?: ConnectivityMode;
  ingressService?: { namespace: string; name: string };
  detectionTimeoutSeconds?: number;
}

export interface ClusterConnectivityStatus {
  observedGeneration?: number;
  isPrivate?: boolean;
  routingMode?: RoutingMode;
  publicEndpoint?: string;
  /** What decided: an ingress controller's Service, or a Gateway with published addresses. */
  ingressController?: { kind?: string; namespace?: string; name?: string; type?: string; serviceType?: string };
  reason?: string;
  detectedAt?: string;
  controlPlane?: { connected?: boolean; clusterId?: string; lastHeartbeatTime?: string; reconnects?: number };
  conditions?: Condition[];
}

export interface ClusterConnectivity {
  apiVersion: typeof API_VERSION;
  kind: 'ClusterConnectivity';
  metadata: ObjectMeta;
  spec?: ClusterConnectivitySpec;
  status?: ClusterConnectivityStatus;
}

// The parts of the Gateway API (gateway.networking.k8s.io, standard channel) the operator reads and writes.
import type { Condition, ObjectMeta } from '../api/v1alpha1/types.js';
import type { ResourceKind } from '../operator/kinds.js';

export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';
/** The GatewayClass controllerName this operator answers for, unless --gateway-controller-name says otherwise. */
export const DEFAULT_GATEWAY_CONTROLLER_NAME = 'gateway.pipeops.io/tunnel';

const v1 = (kind: string, plural: string, namespaced: boolean): ResourceKind => ({ apiVersion: `${GATEWAY_API_GROUP}/v1`, kind, plural, namespaced });
export const GATEWAY_CLASS = v1('GatewayClass', 'gatewayclasses', false);
export const GATEWAY = v1('Gateway', 'gateways', true);
export const HTTP_ROUTE = v1('HTTPRoute', 'httproutes', true);
export const GRPC_ROUTE = v1('GRPCRoute', 'grpcroutes', true);
/** The route kinds this operator translates into GatewayRoutes. */
export type RouteKindName = 'HTTPRoute' | 'GRPCRoute';
// ReferenceGrant is v1 from Gateway API 1.5 on and v1beta1 before: whichever the apiserver serves (v1 first).
export const REFERENCE_GRANT_VERSIONS: readonly ResourceKind[] = ['v1', 'v1beta1'].map((version) => ({
  apiVersion: `${GATEWAY_API_GROUP}/${version}`,
  kind: 'ReferenceGrant',
  plural: 'referencegrants',
  namespaced: true,
}));

export interface GatewayClass {
  metadata: ObjectMeta;
  spec: { controllerName: string };
  status?: { conditions?: Condition[] };
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }>;
}

export interface Listener {
  name: string;
  hostname?: string;
  port: number;
  protocol: string;
  allowedRoutes?: {
    namespaces?: { from?: 'All' | 'Same' | 'Selector' | 'None'; selector?: LabelSelector };
    kinds?: Array<{ group?: string; kind: string }>;
  };
}

export interface ListenerStatus {
  name: string;
  supportedKinds: Array<{ group: string; kind: string }>;
  attachedRoutes: number;
  conditions: Condition[];
}

export interface Gateway {
  metadata: ObjectMeta;
  spec: { gatewayClassName: string; listeners: Listener[]; addresses?: Array<{ type?: string; value: string }> };
  status?: { addresses?: Array<{ type?: string; value: string }>; conditions?: Condition[]; listeners?: ListenerStatus[] };
}

export interface ParentReference {
  group?: string;
  kind?: string;
  namespace?: string;
  name: string;
  sectionName?: string;
  port?: number;
}

export interface BackendRef {
  group?: string;
  kind?: string;
  namespace?: string;
  name: string;
  port?: number;
  weight?: number;
  filters?: unknown[];
}

export interface HTTPRouteMatch {
  path?: { type?: 'PathPrefix' | 'Exact' | 'RegularExpression'; value?: string };
  headers?: unknown[];
  queryParams?: unknown[];
  method?: string;
}

export interface HTTPRouteRule {
  name?: string;
  matches?: HTTPRouteMatch[];
  filters?: Array<{ type: string; [field: string]: unknown }>;
  backendRefs?: BackendRef[];
  timeouts?: unknown;
}

export interface RouteParentStatus {
  parentRef: ParentReference;
  controllerName: string;
  conditions: Condition[];
}

/** What every route kind shares: the parents it names, its hostnames and its per-parent status. */
export interface GatewayApiRoute {
  metadata: ObjectMeta;
  spec: { parentRefs?: ParentReference[]; hostnames?: string[] };
  status?: { parents?: RouteParentStatus[] };
}

export interface HTTPRoute extends GatewayApiRoute {
  spec: GatewayApiRoute['spec'] & { rules?: HTTPRouteRule[] };
}

export interface GRPCMethodMatch {
  type?: 'Exact' | 'RegularExpression';
  service?: string;
  method?: string;
}

export interface GRPCRouteMatch {
  method?: GRPCMethodMatch;
  headers?: unknown[];
}

export interface GRPCRouteRule {
  name?: string;
  matches?: GRPCRouteMatch[];
  filters?: Array<{ type: string; [field: string]: unknown }>;
  backendRefs?: BackendRef[];
  sessionPersistence?: unknown;
}

export interface GRPCRoute extends GatewayApiRoute {
  spec: GatewayApiRoute['spec'] & { rules?: GRPCRouteRule[] };
}

export interface ReferenceGrant {
  metadata: ObjectMeta;
  spec: { from: Array<{ group: string; kind: string; namespace: string }>; to: Array<{ group: string; kind: string; name?: string }> };
}

// The route kinds translated into GatewayRoutes, each described once: its resource, the name of its
// controller (the managed-by label of the GatewayRoutes it writes), its status field manager, its pure
// translation and the backendRefs of its rules. Everything else (attachment, claims, writing, status) is
// the same code for every kind (route-controller.ts).
import type { BackendRef, GatewayApiRoute, GRPCRoute, HTTPRoute, RouteKindName } from './types.js';
import { GRPC_ROUTE, HTTP_ROUTE } from './types.js';
import type { ResourceKind } from '../operator/kinds.js';
import type { AttachedHost } from './attach.js';
import { HTTPROUTE_CONTROLLER, translateHTTPRoute, type RouteTranslateOptions, type RouteTranslation } from './translate.js';
import { GRPCROUTE_CONTROLLER, translateGRPCRoute } from './translate-grpc.js';

export interface RouteKind<R extends GatewayApiRoute> {
  name: RouteKindName;
  resource: ResourceKind;
  /** The controller's name: its queue, logs, and the managed-by label of its GatewayRoutes. */
  controller: string;
  /** Owns this operator's entries of the routes' status.parents. */
  statusFieldManager: string;
  translate(route: R, hosts: readonly AttachedHost[], options: RouteTranslateOptions): RouteTranslation;
  backendRefs(route: R): readonly BackendRef[];
}

/** The backendRefs of every rule: both kinds' rules carry them the same way. */
const backendRefsOfRules = (route: { spec: { rules?: ReadonlyArray<{ backendRefs?: BackendRef[] }> } }): BackendRef[] =>
  (route.spec.rules ?? []).flatMap((rule) => rule.backendRefs ?? []);

export const HTTP_ROUTES: RouteKind<HTTPRoute> = {
  name: 'HTTPRoute',
  resource: HTTP_ROUTE,
  controller: HTTPROUTE_CONTROLLER,
  statusFieldManager: 'gateway-operator-httproute',
  translate: translateHTTPRoute,
  backendRefs: backendRefsOfRules,
};

export const GRPC_ROUTES: RouteKind<GRPCRoute> = {
  name: 'GRPCRoute',
  resource: GRPC_ROUTE,
  controller: GRPCROUTE_CONTROLLER,
  statusFieldManager: 'gateway-operator-grpcroute',
  translate: translateGRPCRoute,
  backendRefs: backendRefsOfRules,
};

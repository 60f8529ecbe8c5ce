// The Gateway API feature: HTTPRoutes and GRPCRoutes attached to Gateways of our GatewayClass become
// GatewayRoutes, and the GatewayClass, Gateway and route statuses say so; ReferenceGrants decide which
// backends in other namespaces every GatewayRoute may use. setup(manager) asks the apiserver whether the
// Gateway API is served (GRPCRoute on its own: an older install may lack it), then registers its informers
// and controllers, as controller-runtime's SetupWithManager does.
import type { GatewayRoutes } from '../gatewayroute/setup.js';
import type { Informer } from '../operator/informer.js';
import { keysOf, NAMESPACE, objectKey, type ResourceKind } from '../operator/kinds.js';
import { watch, type Manager, type Watch } from '../operator/manager.js';
import { specOrMetadataChanged } from '../operator/predicates.js';
import { parentGatewayKey } from './attach.js';
import * as backendTls from './backendtls/setup.js';
import { GatewayController, PARENT_GATEWAY_INDEX, type AttachedRoutes } from './gateway-controller.js';
import type { GatewayApiInformers, GatewayApiOptions, NamespaceLike } from './informers.js';
import { RouteController } from './route-controller.js';
import { GRPC_ROUTES, HTTP_ROUTES, type RouteKind } from './route-kinds.js';
import { crossNamespacePolicy } from './translate.js';
import { GATEWAY, GATEWAY_CLASS, GRPC_ROUTE, HTTP_ROUTE, REFERENCE_GRANT_VERSIONS, type Gateway, type GatewayApiRoute, type GatewayClass, type ReferenceGrant, type RouteKindName } from './types.js';

export type { GatewayApiOptions } from './informers.js';
export { GATEWAY } from './types.js';

/** The kinds the feature needs served (the Gateway API CRDs installed) before it is set up. */
export const KINDS: readonly ResourceKind[] = [GATEWAY_CLASS, GATEWAY, HTTP_ROUTE];

const GATEWAY_CLASS_INDEX = 'gateway-class';
const BACKEND_SERVICE_INDEX = 'backend-service';

/** "namespace/name" of every Service a route's rules name. */
function backendServices<R extends GatewayApiRoute>(kind: RouteKind<R>, route: R): string[] {
  const namespace = route.metadata.namespace ?? '';
  const refs = kind.backendRefs(route);
  return [...new Set(refs.filter((r) => (r.kind ?? 'Service') === 'Service').map((r) => `${r.namespace ?? namespace}/${r.name}`))];
}

function parentGateways(route: GatewayApiRoute | undefined): string[] {
  if (!route) return [];
  return (route.spec.parentRefs ?? []).map((ref) => parentGatewayKey(route, ref)).filter((k): k is string => k !== undefined);
}

export interface GatewayApiSetup {
  /** Whether the apiserver serves the Gateway API (else nothing was registered); Gateways are GATEWAY. */
  served: boolean;
  /** The served ReferenceGrant version: the sync controller re-checks cross-namespace backends on its changes. */
  referenceGrant?: ResourceKind;
}

export interface GatewayApiSetupOptions extends GatewayApiOptions {
  routes: GatewayRoutes;
}

/** The queue of one route kind: the route, and every change that may change its translation or status. */
function registerRouteController<R extends GatewayApiRoute>(manager: Manager, informers: GatewayApiInformers, controller: RouteController<R>, options: GatewayApiSetupOptions): void {
  const { informer, kind } = controller;
  const { gateways, gatewayClasses, referenceGrants, namespaces, gatewayRoutes } = informers;
  informer.addIndex(PARENT_GATEWAY_INDEX, parentGateways);
  informer.addIndex(BACKEND_SERVICE_INDEX, (route) => backendServices(kind, route));
  const routesOfGateway = (key: string): string[] => keysOf(informer.byIndex(PARENT_GATEWAY_INDEX, key));
  const routesOfClass = (name: string): string[] => gateways.byIndex(GATEWAY_CLASS_INDEX, name).flatMap((g) => routesOfGateway(objectKey(g.metadata)));
  manager.controller({
    name: kind.controller,
    for: { informer },
    // A backend Service, or a BackendTLSPolicy or CA ConfigMap for it: ResolvedRefs says how it is dialled.
    sources: [options.routes.backendChanges((service) => keysOf(informer.byIndex(BACKEND_SERVICE_INDEX, service)))],
    watches: [
      watch({ informer: gateways, map: (gateway) => routesOfGateway(objectKey(gateway.metadata)) }),
      watch({ informer: gatewayClasses, map: (gatewayClass) => routesOfClass(gatewayClass.metadata.name ?? '') }),
      // A grant changes what routes of other namespaces may use: the routes naming a Service there.
      ...(referenceGrants
        ? [watch({ informer: referenceGrants, map: (grant) => keysOf(informer.list().filter((route) => backendServices(kind, route).some((key) => key.startsWith(`${grant.metadata.namespace}/`)))) })]
        : []),
      // Namespace labels decide allowedRoutes selectors.
      watch({ informer: namespaces, map: (namespace: NamespaceLike) => keysOf(informer.list(namespace.metadata?.name ?? '')) }),
      // The GatewayRoute name may have been freed or taken, or a host + path claimed by another (of any
      // kind) may change hands; a status write (Synced) changes neither.
      watch({
        informer: gatewayRoutes,
        predicate: specOrMetadataChanged,
        map: (gatewayRoute, previous, deleted) =>
          [objectKey(gatewayRoute.metadata), ...controller.claims.affectedBy(gatewayRoute, previous, deleted)].filter((key) => informer.get(key)),
      }),
    ],
    reconcile: (key) => controller.reconcile(key),
    concurrency: options.concurrency,
  });
}

/** What changes a Gateway's attachedRoutes through routes of this kind: the routes, and namespace labels. */
function attachedRoutesWatches<R extends GatewayApiRoute>({ informer }: RouteController<R>, namespaces: GatewayApiInformers['namespaces']): Array<Watch<R> | Watch<NamespaceLike>> {
  return [
    // The Gateways a route names now and named before.
    watch({ informer, map: (route, previous) => new Set([...parentGateways(route), ...parentGateways(previous)]) }),
    watch({ informer: namespaces, map: (namespace) => informer.list(namespace.metadata?.name ?? '').flatMap(parentGateways) }),
  ];
}

export async function setup(manager: Manager, options: GatewayApiSetupOptions): Promise<GatewayApiSetup> {
  const logger = manager.logger.child({ controller: 'gatewayapi' });
  const served = await manager.serves(KINDS).catch((err: unknown) => {
    logger.warn('could not ask the apiserver whether it serves the Gateway API; HTTPRoutes are not watched', { err });
    return false;
  });
  if (!served) {
    logger.info('the Gateway API CRDs are not installed: HTTPRoutes are not watched (install them and restart to serve HTTPRoutes)');
    return { served: false };
  }
  let referenceGrant: ResourceKind | undefined;
  for (const version of REFERENCE_GRANT_VERSIONS) {
    if (!referenceGrant && (await manager.serves([version]).catch(() => false))) referenceGrant = version;
  }
  if (!referenceGrant) logger.warn('the apiserver serves no ReferenceGrant: route backendRefs to other namespaces are never permitted');
  const grpcServed = await manager.serves([GRPC_ROUTE]).catch((err: unknown) => {
    logger.warn('could not ask the apiserver whether it serves GRPCRoute; GRPCRoutes are not watched', { err });
    return false;
  });
  if (!grpcServed) logger.info('the GRPCRoute CRD is not installed: GRPCRoutes are not watched (install it and restart to serve GRPCRoutes); HTTPRoutes are');

  const { routes } = options;
  const informers: GatewayApiInformers = {
    // Gateways, their classes, grants and namespaces may live outside --watch-namespaces; routes and what they make may not.
    gatewayClasses: manager.informer<GatewayClass>(GATEWAY_CLASS),
    gateways: manager.informer<Gateway>(GATEWAY),
    referenceGrants: referenceGrant ? manager.informer<ReferenceGrant>(referenceGrant) : undefined,
    namespaces: manager.informer<NamespaceLike>(NAMESPACE),
    services: routes.services,
    gatewayRoutes: routes.gatewayRoutes,
  };
  const { gateways, gatewayClasses, referenceGrants } = informers;
  // The grants decide for every GatewayRoute (hand-written ones too), through the one resolver.
  if (referenceGrants) routes.backends.permitCrossNamespace(crossNamespacePolicy((namespace) => referenceGrants.list(namespace)));
  gateways.addIndex(GATEWAY_CLASS_INDEX, (gateway) => [gateway.spec.gatewayClassName]);

  const routeKinds: AttachedRoutes[] = [];
  const routeInformers = new Map<RouteKindName, Informer<GatewayApiRoute>>();
  const gatewayWatches: Array<Watch<any>> = []; // of several kinds, each checked where watch() makes it
  const serveRoutes = <R extends GatewayApiRoute>(kind: RouteKind<R>): void => {
    const controller = new RouteController<R>({ manager, kind, informer: manager.informer<R>(kind.resource, { watched: true }), informers, routes, options });
    registerRouteController(manager, informers, controller, options);
    routeKinds.push(controller);
    routeInformers.set(kind.name, controller.informer as unknown as Informer<GatewayApiRoute>); // read-only here: get() and watches
    gatewayWatches.push(...attachedRoutesWatches(controller, informers.namespaces));
  };
  serveRoutes(HTTP_ROUTES);
  if (grpcServed) serveRoutes(GRPC_ROUTES);
  const gatewayController = new GatewayController({ manager, informers, routeKinds, options });
  const gatewaysOfClass = (name: string): string[] => gateways.byIndex(GATEWAY_CLASS_INDEX, name).map((g) => objectKey(g.metadata));

  manager.controller({
    name: 'gatewayclass',
    for: { informer: gatewayClasses },
    reconcile: (name) => gatewayController.reconcileClass(name),
    concurrency: 1,
  });
  manager.controller({
    name: 'gateway',
    for: { informer: gateways },
    watches: [
      watch({ informer: gatewayClasses, map: (gatewayClass) => gatewaysOfClass(gatewayClass.metadata.name ?? '') }),
      ...gatewayWatches,
    ],
    reconcile: (key) => gatewayController.reconcileGateway(key),
    concurrency: options.concurrency,
  });
  // BackendTLSPolicies decide for every backend (Ingress ones too), through routes.transports.
  await backendTls.setup(manager, { routes, routeInformers, ...(referenceGrants ? { referenceGrants } : {}), controllerName: options.controllerName, concurrency: options.concurrency });
  return { served: true, referenceGrant };
}

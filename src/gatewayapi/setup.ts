// The Gateway API feature: HTTPRoutes attached to Gateways of our GatewayClass become GatewayRoutes, and the
// GatewayClass, Gateway and HTTPRoute statuses say so; ReferenceGrants decide which backends in other
// namespaces every GatewayRoute may use. setup(manager) asks the apiserver whether the Gateway API is
// served, then registers its informers and controllers, as controller-runtime's SetupWithManager does.
import type { GatewayRoutes } from '../gatewayroute/setup.js';
import { keysOf, NAMESPACE, objectKey, type ResourceKind } from '../operator/kinds.js';
import { watch, type Manager } from '../operator/manager.js';
import { specOrMetadataChanged } from '../operator/predicates.js';
import { parentGatewayKey } from './attach.js';
import * as backendTls from './backendtls/setup.js';
import { GatewayController, PARENT_GATEWAY_INDEX } from './gateway-controller.js';
import { HTTPRouteController } from './httproute-controller.js';
import type { GatewayApiInformers, GatewayApiOptions, NamespaceLike } from './informers.js';
import { crossNamespacePolicy } from './translate.js';
import { GATEWAY, GATEWAY_CLASS, HTTP_ROUTE, REFERENCE_GRANT_VERSIONS, type Gateway, type GatewayClass, type HTTPRoute, type ReferenceGrant } from './types.js';

export type { GatewayApiOptions } from './informers.js';
export { GATEWAY } from './types.js';

/** The kinds the feature needs served (the Gateway API CRDs installed) before it is set up. */
export const KINDS: readonly ResourceKind[] = [GATEWAY_CLASS, GATEWAY, HTTP_ROUTE];

const GATEWAY_CLASS_INDEX = 'gateway-class';
const BACKEND_SERVICE_INDEX = 'backend-service';

/** "namespace/name" of every Service an HTTPRoute's rules name. */
function backendServices(route: HTTPRoute): string[] {
  const namespace = route.metadata.namespace ?? '';
  const refs = (route.spec.rules ?? []).flatMap((rule) => rule.backendRefs ?? []);
  return [...new Set(refs.filter((r) => (r.kind ?? 'Service') === 'Service').map((r) => `${r.namespace ?? namespace}/${r.name}`))];
}

function parentGateways(route: HTTPRoute | undefined): string[] {
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
  if (!referenceGrant) logger.warn('the apiserver serves no ReferenceGrant: HTTPRoute backendRefs to other namespaces are never permitted');

  const { routes } = options;
  const informers: GatewayApiInformers = {
    // Gateways, their classes, grants and namespaces may live outside --watch-namespaces; routes and what they make may not.
    gatewayClasses: manager.informer<GatewayClass>(GATEWAY_CLASS),
    gateways: manager.informer<Gateway>(GATEWAY),
    httpRoutes: manager.informer<HTTPRoute>(HTTP_ROUTE, { watched: true }),
    referenceGrants: referenceGrant ? manager.informer<ReferenceGrant>(referenceGrant) : undefined,
    namespaces: manager.informer<NamespaceLike>(NAMESPACE),
    services: routes.services,
    gatewayRoutes: routes.gatewayRoutes,
  };
  const { httpRoutes, gateways, gatewayClasses, referenceGrants } = informers;
  // The grants decide for every GatewayRoute (hand-written ones too), through the one resolver.
  if (referenceGrants) routes.backends.permitCrossNamespace(crossNamespacePolicy((namespace) => referenceGrants.list(namespace)));

  httpRoutes.addIndex(PARENT_GATEWAY_INDEX, parentGateways);
  httpRoutes.addIndex(BACKEND_SERVICE_INDEX, backendServices);
  gateways.addIndex(GATEWAY_CLASS_INDEX, (gateway) => [gateway.spec.gatewayClassName]);

  const routeController = new HTTPRouteController(manager, informers, routes, options);
  const gatewayController = new GatewayController(manager, informers, routeController, options);
  const routesOfGateway = (key: string): string[] => keysOf(httpRoutes.byIndex(PARENT_GATEWAY_INDEX, key));
  const gatewaysOfClass = (name: string): string[] => gateways.byIndex(GATEWAY_CLASS_INDEX, name).map((g) => objectKey(g.metadata));

  manager.controller({
    name: 'httproute',
    for: { informer: httpRoutes },
    // A backend Service, or a BackendTLSPolicy or CA ConfigMap for it: ResolvedRefs says how it is dialled.
    sources: [routes.backendChanges((service) => keysOf(httpRoutes.byIndex(BACKEND_SERVICE_INDEX, service)))],
    watches: [
      watch({ informer: gateways, map: (gateway) => routesOfGateway(objectKey(gateway.metadata)) }),
      watch({ informer: gatewayClasses, map: (gatewayClass) => gatewaysOfClass(gatewayClass.metadata.name ?? '').flatMap(routesOfGateway) }),
      // A grant changes what routes of other namespaces may use: the routes naming a Service there.
      ...(referenceGrants
        ? [watch({ informer: referenceGrants, map: (grant) => keysOf(httpRoutes.list().filter((route) => backendServices(route).some((key) => key.startsWith(`${grant.metadata.namespace}/`)))) })]
        : []),
      // Namespace labels decide allowedRoutes selectors.
      watch({ informer: informers.namespaces, map: (namespace: NamespaceLike) => keysOf(httpRoutes.list(namespace.metadata?.name ?? '')) }),
      // The GatewayRoute name may have been freed or taken, or a host + path claimed by another may change
      // hands; a status write (Synced) changes neither.
      watch({
        informer: routes.gatewayRoutes,
        predicate: specOrMetadataChanged,
        map: (gatewayRoute, previous, deleted) =>
          [objectKey(gatewayRoute.metadata), ...routeController.claims.affectedBy(gatewayRoute, previous, deleted)].filter((key) => httpRoutes.get(key)),
      }),
    ],
    reconcile: (key) => routeController.reconcile(key),
    concurrency: options.concurrency,
  });
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
      // attachedRoutes of the Gateways a route names now and named before.
      watch({ informer: httpRoutes, map: (route, previous) => new Set([...parentGateways(route), ...parentGateways(previous)]) }),
      watch({ informer: informers.namespaces, map: (namespace: NamespaceLike) => httpRoutes.list(namespace.metadata?.name ?? '').flatMap(parentGateways) }),
    ],
    reconcile: (key) => gatewayController.reconcileGateway(key),
    concurrency: options.concurrency,
  });
  // BackendTLSPolicies decide for every backend (Ingress ones too), through routes.transports.
  await backendTls.setup(manager, { routes, httpRoutes, controllerName: options.controllerName, concurrency: options.concurrency });
  return { served: true, referenceGrant };
}

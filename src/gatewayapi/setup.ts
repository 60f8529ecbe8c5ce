// The Gateway API feature: HTTPRoutes attached to Gateways of our GatewayClass become GatewayRoutes, and the
// GatewayClass, Gateway and HTTPRoute statuses say so. setup(manager) registers its informers, the
// event wiring between them and its controllers, as controller-runtime's SetupWithManager does.
import { GATEWAY_ROUTE_KIND, type GatewayRoute } from '../api/v1alpha1/types.js';
import { NAMESPACE, objectKey, SERVICE, type ResourceKind } from '../operator/kinds.js';
import type { Manager } from '../operator/manager.js';
import type { ServiceLike } from '../routing/backends.js';
import type { CrossNamespacePolicy } from '../api/v1alpha1/gatewayroute.js';
import { referencePermitted } from './translate.js';
import { parentGatewayKey } from './attach.js';
import { GatewayController, PARENT_GATEWAY_INDEX } from './gateway-controller.js';
import { HTTPRouteController } from './httproute-controller.js';
import type { GatewayApiInformers, GatewayApiOptions, NamespaceLike } from './informers.js';
import { GATEWAY, GATEWAY_CLASS, HTTP_ROUTE, type Gateway, type GatewayClass, type HTTPRoute, type ReferenceGrant } from './types.js';

export type { GatewayApiOptions } from './informers.js';
export { GATEWAY } from './types.js';

/** The kinds the feature needs served (the Gateway API CRDs installed) before it is set up. */
export const KINDS: readonly ResourceKind[] = [GATEWAY_CLASS, GATEWAY, HTTP_ROUTE];
export { REFERENCE_GRANT_VERSIONS } from './types.js';

/**
 * The rule for backends in other namespaces, read from the ReferenceGrants (of the served version): what the
 * sync controller applies to every GatewayRoute, hand-written ones included, and what re-checks them.
 */
export function crossNamespacePolicy(manager: Manager, referenceGrant: ResourceKind): { policy: CrossNamespacePolicy; onChange: (listener: () => void) => void } {
  const grants = manager.informer<ReferenceGrant>(referenceGrant);
  return {
    policy: (from, to, service) => referencePermitted(grants.list(to), from, to, service),
    onChange: (listener) => grants.onChange(() => listener()),
  };
}

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

export function setup(manager: Manager, options: GatewayApiOptions): { routes: HTTPRouteController; gateways: GatewayController } {
  const informers: GatewayApiInformers = {
    // Gateways, their classes, grants and namespaces may live outside --watch-namespaces; routes and what they make may not.
    gatewayClasses: manager.informer<GatewayClass>(GATEWAY_CLASS),
    gateways: manager.informer<Gateway>(GATEWAY),
    httpRoutes: manager.informer<HTTPRoute>(HTTP_ROUTE, { watched: true }),
    referenceGrants: options.referenceGrant ? manager.informer<ReferenceGrant>(options.referenceGrant) : undefined,
    namespaces: manager.informer<NamespaceLike>(NAMESPACE),
    services: manager.informer<ServiceLike>(SERVICE, { watched: true }),
    gatewayRoutes: manager.informer<GatewayRoute>(GATEWAY_ROUTE_KIND, { watched: true }),
  };
  const routes = new HTTPRouteController(manager, informers, options);
  const gateways = new GatewayController(manager, informers, routes, options);
  manager.add(routes.controller);
  manager.add(gateways.classes);
  manager.add(gateways.gateways);

  const { httpRoutes } = informers;
  httpRoutes.addIndex(PARENT_GATEWAY_INDEX, parentGateways);
  httpRoutes.addIndex(BACKEND_SERVICE_INDEX, backendServices);
  informers.gateways.addIndex(GATEWAY_CLASS_INDEX, (gateway) => [gateway.spec.gatewayClassName]);

  const routesOfGateway = (key: string): void => {
    for (const route of httpRoutes.byIndex(PARENT_GATEWAY_INDEX, key)) routes.enqueue(route);
  };
  httpRoutes.onChange((route, previous) => {
    routes.enqueue(route);
    // attachedRoutes of the Gateways it names now and named before.
    for (const key of new Set([...parentGateways(route), ...parentGateways(previous)])) gateways.gateways.enqueue(key);
  });
  informers.gateways.onChange((gateway) => {
    gateways.enqueueGateway(gateway);
    routesOfGateway(objectKey(gateway.metadata));
  });
  informers.gatewayClasses.onChange((gatewayClass) => {
    gateways.classes.enqueue(gatewayClass.metadata.name ?? '');
    for (const gateway of informers.gateways.byIndex(GATEWAY_CLASS_INDEX, gatewayClass.metadata.name ?? '')) {
      gateways.enqueueGateway(gateway);
      routesOfGateway(objectKey(gateway.metadata));
    }
  });
  informers.services.onChange((service) => {
    for (const route of httpRoutes.byIndex(BACKEND_SERVICE_INDEX, objectKey(service.metadata ?? {}))) routes.enqueue(route);
  });
  // A grant changes what routes of other namespaces may use: look at the routes naming a Service there.
  informers.referenceGrants?.onChange((grant) => {
    for (const route of httpRoutes.list()) {
      if (backendServices(route).some((key) => key.startsWith(`${grant.metadata.namespace}/`))) routes.enqueue(route);
    }
  });
  // Namespace labels decide allowedRoutes selectors.
  informers.namespaces.onChange((namespace) => {
    for (const route of httpRoutes.list(namespace.metadata?.name ?? '')) {
      routes.enqueue(route);
      for (const key of parentGateways(route)) gateways.gateways.enqueue(key);
    }
  });
  // The GatewayRoute name may have been freed or taken, or a host + path claimed by another may change hands.
  informers.gatewayRoutes.onChange((gatewayRoute, previous, deleted) => {
    for (const key of [objectKey(gatewayRoute.metadata), ...routes.claims.affectedBy(gatewayRoute, previous, deleted)]) {
      const route = httpRoutes.get(key);
      if (route) routes.enqueue(route);
    }
  });
  return { routes, gateways };
}

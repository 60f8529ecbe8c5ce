// What every feature that reads or writes GatewayRoutes shares, set up once per manager: the GatewayRoute
// and Service caches (scoped by --watch-namespaces), the claims index, the one BackendResolver, and the
// GatewayRoutes-by-condition gauge.
// Source controllers (Ingress, HTTPRoute) get their writer and claims from here; the sync controller the
// resolver; none reaches into another feature for them.
import { GATEWAY_ROUTE_KIND, type GatewayRoute } from '../api/v1alpha1/types.js';
import type { Informer } from '../operator/informer.js';
import { objectKey, SERVICE } from '../operator/kinds.js';
import type { Manager } from '../operator/manager.js';
import type { ServiceLike } from '../routing/backends.js';
import { BackendResolver, lookupIn } from './backends.js';
import { indexRouteClaims, RouteClaims } from './claims.js';
import { countConditions } from './condition-counts.js';
import { PendingWrites } from './pending.js';
import { BackendTransports } from './transport.js';
import { GatewayRouteWriter } from './writer.js';

/** The index of the GatewayRoute cache by backend Service ("namespace/name", backend.namespace included). */
export const GATEWAY_ROUTE_BACKEND_INDEX = 'backend-service';

/** "namespace/name" of every Service a GatewayRoute's routes use. */
export function backendServicesOf(route: GatewayRoute | undefined): string[] {
  if (!route) return [];
  return [...new Set((route.spec.routes ?? []).map((r) => `${r.backend.namespace ?? route.metadata.namespace}/${r.backend.service}`))];
}

export interface GatewayRoutes {
  readonly gatewayRoutes: Informer<GatewayRoute>;
  readonly services: Informer<ServiceLike>;
  readonly backends: BackendResolver;
  /** How the tunnel dials each route's backend (protocol, TLS); BackendTLSPolicies plug in once watched. */
  readonly transports: BackendTransports;
  /**
   * A controller source (ControllerSpec.sources) for whoever shows backends in a status: `map` turns each
   * Service whose backends may read differently (the Service changed, or a BackendTLSPolicy or CA ConfigMap
   * for it) into the keys to reconcile.
   */
  backendChanges(map: (serviceKey: string) => Iterable<string>): (enqueue: (key: string) => void) => void;
  /** Spec writes the apiserver has not answered yet: the sync controller sends them as they start. */
  readonly pendingWrites: PendingWrites;
  /** Claims of one source controller (each remembers which of its own GatewayRoutes lost a route). */
  claims(): RouteClaims;
  /** The writer of one source controller: `controller` labels and logs, `statusFieldManager` owns its status fields. */
  writer(options: { controller: string; statusFieldManager: string }): GatewayRouteWriter;
}

export interface GatewayRoutesOptions {
  /** The cluster's DNS domain: a TLS backend's certificate names <service>.<namespace>.svc.<domain> by default. */
  clusterDomain: string;
}

export function setup(manager: Manager, { clusterDomain }: GatewayRoutesOptions): GatewayRoutes {
  const gatewayRoutes = manager.informer<GatewayRoute>(GATEWAY_ROUTE_KIND, { watched: true });
  const services = manager.informer<ServiceLike>(SERVICE, { watched: true });
  indexRouteClaims(gatewayRoutes);
  gatewayRoutes.addIndex(GATEWAY_ROUTE_BACKEND_INDEX, backendServicesOf);
  countConditions(gatewayRoutes);
  const service = lookupIn(services);
  const transports = new BackendTransports({ gatewayRoute: (key) => gatewayRoutes.get(key), service, clusterDomain });
  const pendingWrites = new PendingWrites();
  return {
    gatewayRoutes,
    services,
    backends: new BackendResolver(service, (route, backend, namespace) => transports.chooseFor(route, backend, namespace)),
    transports,
    pendingWrites,
    backendChanges: (map) => (enqueue) => {
      const changed = (serviceKey: string): void => {
        for (const key of map(serviceKey)) enqueue(key);
      };
      services.onChange((object) => changed(objectKey(object.metadata ?? {})));
      transports.onChange(changed);
    },
    claims: () => new RouteClaims(gatewayRoutes),
    writer: ({ controller, statusFieldManager }) =>
      new GatewayRouteWriter({
        custom: manager.custom,
        gatewayRoutes,
        pendingWrites,
        events: manager.events,
        logger: manager.logger.child({ controller }),
        controller,
        statusFieldManager,
      }),
  };
}

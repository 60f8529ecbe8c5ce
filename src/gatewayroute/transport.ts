// How the tunnel dials each exposed route's backend, read from the caches every replica holds: the route's
// GatewayRoute (its backend.protocol and TLS opt-out), the Service port's appProtocol, and the
// BackendTLSPolicy that applies to that port, through the one pure rule (routing/backend-transport.ts).
// Asked per request, so a changed Service or policy applies to the next request without a resync.
import type { GatewayRoute, RouteSpec } from '../api/v1alpha1/types.js';
import { chooseBackendTransport, PLAIN_HTTP, type AppliedTlsPolicy, type BackendTransport, type TransportChoice } from '../routing/backend-transport.js';
import type { ServiceLike } from '../routing/backends.js';
import { gatewayRouteOfKey, wireRouteKey } from '../api/v1alpha1/route-key.js';
import type { ResolvedBackend, ServiceLookup } from './backends.js';

/** The BackendTLSPolicy that applies to a Service port (by port name or number), if any. */
export type TlsPolicyLookup = (namespace: string, service: string, port: { name?: string; number: number }) => AppliedTlsPolicy | undefined;

/** A route as the tunnel exposes it: its key (which names its GatewayRoute) and its resolved backend. */
export interface RouteBackend {
  key: string;
  /** The backend Service's namespace. */
  namespace: string;
  service: string;
  port: number;
}

export const NO_TLS_POLICIES: TlsPolicyLookup = () => undefined;

export interface BackendTransportsOptions {
  /** GatewayRoutes by "namespace/name". */
  gatewayRoute: (key: string) => GatewayRoute | undefined;
  service: ServiceLookup;
  tlsPolicy?: TlsPolicyLookup;
  clusterDomain: string;
}

/** The route of `gatewayRoute` whose key is `key`, indexed once per object (objects in the cache are replaced, not mutated). */
const routeIndexes = new WeakMap<GatewayRoute, Map<string, RouteSpec>>();
function routeByKey(gatewayRoute: GatewayRoute, key: string): RouteSpec | undefined {
  let index = routeIndexes.get(gatewayRoute);
  if (!index) {
    const { namespace = '', name = '' } = gatewayRoute.metadata;
    index = new Map((gatewayRoute.spec.routes ?? []).map((r) => [wireRouteKey(namespace, name, { host: r.host ?? '', path: r.path, path_type: r.pathType }), r]));
    routeIndexes.set(gatewayRoute, index);
  }
  return index.get(key);
}

/** The Service port `port` (a number, as routes carry it once resolved). */
const servicePort = (service: ServiceLike | undefined, port: number) => service?.spec?.ports?.find((p) => p.port === port);

export class BackendTransports {
  private tlsPolicy: TlsPolicyLookup;
  private readonly listeners: Array<(serviceKey: string) => void> = [];

  constructor(private readonly options: BackendTransportsOptions) {
    this.tlsPolicy = options.tlsPolicy ?? NO_TLS_POLICIES;
  }

  /** BackendTLSPolicies are watched (the Gateway API serves them): they apply from now on. */
  useTlsPolicies(lookup: TlsPolicyLookup): void {
    this.tlsPolicy = lookup;
  }

  /** Called with "namespace/name" of a Service whose TLS settings may have changed (a policy or CA ConfigMap). */
  onChange(listener: (serviceKey: string) => void): void {
    this.listeners.push(listener);
  }

  /** What the TLS policies say for these Services may have changed: whoever shows it recomputes. */
  changed(serviceKeys: Iterable<string>): void {
    for (const key of serviceKeys) for (const listener of this.listeners) listener(key);
  }

  /** The choice for one route as exposed (its key names its GatewayRoute), with the reason for the status. */
  choose(route: RouteBackend): TransportChoice {
    const { namespace, name } = gatewayRouteOfKey(route.key);
    const gatewayRoute = this.options.gatewayRoute(`${namespace}/${name}`);
    return this.chooseFor(gatewayRoute && routeByKey(gatewayRoute, route.key), route, namespace);
  }

  /**
   * The choice for a route as translated (maybe not written yet) of a GatewayRoute in `gatewayRouteNamespace`
   * and its resolved backend: what ResolvedRefs says.
   */
  chooseFor(spec: RouteSpec | undefined, backend: ResolvedBackend, gatewayRouteNamespace: string): TransportChoice {
    const port = servicePort(this.options.service(backend.namespace, backend.service), backend.port);
    return chooseBackendTransport({
      routeProtocol: spec?.backend.protocol,
      insecureSkipVerify: spec?.backend.tls?.insecureSkipVerify,
      ...(backend.namespace !== gatewayRouteNamespace ? { crossNamespace: { from: gatewayRouteNamespace, to: backend.namespace } } : {}),
      appProtocol: port?.appProtocol,
      policy: this.tlsPolicy(backend.namespace, backend.service, { number: backend.port, ...(port?.name ? { name: port.name } : {}) }),
      serviceHost: `${backend.service}.${backend.namespace}.svc.${this.options.clusterDomain}`,
    });
  }

  /** What the tunnel dials, or why it must not (a BackendTLSPolicy that cannot be used). */
  forRoute(route: RouteBackend): BackendTransport | { error: string } {
    const choice = this.choose(route);
    return choice.ok ? choice.transport : { error: choice.error };
  }
}

/** For tunnels without caches (tests of the tunnel alone): every backend plain HTTP/1.1. */
export const plainTransport = (): BackendTransport => PLAIN_HTTP;

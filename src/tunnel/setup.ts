// The tunnel feature: proxy_* and ws_* frames of the control-plane socket reach in-cluster Services, only
// the ones the exposed routes name. In flight requests end when the socket goes or the operator stops.
import type { ControlPlaneClient } from '../controlplane/client.js';
import type { ExposedRoute } from '../controlplane/protocol.js';
import type { Manager } from '../operator/manager.js';
import { TlsFailureEvents } from './tls-failures.js';
import { Tunnel, type BackendTransportLookup, type TunnelOptions } from './tunnel.js';

export interface TunnelSetupOptions {
  client: ControlPlaneClient;
  /** What the control plane holds of this cluster's routes: the tunnel's boundary. */
  exposedRoutes: () => ExposedRoute[];
  /** How each route's backend is dialled (HTTP/1.1 or HTTP/2, cleartext or TLS). */
  transport: BackendTransportLookup;
  /** The uid of GatewayRoute namespace/name, for the Events of its backend's TLS failures. */
  gatewayRouteUid: (namespace: string, name: string) => string | undefined;
  tunnel: TunnelOptions;
}

export function setup(manager: Manager, { client, exposedRoutes, transport, gatewayRouteUid, tunnel: options }: TunnelSetupOptions): Tunnel {
  const tlsFailures = new TlsFailureEvents({ events: manager.events, uidOf: gatewayRouteUid });
  const tunnel = new Tunnel({
    socket: client,
    routes: exposedRoutes,
    transport,
    options,
    logger: manager.logger.child({ controller: 'tunnel' }),
    backendTlsFailed: (routeKey, message) => tlsFailures.report(routeKey, message),
  });
  client.addMessageListener((message) => tunnel.handle(message));
  // Every replica's socket carries traffic, the route sync or not: only a lost socket ends what it carried.
  client.onStateChange(() => {
    if (!client.registered) tunnel.abortAll();
  });
  manager.add({ name: 'tunnel', needLeaderElection: false, start: () => undefined, stop: () => tunnel.abortAll() });
  return tunnel;
}

// A backend whose certificate fails verification is refused per request (502 saying why); a Warning Event on
// the GatewayRoute whose route it was makes the reason visible where users look (`kubectl describe
// gatewayroute`, `kubectl get events`), since no status can know a CA is wrong before a handshake fails. At most
// one Event per GatewayRoute a minute (a busy route fails on every request), and a bounded memory of which
// GatewayRoutes were reported.
import { gatewayRouteOfKey } from '../api/v1alpha1/route-key.js';
import { GATEWAY_ROUTE, API_VERSION } from '../api/v1alpha1/types.js';
import type { EventRecorder, InvolvedObject } from '../operator/events.js';

export const BACKEND_TLS_FAILED = 'BackendTLSFailed';

export interface TlsFailureEventsOptions {
  events: Pick<EventRecorder, 'record'>;
  /** The GatewayRoute's uid, so `kubectl describe` finds the Event; undefined when it is gone. */
  uidOf(namespace: string, name: string): string | undefined;
  intervalMs?: number;
  /** GatewayRoutes remembered for the interval; past it the oldest is forgotten (and may be reported again). */
  maxRemembered?: number;
  now?: () => number;
}

export class TlsFailureEvents {
  private readonly lastReported = new Map<string, number>();
  private readonly intervalMs: number;
  private readonly maxRemembered: number;
  private readonly now: () => number;

  constructor(private readonly options: TlsFailureEventsOptions) {
    this.intervalMs = options.intervalMs ?? 60_000;
    this.maxRemembered = options.maxRemembered ?? 1024;
    this.now = options.now ?? Date.now;
  }

  /** A TLS failure dialling the backend of the route with key `routeKey` (namespace/name/…, see route-key.ts). */
  report(routeKey: string, message: string): void {
    const { namespace, name } = gatewayRouteOfKey(routeKey);
    const uid = this.options.uidOf(namespace, name);
    if (!name || uid === undefined) return;
    const key = `${namespace}/${name}`;
    const now = this.now();
    const last = this.lastReported.get(key);
    if (last !== undefined && now - last < this.intervalMs) return;
    this.lastReported.delete(key); // re-inserted last: the map's order is report order
    this.lastReported.set(key, now);
    if (this.lastReported.size > this.maxRemembered) this.lastReported.delete(this.lastReported.keys().next().value as string);
    const object: InvolvedObject = { apiVersion: API_VERSION, kind: GATEWAY_ROUTE.kind, namespace, name, uid };
    this.options.events.record(object, 'Warning', BACKEND_TLS_FAILED, `requests to this route's backend are refused (502): ${message}`);
  }
}

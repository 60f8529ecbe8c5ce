// The caches the Gateway API feature reads besides the routes (each route kind's controller has its own), and
// its options.
import type { GatewayRoute } from '../api/v1alpha1/types.js';
import type { Informer } from '../operator/informer.js';
import type { ServiceLike } from '../routing/backends.js';
import type { Gateway, GatewayClass, ReferenceGrant } from './types.js';

export interface GatewayApiOptions {
  /** GatewayClasses with this spec.controllerName are ours (--gateway-controller-name). */
  controllerName: string;
  allowCatchAll: boolean;
  concurrency: number;
}

export interface NamespaceLike {
  metadata?: { name?: string; labels?: Record<string, string> };
}

export interface GatewayApiInformers {
  gatewayClasses: Informer<GatewayClass>;
  gateways: Informer<Gateway>;
  /** None where the apiserver serves no ReferenceGrant. */
  referenceGrants?: Informer<ReferenceGrant>;
  namespaces: Informer<NamespaceLike>;
  services: Informer<ServiceLike>;
  gatewayRoutes: Informer<GatewayRoute>;
}

// Ingress → GatewayRoute. Level-triggered: reconcile(namespace/name) reads the Ingress, its Services and
// the existing GatewayRoute from the caches, server-side applies the GatewayRoute when it differs, and
// writes Accepted / ResolvedRefs (+ hosts, routeCount) to /status under its own field manager. A
// GatewayRoute it does not own (written by hand, or translated from an HTTPRoute) is never touched.
import { lookupIn, NO_CROSS_NAMESPACE, resolvedRefsCondition, sourceOwner } from '../api/v1alpha1/gatewayroute.js';
import { GatewayRouteWriter } from '../api/v1alpha1/gatewayroute-writer.js';
import { RouteClaims } from '../api/v1alpha1/route-claims.js';
import { EXCLUDE_ANNOTATION, GATEWAY_ROUTE_KIND, type GatewayRoute } from '../api/v1alpha1/types.js';
import { Controller } from '../operator/controller.js';
import type { Informer } from '../operator/informer.js';
import { INGRESS, INGRESS_CLASS, objectKey, SERVICE, splitKey } from '../operator/kinds.js';
import type { Manager } from '../operator/manager.js';
import type { ServiceLike } from '../routing/backends.js';
import { ingressClassOf, translateIngress, type IngressLike } from './translate.js';

export const STATUS_FIELD_MANAGER = 'gateway-operator-ingress';
const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';
const INGRESS_API_VERSION = 'networking.k8s.io/v1';

export interface Ingress extends IngressLike {
  metadata?: IngressLike['metadata'] & { uid?: string; labels?: Record<string, string>; deletionTimestamp?: string };
}
export interface IngressClass {
  metadata?: { name?: string; annotations?: Record<string, string> };
}

export interface IngressOptions {
  ingressClasses: readonly string[];
  /** --ingress-selector: only Ingresses with these labels. */
  labelSelector?: string;
  allowCatchAll: boolean;
  concurrency: number;
}

const BACKEND_SERVICE_INDEX = 'backend-service';

/** Registers the Ingress controller and the informers it reads with the manager. */
export function setup(manager: Manager, options: IngressOptions): IngressController {
  const controller = new IngressController(manager, options);
  manager.add(controller.controller);
  return controller;
}

export class IngressController {
  readonly controller: Controller;
  private readonly ingresses: Informer<Ingress>;
  private readonly services: Informer<ServiceLike>;
  private readonly ingressClasses: Informer<IngressClass>;
  private readonly gatewayRoutes: Informer<GatewayRoute>;
  private readonly writer: GatewayRouteWriter;
  private readonly claims: RouteClaims;

  constructor(
    manager: Manager,
    private readonly options: IngressOptions,
  ) {
    const { logger } = manager;
    // --watch-namespaces scopes everything namespaced: Ingresses, their Services and the GatewayRoutes.
    this.ingresses = manager.informer<Ingress>(INGRESS, { watched: true, labelSelector: options.labelSelector });
    this.services = manager.informer<ServiceLike>(SERVICE, { watched: true });
    this.ingressClasses = manager.informer<IngressClass>(INGRESS_CLASS);
    this.gatewayRoutes = manager.informer<GatewayRoute>(GATEWAY_ROUTE_KIND, { watched: true });
    this.writer = new GatewayRouteWriter({
      custom: manager.custom,
      gatewayRoutes: this.gatewayRoutes,
      events: manager.events,
      logger,
      controller: 'ingress',
      statusFieldManager: STATUS_FIELD_MANAGER,
    });
    this.claims = new RouteClaims(this.gatewayRoutes);
    this.controller = new Controller({ name: 'ingress', reconcile: (key) => this.reconcile(key), logger, concurrency: options.concurrency });
    this.ingresses.onChange((ingress) => this.controller.enqueue(objectKey(ingress.metadata ?? {})));
    this.ingresses.addIndex(BACKEND_SERVICE_INDEX, (ingress) => referencedServices(ingress).map((name) => `${ingress.metadata?.namespace}/${name}`));
    this.services.onChange((service) => {
      for (const ingress of this.ingresses.byIndex(BACKEND_SERVICE_INDEX, objectKey(service.metadata ?? {}))) this.controller.enqueue(objectKey(ingress.metadata ?? {}));
    });
    this.ingressClasses.onChange(() => {
      for (const ingress of this.ingresses.list()) this.controller.enqueue(objectKey(ingress.metadata ?? {}));
    });
    // Also when another source's or a hand-written GatewayRoute of the same name goes (the name is free
    // again), or one that claims the same host + path changes (a route may change hands).
    this.gatewayRoutes.onChange((route, previous, deleted) => {
      for (const key of [objectKey(route.metadata), ...this.claims.affectedBy(route, previous, deleted)]) {
        if (this.ingresses.get(key)) this.controller.enqueue(key);
      }
    });
  }

  /** Whether the operator's flags and the opt-out annotation select this Ingress. */
  selected(ingress: Ingress): boolean {
    if (ingress.metadata?.annotations?.[EXCLUDE_ANNOTATION] === 'true') return false;
    if (this.options.ingressClasses.length === 0) return true;
    const cls = ingressClassOf(ingress) ?? this.defaultClass();
    return cls !== undefined && this.options.ingressClasses.includes(cls);
  }

  private defaultClass(): string | undefined {
    return this.ingressClasses.list().find((c) => c.metadata?.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true')?.metadata?.name;
  }

  async reconcile(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const ingress = this.ingresses.get(key);
    const existing = this.gatewayRoutes.get(key);
    const owner = existing ? sourceOwner(existing, 'Ingress') : undefined;

    if (!ingress || ingress.metadata?.deletionTimestamp || !this.selected(ingress)) {
      this.writer.forgetNameConflict(key);
      this.claims.forget(key);
      // Not relying on garbage collection alone: it may be absent, and an unselected Ingress still exists.
      if (existing && owner) await this.writer.delete(existing, 'its Ingress is gone or no longer selected');
      return;
    }
    const uid = ingress.metadata?.uid ?? '';
    if (existing && owner?.uid !== uid) {
      if (!owner) {
        this.writer.reportNameConflict({ apiVersion: INGRESS_API_VERSION, kind: 'Ingress', namespace, name, uid }, existing);
        return;
      }
      // Owned by an earlier Ingress of the same name: replace it.
      await this.writer.delete(existing, 'replaced: its Ingress was recreated');
    }

    this.writer.forgetNameConflict(key);
    const mine = existing && owner?.uid === uid ? existing : undefined;
    const translation = translateIngress(ingress, { allowCatchAll: this.options.allowCatchAll, taken: this.claims.takenFor(key, mine) });
    const routes = translation.spec.routes ?? [];
    await this.writer.write(mine, {
      namespace,
      name,
      source: { apiVersion: INGRESS_API_VERSION, kind: 'Ingress', name, uid },
      annotations: translation.annotations,
      spec: translation.spec,
      accepted: translation.accepted,
      resolvedRefs: resolvedRefsCondition(routes, namespace, { service: lookupIn(this.services), crossNamespace: NO_CROSS_NAMESPACE }),
    });
  }
}

/** The Services an Ingress routes to (its default backend included). */
function referencedServices(ingress: IngressLike): string[] {
  const spec = ingress.spec ?? {};
  const names = (spec.rules ?? []).flatMap((rule) => (rule.http?.paths ?? []).map((p) => p.backend?.service?.name));
  return [...new Set([spec.defaultBackend?.service?.name, ...names].filter((n): n is string => !!n))];
}

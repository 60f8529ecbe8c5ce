// Ingress → GatewayRoute. Level-triggered: reconcile(namespace/name) reads the Ingress, its Services and
// the existing GatewayRoute from the caches, server-side applies the GatewayRoute when it differs, and
// writes Accepted / ResolvedRefs (+ hosts, routeCount) to /status under its own field manager. A
// GatewayRoute it does not own (written by hand) is never touched.
import type { CustomObjectsApi } from '@kubernetes/client-node';
import { conditionsChanged, findCondition, setConditions } from '../api/v1alpha1/conditions.js';
import {
  API_VERSION,
  EXCLUDE_ANNOTATION,
  GATEWAY_ROUTE,
  GROUP,
  MANAGED_BY_LABEL,
  VERSION,
  type GatewayRoute,
} from '../api/v1alpha1/types.js';
import { ingressOwner } from '../api/v1alpha1/ownership.js';
import type { Logger } from '../log.js';
import { applyObject, applyStatus, deleteObject, type CustomObjectRef } from '../operator/apply.js';
import { Controller } from '../operator/controller.js';
import type { EventRecorder } from '../operator/events.js';
import type { Informer } from '../operator/informer.js';
import { objectKey, splitKey } from '../operator/kinds.js';
import type { ServiceLike } from '../routing/backends.js';
import { jsonEqual } from '../operator/json.js';
import { hostsSummary, ingressClassOf, resolvedRefsCondition, translateIngress, userAnnotations, type IngressLike } from './translate.js';

export const FIELD_MANAGER = 'gateway-operator';
export const STATUS_FIELD_MANAGER = 'gateway-operator-ingress';
const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';

export interface Ingress extends IngressLike {
  metadata?: IngressLike['metadata'] & { uid?: string; labels?: Record<string, string>; deletionTimestamp?: string };
}
export interface IngressClass {
  metadata?: { name?: string; annotations?: Record<string, string> };
}

export interface IngressControllerOptions {
  ingressClasses: readonly string[];
  allowCatchAll: boolean;
  concurrency: number;
}

export function gatewayRouteRef(namespace: string, name: string): CustomObjectRef {
  return { group: GROUP, version: VERSION, plural: GATEWAY_ROUTE.plural, kind: GATEWAY_ROUTE.kind, namespace, name };
}

const BACKEND_SERVICE_INDEX = 'backend-service';

export class IngressController {
  readonly controller: Controller;
  /** Ingress key (namespace/name) → "ingress uid/GatewayRoute uid" of a name conflict already reported with an Event. */
  private readonly nameConflicts = new Map<string, string>();

  constructor(
    private readonly custom: CustomObjectsApi,
    private readonly ingresses: Informer<Ingress>,
    private readonly services: Informer<ServiceLike>,
    private readonly ingressClasses: Informer<IngressClass>,
    private readonly gatewayRoutes: Informer<GatewayRoute>,
    private readonly events: EventRecorder,
    private readonly options: IngressControllerOptions,
    private readonly logger: Logger,
  ) {
    this.controller = new Controller({ name: 'ingress', reconcile: (key) => this.reconcile(key), logger, concurrency: options.concurrency });
    ingresses.onChange((ingress) => this.controller.enqueue(objectKey(ingress.metadata ?? {})));
    ingresses.addIndex(BACKEND_SERVICE_INDEX, (ingress) => referencedServices(ingress).map((name) => `${ingress.metadata?.namespace}/${name}`));
    services.onChange((service) => {
      for (const ingress of this.ingresses.byIndex(BACKEND_SERVICE_INDEX, objectKey(service.metadata ?? {}))) this.controller.enqueue(objectKey(ingress.metadata ?? {}));
    });
    ingressClasses.onChange(() => {
      for (const ingress of this.ingresses.list()) this.controller.enqueue(objectKey(ingress.metadata ?? {}));
    });
    gatewayRoutes.onChange((route) => {
      if (route.metadata.labels?.[MANAGED_BY_LABEL] === 'ingress') this.controller.enqueue(objectKey(route.metadata));
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
    const owner = existing ? ingressOwner(existing) : undefined;

    if (!ingress || ingress.metadata?.deletionTimestamp || !this.selected(ingress)) {
      this.nameConflicts.delete(key);
      // Not relying on garbage collection alone: it may be absent, and an unselected Ingress still exists.
      if (existing && owner) {
        await deleteObject(this.custom, gatewayRouteRef(namespace, name), existing.metadata.uid);
        this.logger.info('deleted GatewayRoute: its Ingress is gone or no longer selected', { controller: 'ingress', namespace, name });
      }
      return;
    }
    const uid = ingress.metadata?.uid ?? '';
    if (existing && owner?.uid !== uid) {
      if (!owner) {
        this.reportNameConflict(key, ingress, existing);
        return;
      }
      // Owned by an earlier Ingress of the same name: replace it.
      await deleteObject(this.custom, gatewayRouteRef(namespace, name), existing.metadata.uid);
    }

    this.nameConflicts.delete(key);
    const translation = translateIngress(ingress, { allowCatchAll: this.options.allowCatchAll });
    const desired = {
      apiVersion: API_VERSION,
      kind: GATEWAY_ROUTE.kind,
      metadata: {
        name,
        namespace,
        labels: { [MANAGED_BY_LABEL]: 'ingress' },
        annotations: translation.annotations,
        ownerReferences: [{ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name, uid, controller: true }],
      },
      spec: translation.spec,
    };
    let current = existing && owner?.uid === uid ? existing : undefined;
    if (!current || !this.upToDate(current, desired)) {
      current = await applyObject<GatewayRoute>(this.custom, gatewayRouteRef(namespace, name), desired, FIELD_MANAGER);
      this.gatewayRoutes.observe(current);
      this.logger.info(existing ? 'updated GatewayRoute' : 'created GatewayRoute', {
        controller: 'ingress',
        namespace,
        name,
        routes: translation.spec.routes?.length ?? 0,
      });
    }

    const routes = translation.spec.routes ?? [];
    const resolved = resolvedRefsCondition(routes, (service) => this.services.get(`${namespace}/${service}`));
    const generation = current.metadata.generation;
    const conditions = setConditions(current.status?.conditions, [translation.accepted, resolved], generation, new Date()).filter(
      (c) => c.type === 'Accepted' || c.type === 'ResolvedRefs',
    );
    const previous = (current.status?.conditions ?? []).filter((c) => c.type === 'Accepted' || c.type === 'ResolvedRefs');
    // status.observedGeneration is the sync controller's: it says every status owner has seen the generation.
    const status = { hosts: hostsSummary(routes), routeCount: routes.length };
    const statusChanged =
      conditionsChanged(previous, conditions) ||
      current.status?.hosts !== status.hosts ||
      current.status?.routeCount !== status.routeCount;
    if (!statusChanged) return;

    await applyStatus(
      this.custom,
      gatewayRouteRef(namespace, name),
      { apiVersion: API_VERSION, kind: GATEWAY_ROUTE.kind, metadata: { name, namespace }, status: { ...status, conditions } },
      STATUS_FIELD_MANAGER,
    );
    for (const condition of conditions) {
      const before = findCondition(previous, condition.type);
      if (before?.status === condition.status) continue;
      if (!before && condition.status === 'True') continue; // a healthy first report is not news
      this.events.record(
        { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace, name, uid },
        condition.status === 'True' ? 'Normal' : 'Warning',
        condition.reason,
        `${condition.type}: ${condition.message}`,
      );
    }
  }

  /**
   * A GatewayRoute this operator does not manage holds the Ingress's name: both are left alone, and the user
   * learns why the Ingress is not exposed from a Warning Event on it (once per conflicting object).
   */
  private reportNameConflict(key: string, ingress: Ingress, existing: GatewayRoute): void {
    const namespace = ingress.metadata?.namespace ?? '';
    const name = ingress.metadata?.name ?? '';
    const uid = ingress.metadata?.uid ?? '';
    const message = `GatewayRoute ${namespace}/${name} exists and is not managed by gateway-operator; this Ingress is not exposed until one of them is renamed or that GatewayRoute is deleted`;
    this.logger.warn('a GatewayRoute not managed by this operator has the name of this Ingress; leaving both alone', { controller: 'ingress', namespace, name });
    const conflict = `${uid}/${existing.metadata.uid ?? ''}`;
    if (this.nameConflicts.get(key) === conflict) return;
    this.nameConflicts.set(key, conflict);
    this.events.record({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace, name, uid }, 'Warning', 'NameConflict', message);
  }

  private upToDate(current: GatewayRoute, desired: { metadata: { annotations: Record<string, string> }; spec: unknown }): boolean {
    const annotations = userAnnotations(current.metadata.annotations);
    return (
      jsonEqual(current.spec, desired.spec) &&
      current.metadata.labels?.[MANAGED_BY_LABEL] === 'ingress' &&
      jsonEqual(annotations, desired.metadata.annotations)
    );
  }
}

/** The Services an Ingress routes to (its default backend included). */
function referencedServices(ingress: IngressLike): string[] {
  const spec = ingress.spec ?? {};
  const names = (spec.rules ?? []).flatMap((rule) => (rule.http?.paths ?? []).map((p) => p.backend?.service?.name));
  return [...new Set([spec.defaultBackend?.service?.name, ...names].filter((n): n is string => !!n))];
}

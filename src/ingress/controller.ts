// Ingress → GatewayRoute. Level-triggered: reconcile(namespace/name) reads the Ingress, its Services and
// the existing GatewayRoute from the caches, server-side applies the GatewayRoute when it differs, and
// writes Accepted / ResolvedRefs (+ hosts, routeCount) to /status under its own field manager. A
// GatewayRoute it does not own (written by hand, or translated from an HTTPRoute) is never touched.
// Which Ingresses are taken: class.ts. The Ingresses of our IngressClass also get the hosted gateway's
// address in their own status, from a second controller (status.ts).
import { sourceOwner } from '../api/v1alpha1/gatewayroute.js';
import type { GatewayRoute } from '../api/v1alpha1/types.js';
import type { BackendContext } from '../gatewayroute/backends.js';
import type { RouteClaims } from '../gatewayroute/claims.js';
import type { GatewayRoutes } from '../gatewayroute/setup.js';
import type { GatewayRouteWriter } from '../gatewayroute/writer.js';
import type { Informer } from '../operator/informer.js';
import { INGRESS, INGRESS_CLASS, keysOf, objectKey, splitKey } from '../operator/kinds.js';
import { watch, type Manager } from '../operator/manager.js';
import { specOrMetadataChanged } from '../operator/predicates.js';
import { selected, type IngressClass } from './class.js';
import { addressKey, IngressStatusController, type GatewayAddressSource, type IngressWithStatus } from './status.js';
import { INGRESS_CONTROLLER, ingressGatewayRoute, ingressSource, type IngressLike } from './translate.js';

export const STATUS_FIELD_MANAGER = 'gateway-operator-ingress';

export interface Ingress extends IngressWithStatus {
  metadata?: IngressWithStatus['metadata'] & { labels?: Record<string, string> };
}

export interface IngressOptions {
  /** The shared GatewayRoute caches, writer and claims. */
  routes: GatewayRoutes;
  /** --ingress-class: classes taken besides ours (empty: every class). */
  ingressClasses: readonly string[];
  /** The controller name of our IngressClass (--gateway-controller-name, the GatewayClass's too). */
  controllerName: string;
  /** The address Ingresses of our class show; none (no flag, no control plane): their status is not written. */
  statusAddress?: GatewayAddressSource;
  /** --ingress-selector: only Ingresses with these labels. */
  labelSelector?: string;
  allowCatchAll: boolean;
  concurrency: number;
}

const BACKEND_SERVICE_INDEX = 'backend-service';

/** Registers the Ingress controller: Ingresses, their Services, IngressClasses and GatewayRoutes of the same name. */
export function setup(manager: Manager, options: IngressOptions): void {
  const { routes } = options;
  // --watch-namespaces scopes everything namespaced: Ingresses, their Services and the GatewayRoutes.
  const ingresses = manager.informer<Ingress>(INGRESS, { watched: true, labelSelector: options.labelSelector });
  const ingressClasses = manager.informer<IngressClass>(INGRESS_CLASS);
  ingresses.addIndex(BACKEND_SERVICE_INDEX, (ingress) => referencedServices(ingress).map((name) => `${ingress.metadata?.namespace}/${name}`));
  const claims = routes.claims();
  const ingress = new IngressController({
    ingresses,
    ingressClasses,
    gatewayRoutes: routes.gatewayRoutes,
    backends: routes.backends,
    claims,
    writer: routes.writer({ controller: INGRESS_CONTROLLER, statusFieldManager: STATUS_FIELD_MANAGER }),
    options,
  });
  manager.controller({
    name: INGRESS_CONTROLLER,
    // Status writes (ours below, or another ingress controller's) change nothing the translation reads.
    for: { informer: ingresses, predicate: specOrMetadataChanged },
    // A backend Service, or a BackendTLSPolicy or CA ConfigMap for it: ResolvedRefs says how it is dialled.
    sources: [routes.backendChanges((service) => keysOf(ingresses.byIndex(BACKEND_SERVICE_INDEX, service)))],
    watches: [
      watch({ informer: ingressClasses, map: () => keysOf(ingresses.list()) }),
      // Its own GatewayRoute, or another source's or a hand-written one of the same name going (the name is
      // free again), or one claiming the same host + path changing (a route may change hands). Status
      // writes (the sync controller's Synced, this controller's own) change neither.
      watch({
        informer: routes.gatewayRoutes,
        predicate: specOrMetadataChanged,
        map: (route: GatewayRoute, previous, deleted) => [objectKey(route.metadata), ...claims.affectedBy(route, previous, deleted)].filter((key) => ingresses.get(key)),
      }),
    ],
    reconcile: (key) => ingress.reconcile(key),
    concurrency: options.concurrency,
  });
  if (options.statusAddress) setupStatus(manager, { ingresses, ingressClasses, address: options.statusAddress, options });
}

/** The controller of our class's Ingress statuses: on any Ingress or IngressClass change, and when the address changes. */
function setupStatus(manager: Manager, parts: { ingresses: Informer<Ingress>; ingressClasses: Informer<IngressClass>; address: GatewayAddressSource; options: IngressOptions }): void {
  const { ingresses, ingressClasses, address, options } = parts;
  const status = new IngressStatusController({
    ingresses,
    ingressClasses,
    address,
    controllerName: options.controllerName,
    custom: manager.custom,
    logger: manager.logger.child({ controller: 'ingress-status' }),
  });
  const ours = (): string[] => keysOf(ingresses.list().filter((i) => status.ours(i)));
  let shown = addressKey(address.current());
  manager.controller({
    name: 'ingress-status',
    // No predicate: a status someone else overwrote is written back.
    for: { informer: ingresses },
    watches: [watch({ informer: ingressClasses, map: ours })],
    sources: [
      (enqueue) =>
        address.onChange(() => {
          const now = addressKey(address.current());
          if (now === shown) return;
          shown = now;
          for (const key of ours()) enqueue(key);
        }),
    ],
    reconcile: (key) => status.reconcile(key),
    concurrency: options.concurrency,
  });
}

interface IngressControllerParts {
  ingresses: Informer<Ingress>;
  ingressClasses: Informer<IngressClass>;
  gatewayRoutes: Informer<GatewayRoute>;
  backends: BackendContext;
  claims: RouteClaims;
  writer: GatewayRouteWriter;
  options: IngressOptions;
}

class IngressController {
  private readonly ingresses: Informer<Ingress>;
  private readonly ingressClasses: Informer<IngressClass>;
  private readonly gatewayRoutes: Informer<GatewayRoute>;
  private readonly backends: BackendContext;
  private readonly writer: GatewayRouteWriter;
  private readonly claims: RouteClaims;
  private readonly options: IngressOptions;

  constructor(parts: IngressControllerParts) {
    this.ingresses = parts.ingresses;
    this.ingressClasses = parts.ingressClasses;
    this.gatewayRoutes = parts.gatewayRoutes;
    this.backends = parts.backends;
    this.writer = parts.writer;
    this.claims = parts.claims;
    this.options = parts.options;
  }

  /** Whether the operator takes this Ingress (the rule in class.ts). */
  selected(ingress: Ingress): boolean {
    return selected(ingress, this.ingressClasses.list(), this.options);
  }

  async reconcile(key: string): Promise<void> {
    const { namespace } = splitKey(key);
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
    const source = ingressSource(ingress);
    const { uid } = source;
    if (existing && owner?.uid !== uid) {
      if (!owner) {
        this.writer.reportNameConflict({ ...source, namespace }, existing);
        return;
      }
      // Owned by an earlier Ingress of the same name: replace it.
      await this.writer.delete(existing, 'replaced: its Ingress was recreated');
    }

    this.writer.forgetNameConflict(key);
    const mine = existing && owner?.uid === uid ? existing : undefined;
    await this.writer.write(mine, ingressGatewayRoute(ingress, { allowCatchAll: this.options.allowCatchAll, taken: this.claims.takenFor(key, mine), backends: this.backends }));
  }
}

/** The Services an Ingress routes to (its default backend included). */
function referencedServices(ingress: IngressLike): string[] {
  const spec = ingress.spec ?? {};
  const names = (spec.rules ?? []).flatMap((rule) => (rule.http?.paths ?? []).map((p) => p.backend?.service?.name));
  return [...new Set([spec.defaultBackend?.service?.name, ...names].filter((n): n is string => !!n))];
}

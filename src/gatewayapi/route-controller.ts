// A Gateway API route (HTTPRoute, GRPCRoute: one RouteKind each) → GatewayRoute. reconcile(namespace/name)
// reads the route, the Gateways and GatewayClasses it names, the ReferenceGrants and Services from the caches;
// writes the GatewayRoute (owned by the route, same name) while the route is attached to at least one
// Gateway of this operator, and this operator's entries of the route's status.parents. Other controllers'
// entries are kept as they are.
import { sourceOwner } from '../api/v1alpha1/gatewayroute.js';
import { conditionsChanged, ownConditions } from '../api/v1alpha1/conditions.js';
import type { GatewayRoute } from '../api/v1alpha1/types.js';
import type { RouteClaims } from '../gatewayroute/claims.js';
import type { GatewayRoutes } from '../gatewayroute/setup.js';
import type { GatewayRouteWriter } from '../gatewayroute/writer.js';
import { applyStatus } from '../operator/apply.js';
import type { Informer } from '../operator/informer.js';
import { jsonEqual } from '../operator/json.js';
import { splitKey } from '../operator/kinds.js';
import type { Manager } from '../operator/manager.js';
import { attachedHosts, ourParents, type ParentAttachment } from './attach.js';
import type { GatewayApiInformers, GatewayApiOptions } from './informers.js';
import type { RouteKind } from './route-kinds.js';
import { routeParentConditions } from './status.js';
import { ROUTE_API_VERSION, routeGatewayRoute, routeSource } from './translate.js';
import { GATEWAY_API_GROUP, type GatewayApiRoute, type ParentReference, type RouteParentStatus } from './types.js';

export interface RouteControllerOptions<R extends GatewayApiRoute> {
  manager: Manager;
  kind: RouteKind<R>;
  /** The routes of this kind (scoped by --watch-namespaces). */
  informer: Informer<R>;
  informers: GatewayApiInformers;
  routes: GatewayRoutes;
  options: GatewayApiOptions;
}

export class RouteController<R extends GatewayApiRoute> {
  readonly kind: RouteKind<R>;
  readonly informer: Informer<R>;
  readonly claims: RouteClaims;
  private readonly writer: GatewayRouteWriter;

  constructor(private readonly parts: RouteControllerOptions<R>) {
    const { kind, informer, routes } = parts;
    this.kind = kind;
    this.informer = informer;
    this.writer = routes.writer({ controller: kind.controller, statusFieldManager: kind.statusFieldManager });
    this.claims = routes.claims();
  }

  /** This operator's parents of the route: parentRefs naming a Gateway whose GatewayClass has our controllerName. */
  parents(route: R): ParentAttachment[] {
    const { gateways, gatewayClasses, namespaces } = this.parts.informers;
    return ourParents(route, this.kind.name, {
      controllerName: this.parts.options.controllerName,
      gateway: (key) => gateways.get(key),
      gatewayClass: (name) => gatewayClasses.get(name),
      namespaceLabels: (namespace) => namespaces.get(namespace)?.metadata?.labels,
    });
  }

  async reconcile(key: string): Promise<void> {
    const { kind, informers, routes, options } = this.parts;
    const { namespace } = splitKey(key);
    const route = this.informer.get(key);
    const existing = informers.gatewayRoutes.get(key);
    const owner = existing ? sourceOwner(existing, kind.name) : undefined;
    if (!route || route.metadata.deletionTimestamp) {
      this.writer.forgetNameConflict(key);
      this.claims.forget(key);
      if (existing && owner) await this.writer.delete(existing, `its ${kind.name} is gone`);
      return;
    }
    const source = routeSource({ route, kind: kind.name });
    const parents = this.parents(route);
    let mine: GatewayRoute | undefined = existing && owner?.uid === source.uid ? existing : undefined;
    const translation = kind.translate(route, attachedHosts(parents), {
      allowCatchAll: options.allowCatchAll,
      referenceGrants: informers.referenceGrants?.list() ?? [],
      service: routes.backends.service,
      taken: this.claims.takenFor(key, mine),
    });
    const attached = parents.some((p) => p.attachment.attached);

    let nameConflict: string | undefined;
    if (existing && !mine) {
      if (owner) {
        await this.writer.delete(existing, `replaced: its ${kind.name} was recreated`); // an earlier route of this kind and name
      } else if (attached) {
        nameConflict = this.writer.reportNameConflict({ ...source, namespace }, existing);
      }
    }
    if (!nameConflict) this.writer.forgetNameConflict(key);

    if (attached && !nameConflict) {
      await this.writer.write(mine, routeGatewayRoute({ route, kind: kind.name }, translation, routes.backends));
    } else if (mine) {
      await this.writer.delete(mine, `its ${kind.name} is attached to no Gateway of this operator`);
      mine = undefined;
    }
    await this.writeParentStatus(route, parents.map((p) => ({ ref: p.ref, conditions: routeParentConditions({ attachment: p.attachment, translation, nameConflict }) })));
  }

  /** Replaces this operator's entries of status.parents; written only when they change. */
  private async writeParentStatus(route: R, entries: Array<{ ref: ParentReference; conditions: ReturnType<typeof routeParentConditions> }>): Promise<void> {
    const { controllerName } = this.parts.options;
    const { resource, statusFieldManager } = this.kind;
    const previous = route.status?.parents ?? [];
    const previousMine = previous.filter((p) => p.controllerName === controllerName);
    const now = new Date();
    const mine: RouteParentStatus[] = entries.map(({ ref, conditions }) => {
      const before = previousMine.find((p) => jsonEqual(p.parentRef, ref));
      return { parentRef: ref, controllerName, conditions: ownConditions(before?.conditions, conditions, route.metadata.generation, now) };
    });
    const unchanged =
      mine.length === previousMine.length &&
      mine.every((entry, i) => jsonEqual(entry.parentRef, previousMine[i]?.parentRef) && !conditionsChanged(entry.conditions, previousMine[i]?.conditions));
    if (unchanged) return;
    const others = previous.filter((p) => p.controllerName !== controllerName);
    const { namespace = '', name = '' } = route.metadata;
    await applyStatus(
      this.parts.manager.custom,
      { group: GATEWAY_API_GROUP, version: 'v1', plural: resource.plural, kind: resource.kind, namespace, name },
      // status.parents is an atomic list: the other controllers' entries are written back unchanged.
      { apiVersion: ROUTE_API_VERSION, kind: resource.kind, metadata: { name, namespace }, status: { parents: [...others, ...mine] } },
      statusFieldManager,
    );
  }
}

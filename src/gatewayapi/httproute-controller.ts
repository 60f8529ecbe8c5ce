// HTTPRoute → GatewayRoute. reconcile(namespace/name) reads the HTTPRoute, the Gateways and GatewayClasses
// it names, the ReferenceGrants and Services from the caches; writes the GatewayRoute (owned by the
// HTTPRoute, same name) while the route is attached to at least one Gateway of this operator, and this
// operator's entries of the HTTPRoute's status.parents. Other controllers' entries are kept as they are.
import { sourceOwner } from '../api/v1alpha1/gatewayroute.js';
import { conditionsChanged, ownConditions } from '../api/v1alpha1/conditions.js';
import type { GatewayRoute } from '../api/v1alpha1/types.js';
import type { RouteClaims } from '../gatewayroute/claims.js';
import type { GatewayRoutes } from '../gatewayroute/setup.js';
import type { GatewayRouteWriter, TranslatedGatewayRoute } from '../gatewayroute/writer.js';
import { applyStatus } from '../operator/apply.js';
import { jsonEqual } from '../operator/json.js';
import { splitKey } from '../operator/kinds.js';
import type { Manager } from '../operator/manager.js';
import { attachedHosts, ourParents, ownsClass, type ParentAttachment } from './attach.js';
import type { GatewayApiInformers, GatewayApiOptions } from './informers.js';
import { routeParentConditions } from './status.js';
import { HTTPROUTE_API_VERSION, HTTPROUTE_CONTROLLER, httpRouteGatewayRoute, httpRouteSource, translateHTTPRoute } from './translate.js';
import { GATEWAY_API_GROUP, HTTP_ROUTE, type HTTPRoute, type ParentReference, type RouteParentStatus } from './types.js';

export const HTTPROUTE_STATUS_FIELD_MANAGER = 'gateway-operator-httproute';

export class HTTPRouteController {
  private readonly writer: GatewayRouteWriter;
  readonly claims: RouteClaims;

  constructor(
    private readonly manager: Manager,
    private readonly informers: GatewayApiInformers,
    private readonly routes: GatewayRoutes,
    private readonly options: GatewayApiOptions,
  ) {
    this.writer = routes.writer({ controller: HTTPROUTE_CONTROLLER, statusFieldManager: HTTPROUTE_STATUS_FIELD_MANAGER });
    this.claims = routes.claims();
  }

  /** This operator's parents of the route: parentRefs naming a Gateway whose GatewayClass has our controllerName. */
  parents(route: HTTPRoute): ParentAttachment[] {
    const { gateways, gatewayClasses, namespaces } = this.informers;
    return ourParents(route, {
      controllerName: this.options.controllerName,
      gateway: (key) => gateways.get(key),
      gatewayClass: (name) => gatewayClasses.get(name),
      namespaceLabels: (namespace) => namespaces.get(namespace)?.metadata?.labels,
    });
  }

  ownsClass(className: string): boolean {
    return ownsClass(this.informers.gatewayClasses.get(className), this.options.controllerName);
  }

  async reconcile(key: string): Promise<void> {
    const { namespace } = splitKey(key);
    const route = this.informers.httpRoutes.get(key);
    const existing = this.informers.gatewayRoutes.get(key);
    const owner = existing ? sourceOwner(existing, 'HTTPRoute') : undefined;
    if (!route || route.metadata.deletionTimestamp) {
      this.writer.forgetNameConflict(key);
      this.claims.forget(key);
      if (existing && owner) await this.writer.delete(existing, 'its HTTPRoute is gone');
      return;
    }
    const source = httpRouteSource(route);
    const { uid } = source;
    const parents = this.parents(route);
    let mine: GatewayRoute | undefined = existing && owner?.uid === uid ? existing : undefined;
    const translation = translateHTTPRoute(route, attachedHosts(parents), {
      allowCatchAll: this.options.allowCatchAll,
      referenceGrants: this.informers.referenceGrants?.list() ?? [],
      service: this.routes.backends.service,
      taken: this.claims.takenFor(key, mine),
    });
    const attached = parents.some((p) => p.attachment.attached);

    let nameConflict: string | undefined;
    if (existing && !mine) {
      if (owner) {
        await this.writer.delete(existing, 'replaced: its HTTPRoute was recreated'); // an earlier HTTPRoute of this name
      } else if (attached) {
        nameConflict = this.writer.reportNameConflict({ ...source, namespace }, existing);
      }
    }
    if (!nameConflict) this.writer.forgetNameConflict(key);

    if (attached && !nameConflict) {
      await this.writer.write(mine, httpRouteGatewayRoute(route, translation, this.routes.backends));
    } else if (mine) {
      await this.writer.delete(mine, 'its HTTPRoute is attached to no Gateway of this operator');
      mine = undefined;
    }
    await this.writeParentStatus(route, parents.map((p) => ({ ref: p.ref, conditions: routeParentConditions({ attachment: p.attachment, translation, nameConflict }) })));
  }

  /** Replaces this operator's entries of status.parents; written only when they change. */
  private async writeParentStatus(route: HTTPRoute, entries: Array<{ ref: ParentReference; conditions: ReturnType<typeof routeParentConditions> }>): Promise<void> {
    const { controllerName } = this.options;
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
      this.manager.custom,
      { group: GATEWAY_API_GROUP, version: 'v1', plural: HTTP_ROUTE.plural, kind: HTTP_ROUTE.kind, namespace, name },
      // status.parents is an atomic list: the other controllers' entries are written back unchanged.
      { apiVersion: HTTPROUTE_API_VERSION, kind: HTTP_ROUTE.kind, metadata: { name, namespace }, status: { parents: [...others, ...mine] } },
      HTTPROUTE_STATUS_FIELD_MANAGER,
    );
  }
}

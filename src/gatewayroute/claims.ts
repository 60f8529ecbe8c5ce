// Which GatewayRoute serves a host + path when several ask for it: the oldest (creationTimestamp; within one
// second, the one already serving it; then namespace/name). A later GatewayRoute translated from an Ingress or
// an HTTPRoute leaves the route out and says why in its Accepted condition; hand-written GatewayRoutes are
// never rewritten, only counted.
import { routeIdentity } from '../api/v1alpha1/gatewayroute.js';
import type { GatewayRoute, RouteSpec } from '../api/v1alpha1/types.js';
import type { Informer } from '../operator/informer.js';
import { objectKey } from '../operator/kinds.js';

const ROUTE_INDEX = 'route-identity';

function claimedIdentities(route: GatewayRoute): string[] {
  return (route.spec.routes ?? []).map(routeIdentity);
}

/** GatewayRoutes by the routes they claim; registered once per informer (setup does), read by every RouteClaims. */
export function indexRouteClaims(gatewayRoutes: Informer<GatewayRoute>): void {
  gatewayRoutes.addIndex(ROUTE_INDEX, claimedIdentities);
}

/** What RouteClaims reads: the GatewayRoutes claiming a route (an informer with indexRouteClaims, or a ClaimedRoutes). */
export type ClaimIndex = Pick<Informer<GatewayRoute>, 'byIndex'>;

/** A ClaimIndex over GatewayRoutes held in memory, for `gateway-operator preview` (no cluster, no informer). */
export class ClaimedRoutes implements ClaimIndex {
  private readonly byIdentity = new Map<string, GatewayRoute[]>();

  add(route: GatewayRoute): void {
    for (const identity of new Set(claimedIdentities(route))) {
      const holders = this.byIdentity.get(identity);
      if (holders) holders.push(route);
      else this.byIdentity.set(identity, [route]);
    }
  }

  byIndex(index: string, identity: string): GatewayRoute[] {
    return index === ROUTE_INDEX ? [...(this.byIdentity.get(identity) ?? [])] : [];
  }
}

export function describeRoute(route: Pick<RouteSpec, 'host' | 'path' | 'pathType'>): string {
  return `${route.host || '*'}${route.path} (${route.pathType})`;
}

function created(route: GatewayRoute | undefined): number {
  const at = route?.metadata.creationTimestamp;
  return at === undefined ? Number.POSITIVE_INFINITY : new Date(at).getTime(); // not created yet: the newest
}

/** One per source controller: it also remembers which of its own GatewayRoutes lost which routes. */
export class RouteClaims {
  /** Route identity → keys of this controller's GatewayRoutes that left it out, for a route older one gives up. */
  private readonly losers = new Map<string, Set<string>>();
  private readonly lost = new Map<string, Set<string>>();

  /** `gatewayRoutes` has the claims index (indexRouteClaims). */
  constructor(private readonly gatewayRoutes: ClaimIndex) {}

  /**
   * For the GatewayRoute `key` (`current`: as cached, undefined before it exists): a function saying which
   * older GatewayRoute already serves a route, for the translation to leave it out. Call once per reconcile.
   */
  takenFor(key: string, current: GatewayRoute | undefined): (route: Pick<RouteSpec, 'host' | 'path' | 'pathType'>) => string | undefined {
    this.forget(key);
    const mine = new Set((current?.spec.routes ?? []).map(routeIdentity));
    return (route) => {
      const identity = routeIdentity(route);
      const holder = this.gatewayRoutes
        .byIndex(ROUTE_INDEX, identity)
        .find((other) => {
          if (objectKey(other.metadata) === key) return false;
          const [theirs, ours] = [created(other), created(current)];
          if (theirs !== ours) return theirs < ours;
          // Created in the same second (timestamps have whole seconds): the one already serving the route keeps
          // it; if both do (a race), the smaller namespace/name, so every operator agrees.
          return mine.has(identity) ? objectKey(other.metadata) < key : true;
        });
      if (!holder) return undefined;
      this.remember(key, identity);
      const source = holder.spec.source ? ` (from ${holder.spec.source.kind} ${holder.spec.source.name})` : '';
      return `${describeRoute(route)} is already served by GatewayRoute ${objectKey(holder.metadata)}${source}`;
    };
  }

  /** The source is gone: it claims nothing any more. */
  forget(key: string): void {
    for (const identity of this.lost.get(key) ?? []) {
      const keys = this.losers.get(identity);
      keys?.delete(key);
      if (keys?.size === 0) this.losers.delete(identity);
    }
    this.lost.delete(key);
  }

  /**
   * Keys to look at again after a GatewayRoute changed: the others claiming a route it claims or claimed
   * (one of them may now lose it) and this controller's ones that lost such a route (they may now win it).
   * None when only its status changed (the same generation): claims follow the spec.
   */
  affectedBy(route: GatewayRoute, previous: GatewayRoute | undefined, deleted: boolean): string[] {
    const sameObject = previous?.metadata.uid === route.metadata.uid; // a new uid: deleted and made again
    if (!deleted && previous && sameObject && previous.metadata.generation === route.metadata.generation) return [];
    const self = objectKey(route.metadata);
    const identities = new Set([...(route.spec.routes ?? []), ...(previous?.spec.routes ?? [])].map(routeIdentity));
    const keys = new Set<string>();
    for (const identity of identities) {
      for (const other of this.gatewayRoutes.byIndex(ROUTE_INDEX, identity)) keys.add(objectKey(other.metadata));
      for (const loser of this.losers.get(identity) ?? []) keys.add(loser);
    }
    keys.delete(self);
    return [...keys];
  }

  private remember(key: string, identity: string): void {
    let keys = this.losers.get(identity);
    if (!keys) this.losers.set(identity, (keys = new Set()));
    keys.add(key);
    let identities = this.lost.get(key);
    if (!identities) this.lost.set(key, (identities = new Set()));
    identities.add(identity);
  }
}

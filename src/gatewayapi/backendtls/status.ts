// A BackendTLSPolicy's status.ancestors as this operator writes them, pure. The ancestors are where the
// policy takes effect through us (routes permitted to use a targeted Service): the Gateways of our GatewayClass that HTTPRoutes using a targeted Service
// are attached to (the Gateway API's model), and, for a Service reached through an Ingress or a hand-written
// GatewayRoute (no Gateway involved), that GatewayRoute (group gateway.pipeops.io): the object whose
// ResolvedRefs shows the policy's effect. Only our entries (controllerName ours) are computed; the others are
// kept as they are, and no entry is added past the Gateway API's 16.
import { conditionsChanged, ownConditions, type ConditionInput } from '../../api/v1alpha1/conditions.js';
import { sourceOwner } from '../../api/v1alpha1/gatewayroute.js';
import { resolveRouteBackend, type BackendContext } from '../../gatewayroute/backends.js';
import { GROUP, type GatewayRoute, type RouteSpec } from '../../api/v1alpha1/types.js';
import { jsonEqual } from '../../operator/json.js';
import { GATEWAY_API_GROUP, type GatewayApiRoute, type ParentReference } from '../types.js';
import { serviceTargets, type BackendTLSPolicy, type PolicyAncestorStatus } from './policy.js';

export const MAX_ANCESTORS = 16;

export interface AncestorLookups {
  controllerName: string;
  /** GatewayRoutes with a route to Service "namespace/name". */
  gatewayRoutesUsing(serviceKey: string): GatewayRoute[];
  /** Whether `route`'s backend (in `namespace`, the GatewayRoute's) is port `sectionName` of its Service. */
  usesPort(route: RouteSpec, namespace: string, sectionName: string): boolean;
  /** How GatewayRoutes' backends resolve: a route not permitted to use the Service (no ReferenceGrant) is no ancestor. */
  backends: BackendContext;
  /** The route of a translated kind (HTTPRoute, GRPCRoute) a GatewayRoute is owned by; undefined for other kinds. */
  route(kind: string, key: string): GatewayApiRoute | undefined;
}

const refKey = (ref: ParentReference): string => `${ref.group ?? ''}/${ref.kind ?? ''}/${ref.namespace ?? ''}/${ref.name}`;

/** The Gateways (and GatewayRoutes) the policy takes effect at through this operator, sorted. */
export function ancestorsOf(policy: BackendTLSPolicy, lookups: AncestorLookups): ParentReference[] {
  const namespace = policy.metadata.namespace ?? '';
  const found = new Map<string, ParentReference>();
  const add = (ref: ParentReference): void => void found.set(refKey(ref), ref);
  for (const target of serviceTargets(policy)) {
    const serviceKey = `${namespace}/${target.service}`;
    for (const gatewayRoute of lookups.gatewayRoutesUsing(serviceKey)) {
      const routeNamespace = gatewayRoute.metadata.namespace ?? '';
      const uses = (gatewayRoute.spec.routes ?? []).some(
        (r) =>
          `${r.backend.namespace ?? routeNamespace}/${r.backend.service}` === serviceKey &&
          (!target.sectionName || lookups.usesPort(r, routeNamespace, target.sectionName)) &&
          // Naming another namespace's Service is not using it: only a ReferenceGrant there makes it so.
          resolveRouteBackend(r, routeNamespace, lookups.backends).ok,
      );
      if (!uses) continue;
      const owner = sourceOwner(gatewayRoute);
      if (owner?.kind === 'HTTPRoute' || owner?.kind === 'GRPCRoute') {
        const route = lookups.route(owner.kind, `${routeNamespace}/${owner.name}`);
        for (const parent of route?.status?.parents ?? []) {
          if (parent.controllerName !== lookups.controllerName || !parent.conditions.some((c) => c.type === 'Accepted' && c.status === 'True')) continue;
          const ref = parent.parentRef;
          add({ group: ref.group ?? GATEWAY_API_GROUP, kind: ref.kind ?? 'Gateway', namespace: ref.namespace ?? routeNamespace, name: ref.name });
        }
      } else {
        add({ group: GROUP, kind: 'GatewayRoute', namespace: routeNamespace, name: gatewayRoute.metadata.name ?? '' });
      }
    }
  }
  return [...found.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, ref]) => ref);
}

export interface AncestorsUpdate {
  /** The whole list to write: the other controllers' entries unchanged, then ours. */
  ancestors: PolicyAncestorStatus[];
  changed: boolean;
  /** Ours that did not fit in the 16 entries. */
  left: number;
}

/** Our entries for `refs`, each with `conditions` (transition times kept from the previous entry of the same ancestor). */
export function updateAncestors(options: {
  previous: readonly PolicyAncestorStatus[] | undefined;
  refs: readonly ParentReference[];
  conditions: readonly ConditionInput[];
  controllerName: string;
  generation: number | undefined;
  now: Date;
}): AncestorsUpdate {
  const { refs, conditions, controllerName, generation, now } = options;
  const previous = options.previous ?? [];
  const others = previous.filter((a) => a.controllerName !== controllerName);
  const previousMine = previous.filter((a) => a.controllerName === controllerName);
  const room = Math.max(0, MAX_ANCESTORS - others.length);
  const mine = refs.slice(0, room).map((ref): PolicyAncestorStatus => {
    const before = previousMine.find((a) => jsonEqual(a.ancestorRef, ref));
    return { ancestorRef: ref, controllerName, conditions: ownConditions(before?.conditions, conditions, generation, now) };
  });
  const changed =
    mine.length !== previousMine.length ||
    mine.some((entry, i) => !jsonEqual(entry.ancestorRef, previousMine[i]?.ancestorRef) || conditionsChanged(entry.conditions, previousMine[i]?.conditions));
  return { ancestors: [...others, ...mine], changed, left: refs.length - mine.length };
}

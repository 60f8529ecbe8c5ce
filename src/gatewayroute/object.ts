// What a source controller (Ingress, HTTPRoute) writes for a translated GatewayRoute, pure: the object applied
// (metadata + spec), the status fields it owns, and the name-conflict message. The writer applies these; the
// preview command prints them, so both show the same GatewayRoute.
import { ownConditions, type ConditionInput } from '../api/v1alpha1/conditions.js';
import { sourceOwner, sourceStatus, type SourceStatus, type TranslatedFrom } from '../api/v1alpha1/gatewayroute.js';
import { API_VERSION, GATEWAY_ROUTE, MANAGED_BY_LABEL, type Condition, type GatewayRoute, type GatewayRouteSpec } from '../api/v1alpha1/types.js';
import { resolvedRefsCondition, type BackendContext } from './backends.js';

/** The object a GatewayRoute is translated from; it becomes the GatewayRoute's controlling owner. */
export interface SourceRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

export interface TranslatedGatewayRoute {
  namespace: string;
  name: string;
  source: SourceRef;
  annotations: Record<string, string>;
  spec: GatewayRouteSpec;
  accepted: ConditionInput;
  resolvedRefs: ConditionInput;
  /** Source annotations not applied, each named with its value: a Warning Event on the source says so. */
  ignored: readonly string[];
}

/** A source's translation as its controller writes it: same namespace and name, ResolvedRefs from `backends`. */
export function translatedGatewayRoute(parts: {
  namespace: string;
  source: SourceRef;
  translation: { spec: GatewayRouteSpec; accepted: ConditionInput; annotations: Record<string, string>; ignored: readonly string[] };
  backends: BackendContext;
}): TranslatedGatewayRoute {
  const { namespace, source, translation, backends } = parts;
  return {
    namespace,
    name: source.name,
    source,
    annotations: translation.annotations,
    spec: translation.spec,
    accepted: translation.accepted,
    ignored: translation.ignored,
    resolvedRefs: resolvedRefsCondition(translation.spec.routes ?? [], namespace, backends),
  };
}

/** Metadata and spec as server-side applied; `controller` (the writing controller's name) is the managed-by label. */
export function gatewayRouteBody(desired: TranslatedGatewayRoute, controller: string): GatewayRoute {
  return {
    apiVersion: API_VERSION,
    kind: GATEWAY_ROUTE.kind,
    metadata: {
      name: desired.name,
      namespace: desired.namespace,
      labels: { [MANAGED_BY_LABEL]: controller },
      annotations: desired.annotations,
      ownerReferences: [{ ...desired.source, controller: true }],
    },
    spec: desired.spec,
  };
}

/**
 * The status fields a source controller owns: Accepted and ResolvedRefs (transition times kept from
 * `previous`), and source, hosts, routeCount.
 */
export function ownedStatus(
  desired: TranslatedGatewayRoute,
  previous: readonly Condition[] | undefined,
  generation: number | undefined,
  now: Date,
): SourceStatus & { conditions: Condition[] } {
  return {
    ...sourceStatus(desired.source.kind as TranslatedFrom, desired.spec.routes ?? []),
    conditions: ownConditions(previous, [desired.accepted, desired.resolvedRefs], generation, now),
  };
}

/** What holds a GatewayRoute name: "is translated from Ingress ns/a", or that it was written by hand. */
export function heldBy(existing: GatewayRoute): string {
  const holder = sourceOwner(existing);
  return holder ? `is translated from ${holder.kind} ${existing.metadata.namespace ?? ''}/${holder.name}` : 'exists and is not managed by gateway-operator';
}

/** Why `source` gets no GatewayRoute while `existing` (not its own) holds the name. */
export function nameConflictMessage(source: { kind: string; namespace: string; name: string }, existing: GatewayRoute): string {
  const { namespace, name, kind } = source;
  return `GatewayRoute ${namespace}/${name} ${heldBy(existing)}; this ${kind} is not exposed until one of them is renamed or that GatewayRoute is deleted`;
}

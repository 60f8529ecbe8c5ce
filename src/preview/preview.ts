// `gateway-operator preview`, pure: the GatewayRoutes (with the status the source controllers write) that
// a set of manifests would give, with no cluster. It composes the features' own translation as their
// controllers do (Ingress selection and translation, HTTPRoute parents and translation, claims between
// GatewayRoutes, ResolvedRefs through one BackendResolver, the sync controller's unresolved backends), over
// the manifests instead of informer caches. Manifests are taken as applied in their order: an earlier one is
// the older (unless creationTimestamps say otherwise), which decides who keeps a host + path or a name.
import { progressSummary, setConditions, type ConditionInput } from '../api/v1alpha1/conditions.js';
import type { GatewayRoute } from '../api/v1alpha1/types.js';
import { attachedHosts, ourParents, parentGatewayKey, type ParentLookups } from '../gatewayapi/attach.js';
import { crossNamespacePolicy, HTTPROUTE_CONTROLLER, httpRouteGatewayRoute, translateHTTPRoute } from '../gatewayapi/translate.js';
import type { Gateway, GatewayClass, HTTPRoute, ParentReference, ReferenceGrant } from '../gatewayapi/types.js';
import { BackendResolver, lookupIn } from '../gatewayroute/backends.js';
import { ClaimedRoutes, RouteClaims } from '../gatewayroute/claims.js';
import { gatewayRouteBody, nameConflictMessage, ownedStatus, type TranslatedGatewayRoute } from '../gatewayroute/object.js';
import { unselectedReason, type IngressClass } from '../ingress/class.js';
import { INGRESS_CONTROLLER, ingressGatewayRoute, type IngressLike } from '../ingress/translate.js';
import { objectKey } from '../operator/kinds.js';
import type { ServiceLike } from '../routing/backends.js';
import { backendUnresolvedCondition, toWireGatewayRoute } from '../sync/wire.js';
import { PREVIEW_KINDS, previewKindOf, shapeProblems, type PreviewKind } from './schema.js';

/** An object read from an input, and where: "app.yaml: document 3". */
export interface Manifest {
  object: Record<string, unknown>;
  origin: string;
}

/** An input that cannot be read, parsed or understood (exit code 2). */
export class InputError extends Error {
  constructor(readonly input: string, message: string) {
    super(`${input}: ${message}`);
    this.name = 'InputError';
  }
}

export interface PreviewOptions {
  /** --ingress-class: only Ingresses of these classes; every Ingress when empty. */
  ingressClasses: readonly string[];
  /** --allow-catch-all */
  allowCatchAll: boolean;
  /** --gateway-controller-name: GatewayClasses with this controllerName are the operator's. */
  gatewayControllerName: string;
  /** The conditions' lastTransitionTime (now by default). */
  now?: Date;
}

export interface PreviewedGatewayRoute {
  /** As the source controller writes it: metadata, spec, and its status (hosts, routeCount, Accepted, ResolvedRefs). */
  gatewayRoute: GatewayRoute;
  /** The Stalled condition kstatus and Argo CD would read once the operator has synced it, when it would be Stalled. */
  stalled?: ConditionInput;
  /** Accepted says paths were dropped (PartiallyAccepted) or none is left (NoRoutes). */
  dropsPaths: boolean;
}

/** Why an Ingress or HTTPRoute is not served, or not through every Gateway it names. */
export interface SourceNote {
  kind: 'Ingress' | 'HTTPRoute';
  namespace: string;
  name: string;
  message: string;
  /** It asks to be served and will not be (a name conflict, a Gateway of ours refusing it): the preview fails. */
  fails: boolean;
}

export interface PreviewResult {
  /** Sorted by namespace and name. */
  gatewayRoutes: PreviewedGatewayRoute[];
  sources: SourceNote[];
  /** Objects of kinds preview does not read ("apps/v1 Deployment"), with where they are. */
  ignored: Array<{ kind: string; origin: string }>;
  /** Things worth knowing that change nothing (an object given twice: the last one counts). */
  warnings: string[];
}

/** Whether a CI step should fail: a GatewayRoute would be Stalled or drops paths, or a source is refused. */
export function previewFails(result: PreviewResult): boolean {
  return result.gatewayRoutes.some((r) => r.stalled !== undefined || r.dropsPaths) || result.sources.some((s) => s.fails);
}

interface Recognised<T> {
  object: T;
  origin: string;
  /** Position among the inputs, for the order they are taken as applied in. */
  index: number;
}

type Objects = { [K in PreviewKind]: Map<string, Recognised<unknown>> };

/** The manifests by kind and namespace/name (name alone when cluster-scoped), checked. */
function recognise(manifests: readonly Manifest[], result: PreviewResult): Objects {
  const objects = Object.fromEntries(Object.keys(PREVIEW_KINDS).map((kind) => [kind, new Map()])) as Objects;
  manifests.forEach(({ object, origin }, index) => {
    const kind = previewKindOf(object.apiVersion, object.kind);
    if (!kind) return void result.ignored.push({ kind: `${String(object.apiVersion)} ${String(object.kind)}`, origin });
    const problems = shapeProblems(kind, object);
    if (problems.length) throw new InputError(origin, `${String(object.kind)}: ${problems.join('; ')}`);
    // As the apiserver places it: namespaced in "default" when none is said, cluster-scoped in none.
    const { namespace, ...metadata } = object.metadata as { name: string; namespace?: string };
    const placedMetadata = PREVIEW_KINDS[kind].namespaced ? { ...metadata, namespace: namespace ?? 'default' } : metadata;
    const placed = { ...object, metadata: placedMetadata };
    const key = objectKey(placedMetadata);
    const earlier = objects[kind].get(key);
    if (earlier) result.warnings.push(`${kind} ${key} is given twice (${earlier.origin}; ${origin}): the last one counts, as it would once applied`);
    objects[kind].set(key, { object: placed, origin, index: earlier?.index ?? index });
  });
  return objects;
}

function values<T>(map: Map<string, Recognised<unknown>>): Array<Recognised<T>> {
  return [...map.values()] as Array<Recognised<T>>;
}

const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** When the object says it was created (one exported from a cluster), else the newest. */
const created = (object: unknown): number => {
  const at = Date.parse(String((object as { metadata?: { creationTimestamp?: unknown } }).metadata?.creationTimestamp ?? ''));
  return Number.isNaN(at) ? Number.POSITIVE_INFINITY : at;
};

export function preview(manifests: readonly Manifest[], options: PreviewOptions): PreviewResult {
  const now = options.now ?? new Date();
  const result: PreviewResult = { gatewayRoutes: [], sources: [], ignored: [], warnings: [] };
  const objects = recognise(manifests, result);
  const get = <T>(kind: PreviewKind, key: string): T | undefined => objects[kind].get(key)?.object as T | undefined;

  // What the controllers read from their caches, read from the manifests.
  const backends = new BackendResolver(lookupIn({ get: (key) => get<ServiceLike>('Service', key) }));
  const grants = values<ReferenceGrant>(objects.ReferenceGrant).map((g) => g.object);
  backends.permitCrossNamespace(crossNamespacePolicy((namespace) => grants.filter((g) => g.metadata.namespace === namespace)));
  const ingressClasses = values<IngressClass>(objects.IngressClass).map((c) => c.object);
  const lookups: ParentLookups = {
    controllerName: options.gatewayControllerName,
    gateway: (key) => get<Gateway>('Gateway', key),
    gatewayClass: (name) => get<GatewayClass>('GatewayClass', name),
    // The apiserver labels every namespace with its name; allowedRoutes selectors often use that label.
    namespaceLabels: (namespace) => ({ ...get<{ metadata: { labels?: Record<string, string> } }>('Namespace', namespace)?.metadata.labels, [NAMESPACE_NAME_LABEL]: namespace }),
  };

  const held = new ClaimedRoutes();
  const claims = new RouteClaims(held);
  const written = new Map<string, GatewayRoute>();
  const write = (desired: TranslatedGatewayRoute, controller: string): void => {
    const gatewayRoute: GatewayRoute = { ...gatewayRouteBody(desired, controller), status: ownedStatus(desired, undefined, undefined, now) };
    written.set(objectKey(gatewayRoute.metadata), gatewayRoute);
    held.add(gatewayRoute);
    result.gatewayRoutes.push({ gatewayRoute, stalled: wouldStall(gatewayRoute, backends, now), dropsPaths: ['PartiallyAccepted', 'NoRoutes'].includes(desired.accepted.reason) });
  };
  const note = (kind: SourceNote['kind'], metadata: { namespace?: string; name?: string }, message: string, fails: boolean): void => {
    result.sources.push({ kind, namespace: metadata.namespace ?? '', name: metadata.name ?? '', message, fails });
  };
  /** The GatewayRoute name is another's already: the operator leaves this source unserved (Accepted NameConflict). */
  const nameTaken = (kind: SourceNote['kind'], metadata: { namespace?: string; name?: string }): boolean => {
    const holder = written.get(objectKey(metadata));
    if (holder) note(kind, metadata, nameConflictMessage({ kind, namespace: metadata.namespace ?? '', name: metadata.name ?? '' }, holder), true);
    return holder !== undefined;
  };

  // Ingresses and HTTPRoutes in the order they are taken as created.
  const sources = [
    ...values<IngressLike>(objects.Ingress).map((s) => ({ ...s, kind: 'Ingress' as const })),
    ...values<HTTPRoute>(objects.HTTPRoute).map((s) => ({ ...s, kind: 'HTTPRoute' as const })),
  ].sort((a, b) => created(a.object) - created(b.object) || a.index - b.index);

  for (const source of sources) {
    if (source.kind === 'Ingress') {
      const ingress = source.object as IngressLike;
      const metadata = ingress.metadata ?? {};
      const unselected = unselectedReason(ingress, ingressClasses, { ingressClasses: options.ingressClasses, controllerName: options.gatewayControllerName });
      if (unselected) note('Ingress', metadata, `not selected: ${unselected}`, false);
      else if (!nameTaken('Ingress', metadata)) {
        write(ingressGatewayRoute(ingress, { allowCatchAll: options.allowCatchAll, taken: claims.takenFor(objectKey(metadata), undefined), backends }), INGRESS_CONTROLLER);
      }
      continue;
    }
    const route = source.object as HTTPRoute;
    const parents = ourParents(route, 'HTTPRoute', lookups);
    if (parents.length === 0) {
      note('HTTPRoute', route.metadata, `names no Gateway of ${options.gatewayControllerName}: ${(route.spec.parentRefs ?? []).map((ref) => whyNotOurs(route, ref, lookups)).join('; ') || 'it has no parentRefs'}`, false);
      continue;
    }
    // The HTTPRoute's status would say Accepted=False for that parent; its message names the Gateway.
    for (const { attachment } of parents) {
      if (!attachment.attached) note('HTTPRoute', route.metadata, `not attached (${attachment.reason}): ${attachment.message}`, true);
    }
    if (!parents.some((p) => p.attachment.attached) || nameTaken('HTTPRoute', route.metadata)) continue;
    const translation = translateHTTPRoute(route, attachedHosts(parents), {
      allowCatchAll: options.allowCatchAll,
      referenceGrants: grants,
      service: backends.service,
      taken: claims.takenFor(objectKey(route.metadata), undefined),
    });
    write(httpRouteGatewayRoute(route, translation, backends), HTTPROUTE_CONTROLLER);
  }
  result.gatewayRoutes.sort((a, b) => objectKey(a.gatewayRoute.metadata).localeCompare(objectKey(b.gatewayRoute.metadata)));
  return result;
}

/**
 * Stalled as the sync controller would write it: from Accepted and ResolvedRefs, and Synced=BackendUnresolved
 * when a route could not be sent (its backend is refused or missing). The control plane's own answer is
 * not known here.
 */
function wouldStall(gatewayRoute: GatewayRoute, backends: BackendResolver, now: Date): ConditionInput | undefined {
  const { unresolved } = toWireGatewayRoute(gatewayRoute, backends);
  const synced = unresolved.length ? [backendUnresolvedCondition(unresolved)] : [];
  const conditions = setConditions(gatewayRoute.status?.conditions, synced, undefined, now);
  const { stalled } = progressSummary(conditions, ['Accepted', 'ResolvedRefs', 'Synced'], undefined);
  return stalled.status === 'True' ? stalled : undefined;
}

/** Why a parentRef does not make the route ours (ourParents left it out), in the user's terms. */
function whyNotOurs(route: HTTPRoute, ref: ParentReference, lookups: ParentLookups): string {
  const key = parentGatewayKey(route, ref);
  if (!key) return `parentRef ${ref.kind ?? ''} ${ref.name} is not a Gateway`;
  const gateway = lookups.gateway(key);
  if (!gateway) return `Gateway ${key} is not among the inputs`;
  const gatewayClass = lookups.gatewayClass(gateway.spec.gatewayClassName);
  if (!gatewayClass) return `Gateway ${key}: its GatewayClass ${gateway.spec.gatewayClassName} is not among the inputs`;
  return `Gateway ${key} is of GatewayClass ${gateway.spec.gatewayClassName}, whose controllerName is ${gatewayClass.spec.controllerName}`;
}

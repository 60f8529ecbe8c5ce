// HTTPRoute → GatewayRoute spec and the HTTPRoute's per-parent status, pure. What the hosted gateway cannot
// do is dropped at the smallest unit that keeps the rest correct and named in the status: a match with
// header, query or method conditions (its rule's other matches still route as written), a rule with
// filters (they apply to the whole rule), a backendRef the route may not use. Never the whole route.
import { acceptedCondition, routeIdentity, userAnnotations } from '../api/v1alpha1/gatewayroute.js';
import type { BackendContext, CrossNamespacePolicy, ServiceLookup } from '../gatewayroute/backends.js';
import { translatedGatewayRoute, type SourceRef, type TranslatedGatewayRoute } from '../gatewayroute/object.js';
import type { ConditionInput } from '../api/v1alpha1/conditions.js';
import type { GatewayRouteCondition } from '../api/v1alpha1/reasons.js';
import { MAX_ROUTES, type GatewayRouteSpec, type PathType, type RouteSpec } from '../api/v1alpha1/types.js';
import { readBackendAnnotations, withBackendSettings } from '../routing/backend-annotations.js';
import type { AttachedHost } from './attach.js';
import type { BackendRef, HTTPRoute, HTTPRouteMatch, ReferenceGrant } from './types.js';
import { GATEWAY_API_GROUP, HTTP_ROUTE } from './types.js';

export const HTTPROUTE_API_VERSION = `${GATEWAY_API_GROUP}/v1`;
/** The HTTPRoute controller's name: the managed-by label of the GatewayRoutes it writes. */
export const HTTPROUTE_CONTROLLER = 'httproute';

/** The Gateway API's ResolvedRefs reasons for a route. */
export type BackendProblemReason = 'InvalidKind' | 'RefNotPermitted' | 'BackendNotFound';
export interface BackendProblem {
  reason: BackendProblemReason;
  message: string;
}

export interface HTTPRouteTranslateOptions {
  /** Serve routes without a hostname on a listener without one (every host), as --allow-catch-all does for Ingresses. */
  allowCatchAll: boolean;
  referenceGrants: readonly ReferenceGrant[];
  /** Why a route is left out because an older GatewayRoute serves it (see RouteClaims), or undefined. */
  taken?: (route: Pick<RouteSpec, 'host' | 'path' | 'pathType'>) => string | undefined;
  service: ServiceLookup;
}

export interface HTTPRouteTranslation {
  spec: GatewayRouteSpec;
  /** The GatewayRoute's Accepted condition. */
  accepted: GatewayRouteCondition<'Accepted'>;
  /** What was dropped, for the HTTPRoute's PartiallyInvalid condition. */
  dropped: string[];
  /** What is served differently from what the route asks (weights), said in the Accepted messages. */
  notes: string[];
  backendProblems: BackendProblem[];
  annotations: Record<string, string>;
  /** Annotations not applied (an opt-out that is neither "true" nor "false"), each named with its value. */
  ignored: string[];
}

/** Whether a ReferenceGrant in the Service's namespace lets HTTPRoutes of `fromNamespace` use that Service. */
export function referencePermitted(grants: readonly ReferenceGrant[], fromNamespace: string, toNamespace: string, serviceName: string): boolean {
  return grants.some(
    (grant) =>
      grant.metadata.namespace === toNamespace &&
      grant.spec.from.some((f) => f.group === GATEWAY_API_GROUP && f.kind === 'HTTPRoute' && f.namespace === fromNamespace) &&
      grant.spec.to.some((t) => t.group === '' && t.kind === 'Service' && (t.name === undefined || t.name === '' || t.name === serviceName)),
  );
}

/** ReferenceGrants decide which Services of other namespaces every GatewayRoute may use; `grantsIn` lists a namespace's. */
export function crossNamespacePolicy(grantsIn: (namespace: string) => readonly ReferenceGrant[]): CrossNamespacePolicy {
  return (from, to, service) => referencePermitted(grantsIn(to), from, to, service);
}

type Backend = { service: string; namespace?: string; port: number };

/** The backend a rule is served by: the heaviest usable Service (weights are not split), plus what was wrong. */
export function chooseBackend(route: HTTPRoute, refs: readonly BackendRef[], options: HTTPRouteTranslateOptions): { backend?: Backend; note?: string; problems: BackendProblem[] } {
  const namespace = route.metadata.namespace ?? '';
  const problems: BackendProblem[] = [];
  const usable: Array<{ ref: BackendRef; weight: number }> = [];
  for (const ref of refs) {
    const where = `backendRef ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
    if ((ref.group ?? '') !== '' || (ref.kind ?? 'Service') !== 'Service') {
      problems.push({ reason: 'InvalidKind', message: `${where}: kind ${ref.group ? `${ref.group}/` : ''}${ref.kind} is not supported (Service only)` });
      continue;
    }
    const target = ref.namespace ?? namespace;
    if (target !== namespace && !referencePermitted(options.referenceGrants, namespace, target, ref.name)) {
      problems.push({ reason: 'RefNotPermitted', message: `${where}: no ReferenceGrant in namespace ${target} allows HTTPRoutes from ${namespace} to use Service ${ref.name}` });
      continue;
    }
    if (!options.service(target, ref.name)) problems.push({ reason: 'BackendNotFound', message: `${where}: Service ${target}/${ref.name} not found` });
    if (ref.port === undefined) {
      problems.push({ reason: 'BackendNotFound', message: `${where}: no port` });
      continue;
    }
    const weight = ref.weight ?? 1;
    if (weight > 0) usable.push({ ref, weight });
  }
  const heaviest = usable.reduce<(typeof usable)[number] | undefined>((best, candidate) => (!best || candidate.weight > best.weight ? candidate : best), undefined);
  if (!heaviest) return { problems };
  const { ref } = heaviest;
  const backend: Backend = { service: ref.name, port: ref.port ?? 0 };
  if (ref.namespace && ref.namespace !== namespace) backend.namespace = ref.namespace;
  const note = usable.length > 1 ? `weights are not split: all traffic goes to the heaviest backend ${ref.name}` : undefined;
  return note ? { backend, note, problems } : { backend, problems };
}

/** A match's path as a GatewayRoute path, or why the match cannot be served. */
export function matchPath(match: HTTPRouteMatch): { path: string; pathType: PathType } | { unsupported: string } {
  const unsupported = [match.headers?.length ? 'headers' : '', match.queryParams?.length ? 'queryParams' : '', match.method ? 'method' : ''].filter(Boolean);
  if (unsupported.length) return { unsupported: `${unsupported.join(', ')} matches are not supported` };
  const type = match.path?.type ?? 'PathPrefix';
  const path = match.path?.value ?? '/';
  if (type === 'PathPrefix') return { path, pathType: 'Prefix' };
  if (type === 'Exact') return { path, pathType: 'Exact' };
  return { unsupported: `path type ${type} is not supported` };
}

export function translateHTTPRoute(route: HTTPRoute, hosts: readonly AttachedHost[], options: HTTPRouteTranslateOptions): HTTPRouteTranslation {
  const routes: RouteSpec[] = [];
  const dropped: string[] = [];
  const notes: string[] = [];
  const backendProblems: BackendProblem[] = [];
  const seen = new Set<string>();
  const backendAnnotations = readBackendAnnotations(route.metadata.annotations, { backendProtocol: false });
  const servedHosts = hosts.filter((h) => h.host !== '' || options.allowCatchAll);
  if (servedHosts.length < hosts.length) dropped.push('every host: no hostname on the route or the listener (catch-all routes are disabled; enable with --allow-catch-all)');

  (route.spec.rules ?? []).forEach((rule, ruleIndex) => {
    const where = `rules[${ruleIndex}]${rule.name ? ` (${rule.name})` : ''}`;
    if (rule.filters?.length) {
      dropped.push(`${where}: filters ${[...new Set(rule.filters.map((f) => f.type))].join(', ')} are not supported`);
      return;
    }
    const choice = chooseBackend(route, rule.backendRefs ?? [], options);
    backendProblems.push(...choice.problems.map((p) => ({ ...p, message: `${where}: ${p.message}` })));
    if (!choice.backend) {
      dropped.push(`${where}: no usable backendRef`);
      return;
    }
    if (choice.note) notes.push(`${where}: ${choice.note}`);
    const backend = choice.backend;
    const matches = rule.matches?.length ? rule.matches : [{}];
    matches.forEach((match, matchIndex) => {
      const path = matchPath(match);
      if ('unsupported' in path) {
        dropped.push(`${where}.matches[${matchIndex}]: ${path.unsupported}`);
        return;
      }
      for (const { host, tls } of servedHosts) {
        const identity = routeIdentity({ host, ...path });
        if (seen.has(identity)) continue; // an earlier rule serves it: the Gateway API's precedence
        if (routes.length >= MAX_ROUTES) {
          dropped.push(`${where}.matches[${matchIndex}]: more than ${MAX_ROUTES} routes`);
          return;
        }
        seen.add(identity);
        const takenBy = options.taken?.({ host, path: path.path, pathType: path.pathType });
        if (takenBy) {
          dropped.push(`${where}.matches[${matchIndex}]: ${takenBy}`);
          continue;
        }
        const spec: RouteSpec = { path: path.path, pathType: path.pathType, backend: withBackendSettings({ service: backend.service, port: { number: backend.port } }, backendAnnotations.settings), tls };
        if (backend.namespace) spec.backend.namespace = backend.namespace;
        if (host) spec.host = host;
        routes.push(spec);
      }
    });
  });

  return {
    spec: { routes, source: { kind: 'HTTPRoute', name: route.metadata.name ?? '' } },
    accepted: acceptedCondition({
      routeCount: routes.length,
      dropped: [...dropped, ...notes],
      ignored: backendAnnotations.ignored,
      empty: 'the HTTPRoute is attached to no Gateway of this operator, or has no rules',
    }),
    dropped,
    notes,
    backendProblems,
    annotations: userAnnotations(route.metadata.annotations),
    ignored: backendAnnotations.ignored,
  };
}

/** The HTTPRoute parent's ResolvedRefs condition, with the Gateway API's reasons. */
export function routeResolvedRefs(problems: readonly BackendProblem[]): ConditionInput {
  const first = problems[0];
  if (!first) return { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: 'all backendRefs resolved' };
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return { type: 'ResolvedRefs', status: 'False', reason: first.reason, message: `${first.message}${more}` };
}

/** The HTTPRoute as the owner of its GatewayRoute. */
export function httpRouteSource(route: HTTPRoute): SourceRef {
  return { apiVersion: HTTPROUTE_API_VERSION, kind: HTTP_ROUTE.kind, name: route.metadata.name ?? '', uid: route.metadata.uid ?? '' };
}

/** The GatewayRoute of an HTTPRoute attached to one of our Gateways, as the HTTPRoute controller writes it. */
export function httpRouteGatewayRoute(route: HTTPRoute, translation: HTTPRouteTranslation, backends: BackendContext): TranslatedGatewayRoute {
  return translatedGatewayRoute({ namespace: route.metadata.namespace ?? '', source: httpRouteSource(route), translation, backends });
}

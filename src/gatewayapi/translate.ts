// Gateway API routes (HTTPRoute, GRPCRoute) → GatewayRoute spec and the route's per-parent status, pure. Each
// kind decides per match which path it is served as (HTTPRoute here, GRPCRoute in translate-grpc.ts); the
// rest is one translation for both. What the hosted gateway cannot do is dropped at the smallest unit that
// keeps the rest correct and named in the status: a match with conditions it cannot serve (its rule's other
// matches still route as written), a rule with filters (they apply to the whole rule), a backendRef the
// route may not use or that carries filters of its own. Never the whole route.
import { acceptedCondition, routeIdentity, userAnnotations } from '../api/v1alpha1/gatewayroute.js';
import type { BackendContext, CrossNamespacePolicy, ServiceLookup } from '../gatewayroute/backends.js';
import { translatedGatewayRoute, type SourceRef, type TranslatedGatewayRoute } from '../gatewayroute/object.js';
import type { ConditionInput } from '../api/v1alpha1/conditions.js';
import type { GatewayRouteCondition } from '../api/v1alpha1/reasons.js';
import { MAX_ROUTES, type GatewayRouteSpec, type PathType, type RouteSpec } from '../api/v1alpha1/types.js';
import { readBackendAnnotations, withBackendSettings } from '../routing/backend-annotations.js';
import type { BackendProtocol } from '../routing/backend-transport.js';
import type { AttachedHost } from './attach.js';
import type { BackendRef, GatewayApiRoute, HTTPRoute, HTTPRouteMatch, ReferenceGrant, RouteKindName } from './types.js';
import { GATEWAY_API_GROUP } from './types.js';

/** The apiVersion of the route kinds translated (HTTPRoute, GRPCRoute): v1 of the standard channel. */
export const ROUTE_API_VERSION = `${GATEWAY_API_GROUP}/v1`;
/** The HTTPRoute controller's name: the managed-by label of the GatewayRoutes it writes. */
export const HTTPROUTE_CONTROLLER = 'httproute';
/** Every route kind this operator translates: a ReferenceGrant from any of them lets a GatewayRoute use a Service. */
export const TRANSLATED_ROUTE_KINDS: readonly RouteKindName[] = ['HTTPRoute', 'GRPCRoute'];

/** The Gateway API's ResolvedRefs reasons for a route. */
export type BackendProblemReason = 'InvalidKind' | 'RefNotPermitted' | 'BackendNotFound';
export interface BackendProblem {
  reason: BackendProblemReason;
  message: string;
}

export interface RouteTranslateOptions {
  /** Serve routes without a hostname on a listener without one (every host), as --allow-catch-all does for Ingresses. */
  allowCatchAll: boolean;
  referenceGrants: readonly ReferenceGrant[];
  /** Why a route is left out because an older GatewayRoute serves it (see RouteClaims), or undefined. */
  taken?: (route: Pick<RouteSpec, 'host' | 'path' | 'pathType'>) => string | undefined;
  service: ServiceLookup;
}

export interface RouteTranslation {
  spec: GatewayRouteSpec;
  /** The GatewayRoute's Accepted condition. */
  accepted: GatewayRouteCondition<'Accepted'>;
  /** What was dropped, for the route's PartiallyInvalid condition. */
  dropped: string[];
  /** What is served differently from what the route asks (weights), said in the Accepted messages. */
  notes: string[];
  backendProblems: BackendProblem[];
  annotations: Record<string, string>;
  /** Annotations not applied (an opt-out that is neither "true" nor "false"), each named with its value. */
  ignored: string[];
}

/** A reference from a route of `kind` in namespace `from` to Service `service` of namespace `to`. */
export interface ServiceReference {
  kind: RouteKindName;
  from: string;
  to: string;
  service: string;
}

/** Whether a ReferenceGrant in the Service's namespace lets routes of that kind from `from` use that Service. */
export function referencePermitted(grants: readonly ReferenceGrant[], { kind, from, to, service }: ServiceReference): boolean {
  return grants.some(
    (grant) =>
      grant.metadata.namespace === to &&
      grant.spec.from.some((f) => f.group === GATEWAY_API_GROUP && f.kind === kind && f.namespace === from) &&
      grant.spec.to.some((t) => t.group === '' && t.kind === 'Service' && (t.name === undefined || t.name === '' || t.name === service)),
  );
}

/**
 * ReferenceGrants decide which Services of other namespaces every GatewayRoute may use; `grantsIn` lists a
 * namespace's. A grant from any kind this operator translates counts: each translation checks its own kind
 * first (a GRPCRoute's backend needs a grant from GRPCRoutes), and a GatewayRoute's claimed owner is no
 * evidence of its kind (a tenant writes ownerReferences too).
 */
export function crossNamespacePolicy(grantsIn: (namespace: string) => readonly ReferenceGrant[]): CrossNamespacePolicy {
  return (from, to, service) => TRANSLATED_ROUTE_KINDS.some((kind) => referencePermitted(grantsIn(to), { kind, from, to, service }));
}

type Backend = { service: string; namespace?: string; port: number };

/** The route a translation is for: the object and its kind (for ReferenceGrants and messages). */
export interface RouteOfKind {
  route: GatewayApiRoute;
  kind: RouteKindName;
}

interface BackendChoice {
  backend?: Backend;
  note?: string;
  /** backendRefs left out for what they ask beyond a Service (their own filters). */
  dropped: string[];
  problems: BackendProblem[];
}

/** The backend a rule is served by: the heaviest usable Service (weights are not split), plus what was wrong. */
function chooseBackend({ route, kind }: RouteOfKind, refs: readonly BackendRef[], options: RouteTranslateOptions): BackendChoice {
  const namespace = route.metadata.namespace ?? '';
  const problems: BackendProblem[] = [];
  const dropped: string[] = [];
  const usable: Array<{ ref: BackendRef; weight: number }> = [];
  for (const ref of refs) {
    const where = `backendRef ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
    if ((ref.group ?? '') !== '' || (ref.kind ?? 'Service') !== 'Service') {
      problems.push({ reason: 'InvalidKind', message: `${where}: kind ${ref.group ? `${ref.group}/` : ''}${ref.kind} is not supported (Service only)` });
      continue;
    }
    const target = ref.namespace ?? namespace;
    if (target !== namespace && !referencePermitted(options.referenceGrants, { kind, from: namespace, to: target, service: ref.name })) {
      problems.push({ reason: 'RefNotPermitted', message: `${where}: no ReferenceGrant in namespace ${target} allows ${kind}s from ${namespace} to use Service ${ref.name}` });
      continue;
    }
    if (ref.filters?.length) {
      dropped.push(`${where}: its filters are not supported (this backend is left out)`);
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
  if (!heaviest) return { problems, dropped };
  const { ref } = heaviest;
  const backend: Backend = { service: ref.name, port: ref.port ?? 0 };
  if (ref.namespace && ref.namespace !== namespace) backend.namespace = ref.namespace;
  const note = usable.length > 1 ? `weights are not split: all traffic goes to the heaviest backend ${ref.name}` : undefined;
  return note ? { backend, note, problems, dropped } : { backend, problems, dropped };
}

/** The path a match is served as, or why it cannot be served. */
export type MatchPath = { path: string; pathType: PathType } | { unsupported: string };

/** A rule as the shared translation takes it: what every kind's rule has, and its matches already as paths. */
export interface RuleInput {
  name?: string;
  filters?: ReadonlyArray<{ type: string }>;
  backendRefs?: readonly BackendRef[];
  /** One per match, in order (a rule without matches: the one the kind serves then). */
  matches: readonly MatchPath[];
}

export interface TranslateRulesInput extends RouteOfKind {
  rules: readonly RuleInput[];
  hosts: readonly AttachedHost[];
  /** How the tunnel must speak to every backend of this route (GRPCRoute: HTTP/2); unset: the Service decides. */
  backendProtocol?: BackendProtocol;
}

/** A HTTPRoute match's path as a GatewayRoute path, or why the match cannot be served. */
export function matchPath(match: HTTPRouteMatch): MatchPath {
  const unsupported = [match.headers?.length ? 'headers' : '', match.queryParams?.length ? 'queryParams' : '', match.method ? 'method' : ''].filter(Boolean);
  if (unsupported.length) return { unsupported: `${unsupported.join(', ')} matches are not supported` };
  const type = match.path?.type ?? 'PathPrefix';
  const path = match.path?.value ?? '/';
  if (type === 'PathPrefix') return { path, pathType: 'Prefix' };
  if (type === 'Exact') return { path, pathType: 'Exact' };
  return { unsupported: `path type ${type} is not supported` };
}

/** The translation every route kind shares, once its matches are paths. */
export function translateRules({ route, kind, rules, hosts, backendProtocol }: TranslateRulesInput, options: RouteTranslateOptions): RouteTranslation {
  const routes: RouteSpec[] = [];
  const dropped: string[] = [];
  const notes: string[] = [];
  const backendProblems: BackendProblem[] = [];
  const seen = new Set<string>();
  const backendAnnotations = readBackendAnnotations(route.metadata.annotations, { backendProtocol: false });
  const servedHosts = hosts.filter((h) => h.host !== '' || options.allowCatchAll);
  if (servedHosts.length < hosts.length) dropped.push('every host: no hostname on the route or the listener (catch-all routes are disabled; enable with --allow-catch-all)');

  rules.forEach((rule, ruleIndex) => {
    const where = `rules[${ruleIndex}]${rule.name ? ` (${rule.name})` : ''}`;
    if (rule.filters?.length) {
      dropped.push(`${where}: filters ${[...new Set(rule.filters.map((f) => f.type))].join(', ')} are not supported`);
      return;
    }
    const choice = chooseBackend({ route, kind }, rule.backendRefs ?? [], options);
    backendProblems.push(...choice.problems.map((p) => ({ ...p, message: `${where}: ${p.message}` })));
    dropped.push(...choice.dropped.map((d) => `${where}: ${d}`));
    if (!choice.backend) {
      dropped.push(`${where}: no usable backendRef`);
      return;
    }
    if (choice.note) notes.push(`${where}: ${choice.note}`);
    const backend = choice.backend;
    rule.matches.forEach((path, matchIndex) => {
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
        if (backendProtocol) spec.backend.protocol = backendProtocol;
        if (host) spec.host = host;
        routes.push(spec);
      }
    });
  });

  return {
    spec: { routes, source: { kind, name: route.metadata.name ?? '' } },
    accepted: acceptedCondition({
      routeCount: routes.length,
      dropped: [...dropped, ...notes],
      ignored: backendAnnotations.ignored,
      empty: `the ${kind} is attached to no Gateway of this operator, or has no rules`,
    }),
    dropped,
    notes,
    backendProblems,
    annotations: userAnnotations(route.metadata.annotations),
    ignored: backendAnnotations.ignored,
  };
}

export function translateHTTPRoute(route: HTTPRoute, hosts: readonly AttachedHost[], options: RouteTranslateOptions): RouteTranslation {
  const rules = (route.spec.rules ?? []).map((rule) => ({ ...rule, matches: (rule.matches?.length ? rule.matches : [{}]).map(matchPath) }));
  return translateRules({ route, kind: 'HTTPRoute', rules, hosts }, options);
}

/** A route parent's ResolvedRefs condition, with the Gateway API's reasons. */
export function routeResolvedRefs(problems: readonly BackendProblem[]): ConditionInput {
  const first = problems[0];
  if (!first) return { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: 'all backendRefs resolved' };
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return { type: 'ResolvedRefs', status: 'False', reason: first.reason, message: `${first.message}${more}` };
}

/** The route (of `kind`) as the owner of its GatewayRoute. */
export function routeSource({ route, kind }: RouteOfKind): SourceRef {
  return { apiVersion: ROUTE_API_VERSION, kind, name: route.metadata.name ?? '', uid: route.metadata.uid ?? '' };
}

/** The GatewayRoute of a route attached to one of our Gateways, as its controller writes it. */
export function routeGatewayRoute(of: RouteOfKind, translation: RouteTranslation, backends: BackendContext): TranslatedGatewayRoute {
  return translatedGatewayRoute({ namespace: of.route.metadata.namespace ?? '', source: routeSource(of), translation, backends });
}

/** The GatewayRoute of an HTTPRoute attached to one of our Gateways, as the HTTPRoute controller writes it. */
export function httpRouteGatewayRoute(route: HTTPRoute, translation: RouteTranslation, backends: BackendContext): TranslatedGatewayRoute {
  return routeGatewayRoute({ route, kind: 'HTTPRoute' }, translation, backends);
}

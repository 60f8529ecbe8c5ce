// Ingress → GatewayRoute, pure: the spec and conditions of the GatewayRoute one gives (which Ingresses are
// taken: class.ts). Unsupported parts drop only the path they belong to and are reported in the Accepted
// condition's message; the rest of the Ingress is kept. The controller and `gateway-operator preview` both
// translate through here.
import type { ConditionInput } from '../api/v1alpha1/conditions.js';
import type { GatewayRouteCondition } from '../api/v1alpha1/reasons.js';
import type { GatewayRouteSpec, PathType, RouteSpec } from '../api/v1alpha1/types.js';
import { MAX_ROUTES, PATH_TYPES } from '../api/v1alpha1/types.js';
import { acceptedCondition, routeIdentity, userAnnotations } from '../api/v1alpha1/gatewayroute.js';
import type { BackendContext } from '../gatewayroute/backends.js';
import { readBackendAnnotations, withBackendSettings } from '../routing/backend-annotations.js';
import { translatedGatewayRoute, type SourceRef, type TranslatedGatewayRoute } from '../gatewayroute/object.js';

export const LEGACY_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';
export const INGRESS_API_VERSION = 'networking.k8s.io/v1';
/** The Ingress controller's name: the managed-by label of the GatewayRoutes it writes. */
export const INGRESS_CONTROLLER = 'ingress';

interface IngressBackend {
  service?: { name: string; port?: { number?: number; name?: string } };
  resource?: { kind?: string; name?: string };
}

export interface IngressLike {
  metadata?: { name?: string; namespace?: string; uid?: string; annotations?: Record<string, string> };
  spec?: {
    ingressClassName?: string;
    defaultBackend?: IngressBackend;
    tls?: Array<{ hosts?: string[]; secretName?: string }>;
    rules?: Array<{
      host?: string;
      http?: { paths?: Array<{ path?: string; pathType?: string; backend?: IngressBackend }> };
    }>;
  };
}

export interface TranslateOptions {
  /** Translate rules without a host and the defaultBackend into catch-all routes. */
  allowCatchAll: boolean;
  /** Why a route is left out because an older GatewayRoute serves it (see RouteClaims), or undefined. */
  taken?: (route: Pick<RouteSpec, 'host' | 'path' | 'pathType'>) => string | undefined;
}

export interface Translation {
  spec: GatewayRouteSpec;
  accepted: GatewayRouteCondition<'Accepted'>;
  /** Annotations to carry onto the GatewayRoute (user ones only). */
  annotations: Record<string, string>;
  /** Annotations not applied (an unsupported backend-protocol, …), each named with its value. */
  ignored: string[];
}

/** The Ingress's class: spec.ingressClassName, else the legacy annotation. */
export function ingressClassOf(ingress: IngressLike): string | undefined {
  return ingress.spec?.ingressClassName ?? ingress.metadata?.annotations?.[LEGACY_CLASS_ANNOTATION];
}

/** `*.example.com` matches exactly one extra label: a.example.com, not example.com nor a.b.example.com. */
export function wildcardMatches(pattern: string, host: string): boolean {
  if (!pattern.startsWith('*.')) return pattern === host;
  const suffix = pattern.slice(1);
  if (!host.endsWith(suffix)) return false;
  const label = host.slice(0, -suffix.length);
  return label.length > 0 && !label.includes('.');
}

function tlsCovers(tls: NonNullable<IngressLike['spec']>['tls'], host: string | undefined, ruleHosts: string[]): boolean {
  if (!host) return false;
  return (tls ?? []).some((entry) => {
    const hosts = entry.hosts?.length ? entry.hosts : ruleHosts; // an entry with no hosts covers every rule host
    return hosts.some((pattern) => wildcardMatches(pattern, host));
  });
}

function describePath(ruleIndex: number, pathIndex: number, path: string | undefined): string {
  return `rules[${ruleIndex}].paths[${pathIndex}] (${path || '/'})`;
}

export function translateIngress(ingress: IngressLike, options: TranslateOptions): Translation {
  const spec = ingress.spec ?? {};
  const ruleHosts = (spec.rules ?? []).map((r) => r.host).filter((h): h is string => !!h);
  const routes: RouteSpec[] = [];
  const dropped: string[] = [];
  const seen = new Set<string>();
  const backendAnnotations = readBackendAnnotations(ingress.metadata?.annotations, { backendProtocol: true });

  const addRoute = (where: string, host: string | undefined, path: string, pathType: string | undefined, backend: IngressBackend | undefined): void => {
    if (!host && !options.allowCatchAll) {
      dropped.push(`${where}: no host (catch-all routes are disabled; enable with --allow-catch-all)`);
      return;
    }
    if (backend?.resource || !backend?.service) {
      dropped.push(`${where}: ${backend?.resource ? `resource backend ${backend.resource.kind ?? ''}/${backend.resource.name ?? ''} is not supported` : 'no backend Service'}`);
      return;
    }
    const type = (pathType ?? 'Prefix') as PathType;
    if (!PATH_TYPES.includes(type)) {
      dropped.push(`${where}: unsupported pathType ${pathType}`);
      return;
    }
    const port = backend.service.port;
    if (!port || (port.number === undefined) === (port.name === undefined)) {
      dropped.push(`${where}: backend ${backend.service.name} must set exactly one of port.number or port.name`);
      return;
    }
    const identity = routeIdentity({ host, path, pathType: type });
    if (seen.has(identity)) {
      dropped.push(`${where}: duplicate of an earlier ${type} path ${path} for ${host || 'every host'}`);
      return;
    }
    if (routes.length >= MAX_ROUTES) {
      dropped.push(`${where}: more than ${MAX_ROUTES} routes`);
      return;
    }
    seen.add(identity);
    const takenBy = options.taken?.({ host, path, pathType: type });
    if (takenBy) {
      dropped.push(`${where}: ${takenBy}`);
      return;
    }
    const route: RouteSpec = {
      path,
      pathType: type,
      backend: withBackendSettings({ service: backend.service.name, port: port.name !== undefined ? { name: port.name } : { number: port.number } }, backendAnnotations.settings),
      tls: tlsCovers(spec.tls, host, ruleHosts),
    };
    if (host) route.host = host;
    routes.push(route);
  };

  (spec.rules ?? []).forEach((rule, ruleIndex) => {
    const paths = rule.http?.paths ?? [];
    if (paths.length === 0 && rule.host) dropped.push(`rules[${ruleIndex}] (${rule.host}): no http paths`);
    paths.forEach((p, pathIndex) => addRoute(describePath(ruleIndex, pathIndex, p.path), rule.host, p.path || '/', p.pathType, p.backend));
  });
  if (spec.defaultBackend) addRoute('defaultBackend', undefined, '/', 'Prefix', spec.defaultBackend);

  const tlsSecrets = [...new Set((spec.tls ?? []).map((t) => t.secretName).filter((s): s is string => !!s))].sort();
  const gatewaySpec: GatewayRouteSpec = {
    routes,
    source: { kind: 'Ingress', name: ingress.metadata?.name ?? '' },
  };
  if (tlsSecrets.length) gatewaySpec.tlsSecrets = tlsSecrets;
  const ingressClassName = ingressClassOf(ingress);
  if (ingressClassName) gatewaySpec.ingressClassName = ingressClassName;

  return {
    spec: gatewaySpec,
    accepted: acceptedCondition({ routeCount: routes.length, dropped, ignored: backendAnnotations.ignored, empty: 'the Ingress has no rules' }),
    annotations: userAnnotations(ingress.metadata?.annotations),
    ignored: backendAnnotations.ignored,
  };
}

/** The Ingress as the owner of its GatewayRoute. */
export function ingressSource(ingress: IngressLike): SourceRef {
  return { apiVersion: INGRESS_API_VERSION, kind: 'Ingress', name: ingress.metadata?.name ?? '', uid: ingress.metadata?.uid ?? '' };
}

/** The GatewayRoute a selected Ingress gives, as the Ingress controller writes it (ResolvedRefs through `backends`). */
export function ingressGatewayRoute(ingress: IngressLike, options: TranslateOptions & { backends: BackendContext }): TranslatedGatewayRoute {
  return translatedGatewayRoute({ namespace: ingress.metadata?.namespace ?? '', source: ingressSource(ingress), translation: translateIngress(ingress, options), backends: options.backends });
}

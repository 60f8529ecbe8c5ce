// GRPCRoute → GatewayRoute, pure: each match becomes the path a gRPC call is sent to (`/<service>/<method>`,
// the gRPC over HTTP/2 wire format), then the translation every route kind shares (translate.ts); every
// backend is dialled with HTTP/2 (H2C; a BackendTLSPolicy for the Service or a TLS appProtocol of its port
// makes it H2: a route never removes TLS, see routing/backend-transport.ts). A tenant writes service and method, and they become paths: they are
// checked here against what gRPC allows, whatever the apiserver's CRD version validated.
import { MAX_PATH } from '../api/v1alpha1/types.js';
import type { AttachedHost } from './attach.js';
import { translateRules, type MatchPath, type RouteTranslateOptions, type RouteTranslation } from './translate.js';
import type { GRPCMethodMatch, GRPCRoute, GRPCRouteMatch } from './types.js';

/** The GRPCRoute controller's name: the managed-by label of the GatewayRoutes it writes. */
export const GRPCROUTE_CONTROLLER = 'grpcroute';

// gRPC's Service-Name (a proto package and service, dot-separated identifiers) and method name, as the
// gRPC over HTTP/2 protocol writes them in :path. No "/", whitespace, empty or "." segment (so no ".."),
// and no leading dot: the Gateway API accepts ".pkg.Svc" (a proto absolute name), which no gRPC client sends.
const IDENTIFIER = '[A-Za-z_][A-Za-z0-9_]*';
const SERVICE_NAME = new RegExp(`^${IDENTIFIER}(\\.${IDENTIFIER})*$`);
const METHOD_NAME = new RegExp(`^${IDENTIFIER}$`);

/** A tenant's value for a message: quoted (control characters escaped) and cut, so it cannot flood a condition. */
function shown(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}

/** Why `value` cannot be the service (or method) of a gRPC path, or undefined when it can. */
export function invalidName(field: 'service' | 'method', value: unknown): string | undefined {
  if (typeof value !== 'string') return `method.${field} is not a string`;
  if ((field === 'service' ? SERVICE_NAME : METHOD_NAME).test(value)) return undefined;
  const expected = field === 'service' ? 'dot-separated identifiers such as shop.v1.Cart' : 'one identifier such as GetItem';
  return `method.${field} ${shown(value)} is not a gRPC ${field} name (${expected}: letters, digits and _, not starting with a digit)`;
}

/** The path a GRPCRoute method match is served as, or why it cannot be. */
export function methodPath(match: GRPCMethodMatch): MatchPath {
  const type = match.type ?? 'Exact';
  if (type !== 'Exact') return { unsupported: `method.type ${shown(type)} is not supported (Exact only)` };
  // An empty string matches every service (or method), as an omitted field does.
  const service = match.service || undefined;
  const method = match.method || undefined;
  if (!service) {
    return { unsupported: method ? 'method.method without method.service (that method of every service) is not supported' : 'method: neither service nor method is set' };
  }
  const invalid = invalidName('service', service) ?? (method === undefined ? undefined : invalidName('method', method));
  if (invalid) return { unsupported: invalid };
  const path = method === undefined ? `/${service}/` : `/${service}/${method}`;
  if (path.length > MAX_PATH) return { unsupported: `method.service and method.method make a path of ${path.length} characters (at most ${MAX_PATH})` };
  return method === undefined ? { path, pathType: 'Prefix' } : { path, pathType: 'Exact' };
}

/** A GRPCRoute match as a GatewayRoute path: no method match serves every call (Prefix /); headers cannot be served. */
export function grpcMatchPath(match: GRPCRouteMatch): MatchPath {
  if (match.headers?.length) return { unsupported: 'headers matches are not supported' };
  return match.method ? methodPath(match.method) : { path: '/', pathType: 'Prefix' };
}

export function translateGRPCRoute(route: GRPCRoute, hosts: readonly AttachedHost[], options: RouteTranslateOptions): RouteTranslation {
  const rules = (route.spec.rules ?? []).map((rule) => ({ ...rule, matches: (rule.matches?.length ? rule.matches : [{}]).map(grpcMatchPath) }));
  return translateRules({ route, kind: 'GRPCRoute', rules, hosts, backendProtocol: 'H2C' }, options);
}

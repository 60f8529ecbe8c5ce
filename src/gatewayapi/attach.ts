// Whether a route's (HTTPRoute's, GRPCRoute's) parentRef attaches to a Gateway, and with which hostnames, by
// the Gateway API's rules: the listeners named by sectionName/port, their protocol, allowedRoutes (namespaces
// and kinds), and the intersection of listener and route hostnames; which parents of a route are this
// operator's. Pure.
import type { Gateway, GatewayApiRoute, GatewayClass, LabelSelector, Listener, ParentReference, RouteKindName } from './types.js';
import { GATEWAY_API_GROUP } from './types.js';

export type AttachReason = 'NoMatchingParent' | 'NotAllowedByListeners' | 'NoMatchingListenerHostname';

/** A host the route is served on through this parent ('' = every host), and whether an HTTPS listener carries it. */
export interface AttachedHost {
  host: string;
  tls: boolean;
}

export type Attachment =
  | { attached: true; listeners: string[]; hosts: AttachedHost[] }
  | { attached: false; reason: AttachReason; message: string };

const ROUTE_PROTOCOLS = new Set(['HTTP', 'HTTPS']);

/**
 * The route kinds a listener carries, of those `served` (in that order): every one on an HTTP or HTTPS
 * listener (both kinds are HTTP, GRPCRoute over HTTP/2), narrowed by its allowedRoutes.kinds; none on others.
 */
export function listenerRouteKinds(listener: Listener, served: readonly RouteKindName[]): RouteKindName[] {
  if (!ROUTE_PROTOCOLS.has(listener.protocol)) return [];
  const kinds = listener.allowedRoutes?.kinds;
  if (!kinds?.length) return [...served];
  return served.filter((kind) => kinds.some((k) => (k.group ?? GATEWAY_API_GROUP) === GATEWAY_API_GROUP && k.kind === kind));
}

/**
 * Listeners whose port is shared in a way that cannot be served, by the Gateway API's Conflicted reasons:
 * HTTP next to HTTPS on one port (ProtocolConflict), or two HTTP(S) listeners on one port with the same
 * hostname (HostnameConflict, an absent hostname counting as one). Conflicted listeners carry no routes.
 */
export function listenerConflicts(listeners: readonly Listener[]): Map<string, { reason: 'ProtocolConflict' | 'HostnameConflict'; message: string }> {
  const conflicts = new Map<string, { reason: 'ProtocolConflict' | 'HostnameConflict'; message: string }>();
  for (const listener of listeners) {
    if (!ROUTE_PROTOCOLS.has(listener.protocol)) continue;
    const samePort = listeners.filter((other) => other !== listener && other.port === listener.port && ROUTE_PROTOCOLS.has(other.protocol));
    const protocol = samePort.find((other) => other.protocol !== listener.protocol);
    if (protocol) {
      conflicts.set(listener.name, { reason: 'ProtocolConflict', message: `port ${listener.port} is also listener ${protocol.name}'s, with protocol ${protocol.protocol}` });
      continue;
    }
    const hostname = samePort.find((other) => (other.hostname ?? '') === (listener.hostname ?? ''));
    if (hostname) conflicts.set(listener.name, { reason: 'HostnameConflict', message: `listener ${hostname.name} has the same port ${listener.port} and hostname ${listener.hostname ?? '(none)'}` });
  }
  return conflicts;
}

export function selectorMatches(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false; // from: Selector without a selector selects nothing
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const expression of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, expression.key);
    const values = expression.values ?? [];
    const ok =
      expression.operator === 'In' ? has && values.includes(labels[expression.key] ?? '')
      : expression.operator === 'NotIn' ? !has || !values.includes(labels[expression.key] ?? '')
      : expression.operator === 'Exists' ? has
      : !has;
    if (!ok) return false;
  }
  return true;
}

function namespaceAllowed(listener: Listener, routeNamespace: string, gatewayNamespace: string, namespaceLabels: (namespace: string) => Record<string, string> | undefined): boolean {
  const from = listener.allowedRoutes?.namespaces?.from ?? 'Same';
  if (from === 'All') return true;
  if (from === 'Same') return routeNamespace === gatewayNamespace;
  if (from === 'Selector') return selectorMatches(listener.allowedRoutes?.namespaces?.selector, namespaceLabels(routeNamespace) ?? {});
  return false;
}

/** Gateway API wildcards are suffix matches: `*.example.com` covers a.example.com and a.b.example.com, not example.com. */
export function gatewayWildcardCovers(pattern: string, host: string): boolean {
  return pattern.startsWith('*.') && host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
}

/** The hostname served when a listener's and a route's hostnames meet: the more specific one, or none. */
export function intersectHostname(listenerHost: string | undefined, routeHost: string): string | undefined {
  if (!listenerHost || listenerHost === routeHost) return routeHost;
  if (gatewayWildcardCovers(listenerHost, routeHost)) return routeHost;
  if (gatewayWildcardCovers(routeHost, listenerHost)) return listenerHost;
  return undefined;
}

/** The Gateway a parentRef names, as "namespace/name", or undefined when it is not a Gateway. */
export function parentGatewayKey(route: GatewayApiRoute, ref: ParentReference): string | undefined {
  if ((ref.group ?? GATEWAY_API_GROUP) !== GATEWAY_API_GROUP || (ref.kind ?? 'Gateway') !== 'Gateway') return undefined;
  return `${ref.namespace ?? route.metadata.namespace ?? ''}/${ref.name}`;
}

export function describeParent(ref: ParentReference, routeNamespace: string): string {
  const section = ref.sectionName ? ` listener ${ref.sectionName}` : '';
  const port = ref.port !== undefined ? ` port ${ref.port}` : '';
  return `Gateway ${ref.namespace ?? routeNamespace}/${ref.name}${section}${port}`;
}

/** What attaching one route reads besides the route and the Gateway. */
export interface AttachContext {
  /** The route's kind, for the listeners' allowedRoutes.kinds. */
  kind: RouteKindName;
  namespaceLabels: (namespace: string) => Record<string, string> | undefined;
}

export function attachToGateway(route: GatewayApiRoute, ref: ParentReference, gateway: Gateway, { kind, namespaceLabels }: AttachContext): Attachment {
  const routeNamespace = route.metadata.namespace ?? '';
  const parent = describeParent(ref, routeNamespace);
  const named = gateway.spec.listeners.filter((l) => (ref.sectionName === undefined || l.name === ref.sectionName) && (ref.port === undefined || l.port === ref.port));
  if (named.length === 0) return { attached: false, reason: 'NoMatchingParent', message: `${parent} has no such listener` };
  const conflicted = listenerConflicts(gateway.spec.listeners);
  const allowed = named.filter(
    (l) => !conflicted.has(l.name) && listenerRouteKinds(l, [kind]).length > 0 && namespaceAllowed(l, routeNamespace, gateway.metadata.namespace ?? '', namespaceLabels),
  );
  if (allowed.length === 0) {
    return { attached: false, reason: 'NotAllowedByListeners', message: `${parent}: no listener allows ${kind}s from namespace ${routeNamespace} (protocol, allowedRoutes, conflicts)` };
  }
  const routeHosts = route.spec.hostnames?.length ? route.spec.hostnames : [''];
  const hosts = new Map<string, boolean>();
  const listeners: string[] = [];
  for (const listener of allowed) {
    const served = routeHosts.map((h) => (h === '' ? (listener.hostname ?? '') : intersectHostname(listener.hostname, h))).filter((h): h is string => h !== undefined);
    if (served.length === 0) continue;
    listeners.push(listener.name);
    for (const host of served) hosts.set(host, (hosts.get(host) ?? false) || listener.protocol === 'HTTPS');
  }
  if (listeners.length === 0) {
    return { attached: false, reason: 'NoMatchingListenerHostname', message: `${parent}: no listener hostname matches the route's hostnames ${routeHosts.join(', ')}` };
  }
  return { attached: true, listeners, hosts: [...hosts].map(([host, tls]) => ({ host, tls })) };
}

export interface ParentAttachment {
  ref: ParentReference;
  /** "namespace/name" of the Gateway. */
  gateway: string;
  attachment: Attachment;
}

/** What deciding a route's parents reads: the Gateways, GatewayClasses and namespace labels (a cache, or the preview's inputs). */
export interface ParentLookups {
  /** --gateway-controller-name: GatewayClasses with this controllerName are ours. */
  controllerName: string;
  gateway(key: string): Gateway | undefined;
  gatewayClass(name: string): GatewayClass | undefined;
  namespaceLabels(namespace: string): Record<string, string> | undefined;
}

/** Whether Gateways of this class are this operator's to serve. */
export function ownsClass(gatewayClass: GatewayClass | undefined, controllerName: string): boolean {
  return gatewayClass?.spec.controllerName === controllerName;
}

/** This operator's parents of the route (of `kind`): parentRefs naming a Gateway whose GatewayClass has our controllerName. */
export function ourParents(route: GatewayApiRoute, kind: RouteKindName, lookups: ParentLookups): ParentAttachment[] {
  const parents: ParentAttachment[] = [];
  for (const ref of route.spec.parentRefs ?? []) {
    const key = parentGatewayKey(route, ref);
    const gateway = key ? lookups.gateway(key) : undefined;
    if (!key || !gateway || !ownsClass(lookups.gatewayClass(gateway.spec.gatewayClassName), lookups.controllerName)) continue;
    parents.push({ ref, gateway: key, attachment: attachToGateway(route, ref, gateway, { kind, namespaceLabels: (namespace) => lookups.namespaceLabels(namespace) }) });
  }
  return parents;
}

/** Every host the route is served on through the parents it attached to; HTTPS on any of them wins. */
export function attachedHosts(parents: readonly ParentAttachment[]): AttachedHost[] {
  const hosts = new Map<string, boolean>();
  for (const { attachment } of parents) {
    if (!attachment.attached) continue;
    for (const { host, tls } of attachment.hosts) hosts.set(host, (hosts.get(host) ?? false) || tls);
  }
  return [...hosts].map(([host, tls]) => ({ host, tls }));
}

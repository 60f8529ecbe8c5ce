// GatewayRoute → protocol v2 wire objects (docs/protocol.md), pure: the GatewayRoute's routes with its
// identifying data once, the change between what the control plane holds and what is desired, and a
// snapshot cut into frames under a byte budget. Named ports are resolved through the Service; when that
// fails the port last sent for the same route key is kept, so a Service that disappears for a moment does
// not pull a working route from the gateway.
import { listWithin } from '../api/v1alpha1/conditions.js';
import type { GatewayRouteCondition } from '../api/v1alpha1/reasons.js';
import { MAX_CONDITION_MESSAGE, type GatewayRoute, type RouteSpec } from '../api/v1alpha1/types.js';
import { WIRE_ROUTE_FIELDS, wireRouteKey, type PayloadJson, type RoutesChangePayload, type RoutesSyncChunkPayload, type WireGatewayRoute, type WireRoute } from '../controlplane/protocol.js';
import { sourceOwner, userAnnotations } from '../api/v1alpha1/gatewayroute.js';
import { resolveRouteBackend, type BackendContext } from '../gatewayroute/backends.js';
import { jsonEqual } from '../operator/json.js';

export interface WireTranslation {
  gatewayRoute: WireGatewayRoute;
  /** Routes left out because their port cannot be resolved and was never sent before. */
  unresolved: string[];
}

/** A route's key (protocol.md): from its GatewayRoute, path type, host and path, never its position. */
export function routeKey(namespace: string, name: string, route: Pick<RouteSpec, 'host' | 'path' | 'pathType'>): string {
  return wireRouteKey(namespace, name, { host: route.host ?? '', path: route.path, path_type: route.pathType });
}

/** Room for the lists in Synced messages: the CRD's limit less the words around them. */
export const SYNCED_MESSAGE_BUDGET = MAX_CONDITION_MESSAGE - 256;

/** Synced when routes were left out of the wire form (WireTranslation.unresolved): a reason kstatus reads as Stalled. */
export function backendUnresolvedCondition(unresolved: readonly string[]): GatewayRouteCondition<'Synced'> {
  const listed = listWithin(unresolved.slice(0, 5), SYNCED_MESSAGE_BUDGET) + (unresolved.length > 5 ? `; and ${unresolved.length - 5} more` : '');
  return { type: 'Synced', status: 'False', reason: 'BackendUnresolved', message: `${unresolved.length} route(s) not sent, their backend cannot be used: ${listed}` };
}

function sourceOf(route: GatewayRoute): WireGatewayRoute['source'] {
  const owner = sourceOwner(route);
  if (owner) return { kind: owner.kind, name: owner.name };
  const source = route.spec.source;
  return source?.kind && source.name ? { kind: source.kind, name: source.name } : undefined;
}

export function toWireGatewayRoute(
  route: GatewayRoute,
  backends: BackendContext,
  lastSent: readonly WireRoute[] = [],
): WireTranslation {
  const namespace = route.metadata.namespace ?? '';
  const name = route.metadata.name ?? '';
  const previous = new Map(lastSent.map((r) => [r.key, r]));
  const routes: WireRoute[] = [];
  const unresolved: string[] = [];
  for (const spec of route.spec.routes ?? []) {
    const key = routeKey(namespace, name, spec);
    const backendNamespace = spec.backend.namespace ?? namespace;
    // Another namespace only where a ReferenceGrant there allows it, whoever wrote the GatewayRoute.
    const resolved = resolveRouteBackend(spec, namespace, backends);
    const before = previous.get(key);
    let port: number | undefined;
    if (resolved.ok) port = resolved.port;
    // A passing lookup failure keeps the port last sent; a refusal (ExternalName, no ReferenceGrant) never does.
    else if (!('refused' in resolved) && before && before.service === spec.backend.service && (before.service_namespace ?? namespace) === backendNamespace) port = before.port; // the key pins host, path and type
    if (port === undefined) {
      unresolved.push(`${key}: ${resolved.ok ? '' : resolved.message}`);
      continue;
    }
    const wire: WireRoute = { key, host: spec.host ?? '', path: spec.path, path_type: spec.pathType, service: spec.backend.service, port, tls: spec.tls ?? false };
    if (backendNamespace !== namespace) wire.service_namespace = backendNamespace;
    routes.push(wire);
  }
  const gatewayRoute: WireGatewayRoute = { namespace, name, annotations: userAnnotations(route.metadata.annotations), routes };
  const source = sourceOf(route);
  if (source) gatewayRoute.source = source;
  return { gatewayRoute, unresolved };
}

function sameRoute(a: WireRoute, b: WireRoute): boolean {
  return a.host === b.host && a.path === b.path && a.path_type === b.path_type && a.service === b.service && a.service_namespace === b.service_namespace && a.port === b.port && a.tls === b.tls;
}

/** Equality of two GatewayRoutes as the control plane sees them (route order ignored: keys identify routes). */
export function sameGatewayRoute(a: WireGatewayRoute | undefined, b: WireGatewayRoute | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.routes.length !== b.routes.length || !jsonEqual(a.source, b.source) || !jsonEqual(a.annotations, b.annotations)) return false;
  const byKey = new Map(a.routes.map((r) => [r.key, r]));
  return b.routes.every((r) => {
    const other = byKey.get(r.key);
    return other !== undefined && sameRoute(other, r);
  });
}

/** A change as the outbox computes it: routes with their keys (sent without them). */
export type ChangeBody = Pick<RoutesChangePayload, 'namespace' | 'name' | 'deleted' | 'source' | 'annotations' | 'remove'> & { upsert: WireRoute[] };

/**
 * What turns `held` (what the control plane holds) into `desired`; undefined when nothing differs.
 * Routes the control plane rejected are re-offered by the outbox, not here.
 */
export function diffGatewayRoute(held: WireGatewayRoute | undefined, desired: WireGatewayRoute | undefined): ChangeBody | undefined {
  const target = desired ?? held;
  if (!target) return undefined;
  const { namespace, name } = target;
  if (!desired) return { namespace, name, deleted: true, upsert: [], remove: [] };
  const before = new Map((held?.routes ?? []).map((r) => [r.key, r]));
  const upsert = desired.routes.filter((r) => {
    const old = before.get(r.key);
    return !old || !sameRoute(old, r);
  });
  const wanted = new Set(desired.routes.map((r) => r.key));
  const remove = [...before.keys()].filter((key) => !wanted.has(key));
  const change: ChangeBody = { namespace, name, upsert, remove };
  // A GatewayRoute the control plane does not hold yet gets its identifying data with its first routes.
  if (!held || !jsonEqual(held.source, desired.source)) if (desired.source) change.source = desired.source;
  if (!held || !jsonEqual(held.annotations, desired.annotations)) change.annotations = desired.annotations;
  const nothing = held && !upsert.length && !remove.length && change.source === undefined && change.annotations === undefined;
  return nothing ? undefined : change;
}

export interface EncodedSnapshot {
  /** Each chunk's payload as JSON text, every one within the budget unless a single route exceeds it. */
  chunks: Array<PayloadJson<RoutesSyncChunkPayload>>;
  routes: number;
}

/**
 * Cuts a snapshot's GatewayRoutes into chunk payloads of at most `budgetBytes` each (the envelope's few
 * hundred bytes are reserved). A GatewayRoute that does not fit is split across chunks: its first part
 * carries its identifying data, later parts only its name and further routes; the control plane merges
 * them. Each route is encoded once (without its key, which the control plane derives), and the chunk text is
 * built from those pieces.
 */
export function encodeSnapshot(gatewayRoutes: readonly WireGatewayRoute[], revision: number, budgetBytes: number): EncodedSnapshot {
  const ENVELOPE_RESERVE = 512;
  const limit = Math.max(1024, budgetBytes - ENVELOPE_RESERVE);
  const head = `{"revision":${revision},"gateway_routes":[`;
  const chunks: Array<PayloadJson<RoutesSyncChunkPayload>> = [];
  let parts: string[] = [];
  let size = head.length + 2;
  let routes = 0;
  const flush = (): void => {
    // Built from JSON pieces of a RoutesSyncChunkPayload, so it is one.
    if (parts.length) chunks.push((head + parts.join(',') + ']}') as PayloadJson<RoutesSyncChunkPayload>);
    parts = [];
    size = head.length + 2;
  };
  for (const gatewayRoute of gatewayRoutes) {
    const { routes: list, ...meta } = gatewayRoute;
    const identity = JSON.stringify({ namespace: meta.namespace, name: meta.name });
    let opening = JSON.stringify(meta).slice(0, -1) + ',"routes":['; // the full identifying data, once
    let encoded: string[] = [];
    let partSize = Buffer.byteLength(opening) + 2;
    const closePart = (): void => {
      const text = opening + encoded.join(',') + ']}';
      if (size + partSize + 1 > limit && parts.length) flush();
      parts.push(text);
      size += partSize + 1;
      opening = identity.slice(0, -1) + ',"routes":[';
      encoded = [];
      partSize = opening.length + 2;
    };
    for (const route of list) {
      const text = JSON.stringify(route, WIRE_ROUTE_FIELDS as string[]); // the key is derived, not sent
      const bytes = Buffer.byteLength(text);
      if (size + partSize + bytes + 1 > limit) {
        if (encoded.length) {
          closePart();
          flush();
        } else if (parts.length) {
          flush(); // start this GatewayRoute in a chunk of its own
        }
      }
      encoded.push(text);
      partSize += bytes + 1;
      routes++;
    }
    closePart();
  }
  flush();
  return { chunks, routes };
}

// The reference control plane's route store: clusters by identity (cluster_id + the credential it
// registered with; a name is only a label), and per cluster the GatewayRoutes and routes it holds. It
// validates everything an agent sends, as a strict conformance peer must. Pure.
import { randomUUID } from 'node:crypto';
import { wireRouteBody, wireRouteKey, type RoutesChangePayload, type WireGatewayRouteMeta, type WireRoute, type WireRouteBody } from '../controlplane/protocol.js';

/** A route as held and served: the wire route with its GatewayRoute's data (shared, not copied). */
export interface HeldRoute extends WireRoute {
  namespace: string;
  gateway_route: string;
  ingress_name: string;
  annotations: Record<string, string>;
}

export interface ClusterRecord {
  cluster_id: string;
  cluster_uuid: string;
  name: string;
  /** Digest of the credential the cluster registered with; resuming needs the same one. */
  credential: string;
  connected: boolean;
  last_heartbeat: string | null;
  is_private: boolean | null;
  routing_mode: string | null;
  public_endpoint?: string;
  routes: Map<string, HeldRoute>;
  /** GatewayRoute ("namespace/name") → its data and route keys. */
  gatewayRoutes: Map<string, { meta: WireGatewayRouteMeta; keys: Set<string> }>;
  lastRevision: number;
}

const HOST = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const PATH_TYPES = ['Prefix', 'Exact', 'ImplementationSpecific'];

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Why a GatewayRoute's identifying data is invalid, or undefined when it is valid. */
export function invalidMeta(meta: unknown, partial = false): string | undefined {
  if (!isRecord(meta)) return 'gateway route must be an object';
  if (typeof meta.namespace !== 'string' || !NAME.test(meta.namespace)) return `namespace "${String(meta.namespace)}" is not valid`;
  if (typeof meta.name !== 'string' || !SUBDOMAIN.test(meta.name)) return `name "${String(meta.name)}" is not valid`;
  if (meta.annotations === undefined && partial) return undefined;
  if (!isRecord(meta.annotations) || Object.values(meta.annotations).some((v) => typeof v !== 'string')) return 'field "annotations" must be an object of strings';
  if (Object.keys(meta.annotations).some((k) => k.startsWith('kubectl.kubernetes.io/'))) return 'kubectl annotations must not be sent';
  if (meta.source !== undefined && (!isRecord(meta.source) || typeof meta.source.kind !== 'string' || typeof meta.source.name !== 'string')) {
    return 'field "source" must be {kind, name}';
  }
  return undefined;
}

/** A part of a snapshot or a change's GatewayRoute: routes as sent, without keys. */
export interface ReceivedGatewayRoute extends Omit<WireGatewayRouteMeta, 'annotations'> {
  annotations?: Record<string, string>;
  routes: unknown[];
}

/** Why a route is invalid, or undefined when it is valid. */
export function invalidRoute(route: unknown, allowCatchAll: boolean): string | undefined {
  if (!isRecord(route)) return 'route must be an object';
  for (const field of ['host', 'path', 'path_type', 'service']) if (typeof route[field] !== 'string') return `field "${field}" must be a string`;
  const r = route as unknown as WireRouteBody;
  if (typeof r.port !== 'number' || !Number.isInteger(r.port) || r.port < 1 || r.port > 65535) return 'field "port" must be 1-65535';
  if (typeof r.tls !== 'boolean') return 'field "tls" must be a boolean';
  if (r.host === '' && !allowCatchAll) return 'catch-all routes (empty host) are not allowed';
  if (r.host !== '' && !HOST.test(r.host)) return `host "${r.host}" is not a DNS name`;
  if (!r.path.startsWith('/')) return `path "${r.path}" must start with /`;
  if (!PATH_TYPES.includes(r.path_type)) return `path_type "${r.path_type}" is not one of ${PATH_TYPES.join(', ')}`;
  if (!NAME.test(r.service)) return `service "${r.service}" is not valid`;
  if (r.service_namespace !== undefined && (typeof r.service_namespace !== 'string' || !NAME.test(r.service_namespace))) {
    return `service_namespace "${String(r.service_namespace)}" is not valid`;
  }
  return undefined;
}

export interface ApplyResult {
  accepted: string[];
  rejected: Array<{ key: string; reason: string }>;
}

export type Registration = { ok: true; cluster: ClusterRecord } | { ok: false; code: string; message: string };

function held(meta: WireGatewayRouteMeta, route: WireRoute): HeldRoute {
  const ingressName = meta.source?.kind === 'Ingress' ? meta.source.name : '';
  return { ...route, namespace: meta.namespace, gateway_route: meta.name, ingress_name: ingressName, annotations: meta.annotations };
}

export class RouteStore {
  private readonly byId = new Map<string, ClusterRecord>();
  /** host + path → the cluster serving it and how many of its routes do: one host + path, one cluster. */
  private readonly claims = new Map<string, { cluster: ClusterRecord; count: number }>();

  constructor(private readonly allowCatchAll = false) {}

  /**
   * Registers or resumes a cluster. A known cluster_id resumes only with the credential it registered with;
   * an unknown one (this store lost its state) is taken as given; none gets a fresh identity. The name is
   * a label: two clusters of the same name are two clusters.
   */
  register(name: string, clusterId: string | undefined, credential: string): Registration {
    const known = clusterId ? this.byId.get(clusterId) : undefined;
    if (known) {
      if (known.credential !== credential) {
        return { ok: false, code: 'identity_mismatch', message: `cluster_id ${clusterId} was registered with another credential` };
      }
      known.name = name;
      return { ok: true, cluster: known };
    }
    const id = clusterId || randomUUID();
    const record: ClusterRecord = {
      cluster_id: id,
      cluster_uuid: id,
      name,
      credential,
      connected: false,
      last_heartbeat: null,
      is_private: null,
      routing_mode: null,
      routes: new Map(),
      gatewayRoutes: new Map(),
      lastRevision: 0,
    };
    this.byId.set(id, record);
    return { ok: true, cluster: record };
  }

  cluster(uuid: string): ClusterRecord | undefined {
    return this.byId.get(uuid);
  }

  clusters(): ClusterRecord[] {
    return [...this.byId.values()];
  }

  /** A snapshot (its parts merged by GatewayRoute) replaces everything the cluster held. */
  replaceAll(cluster: ClusterRecord, parts: readonly ReceivedGatewayRoute[]): ApplyResult {
    for (const key of [...cluster.routes.keys()]) this.drop(cluster, key);
    cluster.gatewayRoutes.clear();
    const result: ApplyResult = { accepted: [], rejected: [] };
    for (const part of parts) {
      const owner = `${part.namespace}/${part.name}`;
      const known = cluster.gatewayRoutes.get(owner);
      const meta = known?.meta ?? { namespace: part.namespace, name: part.name, source: part.source, annotations: part.annotations ?? {} };
      if (!known) cluster.gatewayRoutes.set(owner, { meta, keys: new Set() });
      this.admit(cluster, meta, part.routes, result);
    }
    return result;
  }

  /** One GatewayRoute's change: deleted, or its data replaced and routes upserted / removed by key. */
  applyChange(cluster: ClusterRecord, change: Pick<RoutesChangePayload, 'namespace' | 'name' | 'deleted' | 'source' | 'annotations' | 'remove'> & { upsert: unknown[] }): ApplyResult {
    const owner = `${change.namespace}/${change.name}`;
    const entry = cluster.gatewayRoutes.get(owner);
    if (change.deleted) {
      for (const key of entry?.keys ?? []) this.drop(cluster, key);
      cluster.gatewayRoutes.delete(owner);
      return { accepted: [], rejected: [] };
    }
    const meta: WireGatewayRouteMeta = {
      namespace: change.namespace,
      name: change.name,
      source: change.source ?? entry?.meta.source,
      annotations: change.annotations ?? entry?.meta.annotations ?? {},
    };
    const keys = entry?.keys ?? new Set<string>();
    cluster.gatewayRoutes.set(owner, { meta, keys });
    for (const key of change.remove) this.drop(cluster, key);
    const result: ApplyResult = { accepted: [], rejected: [] };
    this.admit(cluster, meta, change.upsert, result, true);
    // New data for the routes kept: they share the GatewayRoute's annotations and source.
    if (change.annotations !== undefined || change.source !== undefined) {
      for (const key of keys) {
        const route = cluster.routes.get(key);
        if (route) cluster.routes.set(key, held(meta, route));
      }
    }
    return result;
  }

  /** Adds routes (as sent, keys derived); with `replace`, a route of the same key is replaced, else a duplicate. */
  private admit(cluster: ClusterRecord, meta: WireGatewayRouteMeta, routes: readonly unknown[], result: ApplyResult, replace = false): void {
    const owner = `${meta.namespace}/${meta.name}`;
    const keys = cluster.gatewayRoutes.get(owner)?.keys as Set<string>;
    for (const raw of routes) {
      const sent = (isRecord(raw) ? raw : {}) as Partial<Record<'host' | 'path' | 'path_type', unknown>>;
      const key = wireRouteKey(meta.namespace, meta.name, { host: String(sent.host ?? ''), path: String(sent.path ?? ''), path_type: String(sent.path_type ?? '') as WireRouteBody['path_type'] });
      const problem = invalidRoute(raw, this.allowCatchAll);
      if (problem) {
        result.rejected.push({ key, reason: problem });
        continue;
      }
      if (replace) this.drop(cluster, key);
      const route: WireRoute = { ...wireRouteBody(raw as WireRoute), key }; // only the contract's fields
      const claim = this.claims.get(`${route.host}\n${route.path}`);
      if (claim && claim.cluster !== cluster) {
        result.rejected.push({ key, reason: `${route.host}${route.path} is already served by cluster ${claim.cluster.name}` });
        continue;
      }
      if (cluster.routes.has(key)) {
        result.rejected.push({ key, reason: `duplicate key ${key}` });
        continue;
      }
      cluster.routes.set(key, held(meta, route));
      keys.add(key);
      this.claim(cluster, route, 1);
      result.accepted.push(key);
    }
  }

  private drop(cluster: ClusterRecord, key: string): void {
    const route = cluster.routes.get(key);
    if (!route) return;
    cluster.routes.delete(key);
    cluster.gatewayRoutes.get(`${route.namespace}/${route.gateway_route}`)?.keys.delete(key);
    this.claim(cluster, route, -1);
  }

  private claim(cluster: ClusterRecord, route: WireRoute, delta: 1 | -1): void {
    const hostPath = `${route.host}\n${route.path}`;
    const claim = this.claims.get(hostPath) ?? { cluster, count: 0 };
    claim.count += delta;
    if (claim.count <= 0) this.claims.delete(hostPath);
    else this.claims.set(hostPath, claim);
  }
}

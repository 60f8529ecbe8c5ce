// The reference control plane's route store: clusters by name with stable ids, and per cluster the
// routes it holds. It validates everything an agent sends, as a strict conformance peer must. Pure.
import { randomUUID } from 'node:crypto';
import type { WireRoute } from '../controlplane/protocol.js';

export interface ClusterRecord {
  cluster_id: string;
  cluster_uuid: string;
  name: string;
  connected: boolean;
  last_heartbeat: string | null;
  is_private: boolean | null;
  routing_mode: string | null;
  public_endpoint?: string;
  routes: Map<string, WireRoute>;
  lastRevision: number;
}

const HOST = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const PATH_TYPES = ['Prefix', 'Exact', 'ImplementationSpecific'];

/** Why a route is invalid, or undefined when it is valid. */
export function invalidRoute(route: unknown, allowCatchAll: boolean): string | undefined {
  if (typeof route !== 'object' || route === null) return 'route must be an object';
  const r = route as Record<string, unknown>;
  const strings = ['key', 'host', 'path', 'path_type', 'namespace', 'service', 'ingress_name', 'gateway_route'];
  for (const field of strings) if (typeof r[field] !== 'string') return `field "${field}" must be a string`;
  if (!(r.key as string)) return 'field "key" must not be empty';
  if (typeof r.port !== 'number' || !Number.isInteger(r.port) || r.port < 1 || r.port > 65535) return 'field "port" must be 1-65535';
  if (typeof r.tls !== 'boolean') return 'field "tls" must be a boolean';
  if (typeof r.annotations !== 'object' || r.annotations === null || Array.isArray(r.annotations)) return 'field "annotations" must be an object';
  if (Object.keys(r.annotations as object).some((k) => k.startsWith('kubectl.kubernetes.io/'))) return 'kubectl annotations must not be sent';
  if (r.host === '' && !allowCatchAll) return 'catch-all routes (empty host) are not allowed';
  if (r.host !== '' && !HOST.test(r.host as string)) return `host "${r.host}" is not a DNS name`;
  if (!(r.path as string).startsWith('/')) return `path "${r.path}" must start with /`;
  if (!PATH_TYPES.includes(r.path_type as string)) return `path_type "${r.path_type}" is not one of ${PATH_TYPES.join(', ')}`;
  if (!NAME.test(r.namespace as string)) return `namespace "${r.namespace}" is not valid`;
  if (!NAME.test(r.service as string)) return `service "${r.service}" is not valid`;
  return undefined;
}

export interface ApplyResult {
  accepted: string[];
  rejected: Array<{ key: string; reason: string }>;
}

export class RouteStore {
  private readonly byName = new Map<string, ClusterRecord>();
  private readonly byId = new Map<string, ClusterRecord>();
  /** Per cluster: GatewayRoute (namespace/name) → its route keys, so a change touches only its own. */
  private readonly byOwner = new WeakMap<ClusterRecord, Map<string, Set<string>>>();

  constructor(private readonly allowCatchAll = false) {}

  /** Registers (or resumes) a cluster: the same name, or a known cluster_id, gets the same identity. */
  register(name: string, clusterId?: string): ClusterRecord {
    const known = (clusterId && this.byId.get(clusterId)) || this.byName.get(name);
    if (known) return known;
    const id = clusterId || randomUUID();
    const record: ClusterRecord = {
      cluster_id: id,
      cluster_uuid: id,
      name,
      connected: false,
      last_heartbeat: null,
      is_private: null,
      routing_mode: null,
      routes: new Map(),
      lastRevision: 0,
    };
    this.byName.set(name, record);
    this.byId.set(id, record);
    return record;
  }

  cluster(uuid: string): ClusterRecord | undefined {
    return this.byId.get(uuid);
  }

  clusters(): ClusterRecord[] {
    return [...this.byId.values()];
  }

  /** The cluster (other than `except`) that already serves host + path, if any. */
  private claimant(route: WireRoute, except: ClusterRecord): ClusterRecord | undefined {
    for (const other of this.byId.values()) {
      if (other === except) continue;
      for (const r of other.routes.values()) if (r.host === route.host && r.path === route.path) return other;
    }
    return undefined;
  }

  private admit(cluster: ClusterRecord, routes: unknown[], into: Map<string, WireRoute>): ApplyResult {
    const result: ApplyResult = { accepted: [], rejected: [] };
    for (const raw of routes) {
      const key = typeof (raw as { key?: unknown })?.key === 'string' ? ((raw as { key: string }).key) : '';
      const problem = invalidRoute(raw, this.allowCatchAll);
      if (problem) {
        result.rejected.push({ key, reason: problem });
        continue;
      }
      const route = raw as WireRoute;
      const other = this.claimant(route, cluster);
      if (other) {
        result.rejected.push({ key, reason: `${route.host}${route.path} is already served by cluster ${other.name}` });
        continue;
      }
      if (into.has(route.key)) {
        result.rejected.push({ key, reason: `duplicate key ${route.key}` });
        continue;
      }
      into.set(route.key, route);
      result.accepted.push(route.key);
    }
    return result;
  }

  /** routes_sync: the complete set replaces what the cluster held. */
  replaceAll(cluster: ClusterRecord, routes: unknown[]): ApplyResult {
    const next = new Map<string, WireRoute>();
    const result = this.admit(cluster, routes, next);
    cluster.routes = next;
    const owners = new Map<string, Set<string>>();
    for (const route of next.values()) this.own(owners, route);
    this.byOwner.set(cluster, owners);
    return result;
  }

  /** ingress_routes: add/update replace the routes of one GatewayRoute; delete removes them. */
  applyChange(cluster: ClusterRecord, action: string, gatewayRoute: string | undefined, routes: unknown[]): ApplyResult {
    const owners = this.ownersOf(cluster);
    const changed = new Set<string>();
    if (gatewayRoute) changed.add(gatewayRoute);
    for (const r of routes) {
      const route = r as Partial<WireRoute>;
      if (typeof route?.namespace === 'string' && typeof route.gateway_route === 'string') changed.add(`${route.namespace}/${route.gateway_route}`);
    }
    for (const owner of changed) {
      for (const key of owners.get(owner) ?? []) cluster.routes.delete(key);
      owners.delete(owner);
    }
    if (action === 'delete') return { accepted: routes.map((r) => String((r as { key?: unknown })?.key ?? '')), rejected: [] };
    const result = this.admit(cluster, routes, cluster.routes);
    for (const key of result.accepted) this.own(owners, cluster.routes.get(key)!);
    return result;
  }

  private ownersOf(cluster: ClusterRecord): Map<string, Set<string>> {
    let owners = this.byOwner.get(cluster);
    if (!owners) {
      owners = new Map();
      for (const route of cluster.routes.values()) this.own(owners, route);
      this.byOwner.set(cluster, owners);
    }
    return owners;
  }

  private own(owners: Map<string, Set<string>>, route: WireRoute): void {
    const owner = `${route.namespace}/${route.gateway_route}`;
    let keys = owners.get(owner);
    if (!keys) owners.set(owner, (keys = new Set()));
    keys.add(route.key);
  }
}

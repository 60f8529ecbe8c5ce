// The reference control plane's route store: clusters by identity (the credential a cluster registered
// with, with its cluster_id and its fingerprint; a name is only a label), and per cluster the GatewayRoutes
// and routes it holds. Every route is checked as it is applied (the protocol's invalidRoute), as a strict
// conformance peer must. Pure.
import { randomUUID } from 'node:crypto';
import { invalidRoute, isObject, wireRouteBody, wireRouteKey, type RoutesChangePayload, type WireGatewayRouteMeta, type WireGatewayRoutePart, type WireRoute, type WireRouteBody } from '../controlplane/protocol.js';

/** A route as held and served: the wire route with its GatewayRoute's data (shared, not copied). */
export interface HeldRoute extends WireRoute {
  namespace: string;
  gateway_route: string;
  ingress_name: string;
  annotations: Record<string, string>;
}

export interface ClusterRecord {
  /** What the agent keeps and presents to resume; unique per credential only (another credential may use the same). */
  cluster_id: string;
  /** A random id per record, never the cluster_id: what routing, the gateway and the admin API key clusters by. */
  cluster_uuid: string;
  name: string;
  /** Digest of the credential the cluster registered with; resuming needs the same one. */
  credential: string;
  /** What the agent says outlives its cached cluster_id (its kube-system Namespace's UID); absent from older agents. */
  fingerprint?: string;
  connected: boolean;
  /** When its last socket closed (RFC 3339); null while connected, or before it ever was. */
  disconnected_at: string | null;
  last_heartbeat: string | null;
  is_private: boolean | null;
  routing_mode: string | null;
  public_endpoint?: string;
  routes: Map<string, HeldRoute>;
  /** GatewayRoute ("namespace/name") → its data and route keys. */
  gatewayRoutes: Map<string, { meta: WireGatewayRouteMeta; keys: Set<string> }>;
  lastRevision: number;
}

/** A part of a snapshot or a change's GatewayRoute as received: its routes are checked one by one as they are applied. */
export type ReceivedGatewayRoute = Omit<WireGatewayRoutePart, 'routes'> & { routes: unknown[] };

export interface ApplyResult {
  accepted: string[];
  rejected: Array<{ key: string; reason: string }>;
  /** Host + path claims taken from disconnected clusters for accepted routes (for the log, not the ack). */
  takenOver: Array<{ host: string; path: string; from: ClusterRecord }>;
}

const emptyResult = (): ApplyResult => ({ accepted: [], rejected: [], takenOver: [] });

/** What an agent presents to register: its credential, and what it knows of its identity. */
export interface RegistrationRequest {
  /** A label: two clusters may share one. */
  name: string;
  /** Digest of the credential the socket authenticated with. */
  credential: string;
  /** The cluster_id the agent kept from an earlier registration, if it could. */
  clusterId?: string;
  /** The register's cluster_fingerprint, if the agent sends one. */
  fingerprint?: string;
}

/** How a registration found its cluster: by the cluster_id sent, by the fingerprint, or not at all (a new one). */
export type RegisteredBy = 'cluster_id' | 'fingerprint' | 'new';

export type Registration = { ok: true; cluster: ClusterRecord; by: RegisteredBy } | { ok: false; code: string; message: string };

/**
 * Whether a cluster_id's record may be resumed by an agent presenting `fingerprint`: unless both are known
 * and differ, in which case the id was copied from another cluster (its state ConfigMap restored elsewhere).
 */
export function fingerprintsAgree(record: Pick<ClusterRecord, 'fingerprint'>, fingerprint: string | undefined): boolean {
  return record.fingerprint === undefined || fingerprint === undefined || record.fingerprint === fingerprint;
}

/** A host + path claim: the cluster serving it and which of its routes do (one host + path, one cluster). */
interface Claim {
  cluster: ClusterRecord;
  keys: Set<string>;
}

const hostPath = (route: Pick<WireRoute, 'host' | 'path'>): string => `${route.host}\n${route.path}`;
// A credential is a hex digest, so the newline cannot be part of it.
const fingerprintKey = (credential: string, fingerprint: string): string => `${credential}\n${fingerprint}`;
const idKey = (credential: string, clusterId: string): string => `${credential}\n${clusterId}`;

/** How many clusters one credential may create by default: registering with ever-new fingerprints must not grow the store without end. */
export const DEFAULT_MAX_CLUSTERS_PER_CREDENTIAL = 64;

function held(meta: WireGatewayRouteMeta, route: WireRoute): HeldRoute {
  const ingressName = meta.source?.kind === 'Ingress' ? meta.source.name : '';
  return { ...route, namespace: meta.namespace, gateway_route: meta.name, ingress_name: ingressName, annotations: meta.annotations };
}

export class RouteStore {
  /**
   * credential + cluster_id → the cluster. A cluster_id presented under a credential only ever resumes or
   * creates a record of that credential: another credential's agent that presents it (say, first after a
   * restart of this control plane) gets a record of its own and can never lock the owner out.
   */
  private readonly byId = new Map<string, ClusterRecord>();
  /** cluster_uuid → the cluster: how routing, the gateway and the admin API find it. */
  private readonly byUuid = new Map<string, ClusterRecord>();
  /** credential → how many clusters it created (bounded by maxClustersPerCredential). */
  private readonly perCredential = new Map<string, number>();
  /** credential + fingerprint → the cluster: a restarted agent that lost its cluster_id finds its cluster here. */
  private readonly byFingerprint = new Map<string, ClusterRecord>();
  /** host + path → the cluster serving it: one host + path, one cluster. */
  private readonly claims = new Map<string, Claim>();
  /** host (exact or wildcard pattern) → the clusters holding routes on it, with how many: all of one credential. */
  private readonly hosts = new Map<string, Map<ClusterRecord, number>>();

  constructor(
    private readonly allowCatchAll = false,
    private readonly maxClustersPerCredential = DEFAULT_MAX_CLUSTERS_PER_CREDENTIAL,
  ) {}

  /**
   * Registers or resumes a cluster (docs/protocol.md, "Identity"). A known cluster_id resumes only with the
   * credential it registered with (records are kept per credential + cluster_id: another credential's record
   * of the same id is never looked at), and only when the fingerprints do not disagree; otherwise the cluster
   * with the same credential and fingerprint is resumed, if there is one. Else a new cluster: under the
   * cluster_id sent when this credential has no record of it (this store lost its state), else under a fresh
   * one; refused (`too_many_clusters`) when the credential already created maxClustersPerCredential. The name
   * is a label: two clusters of the same name are two clusters.
   */
  register({ name, credential, clusterId, fingerprint }: RegistrationRequest): Registration {
    const known = clusterId ? this.byId.get(idKey(credential, clusterId)) : undefined;
    const resumed = this.resumable(known, credential, fingerprint);
    if (!resumed && (this.perCredential.get(credential) ?? 0) >= this.maxClustersPerCredential) {
      return { ok: false, code: 'too_many_clusters', message: `this credential already has ${this.maxClustersPerCredential} clusters, the most one credential may create` };
    }
    const cluster = resumed?.cluster ?? this.create(known ? undefined : clusterId, credential);
    cluster.name = name;
    if (fingerprint !== undefined && cluster.fingerprint === undefined) {
      cluster.fingerprint = fingerprint;
      this.byFingerprint.set(fingerprintKey(credential, fingerprint), cluster);
    }
    return { ok: true, cluster, by: resumed?.by ?? 'new' };
  }

  /** The cluster a registration resumes: its cluster_id's unless the fingerprints disagree, else the one of its credential + fingerprint. */
  private resumable(known: ClusterRecord | undefined, credential: string, fingerprint: string | undefined): { cluster: ClusterRecord; by: RegisteredBy } | undefined {
    if (known && fingerprintsAgree(known, fingerprint)) return { cluster: known, by: 'cluster_id' };
    const sameCluster = fingerprint === undefined ? undefined : this.byFingerprint.get(fingerprintKey(credential, fingerprint));
    return sameCluster ? { cluster: sameCluster, by: 'fingerprint' } : undefined;
  }

  private create(clusterId: string | undefined, credential: string): ClusterRecord {
    const id = clusterId || randomUUID();
    const record: ClusterRecord = {
      cluster_id: id,
      cluster_uuid: randomUUID(),
      name: '',
      credential,
      connected: false,
      disconnected_at: null,
      last_heartbeat: null,
      is_private: null,
      routing_mode: null,
      routes: new Map(),
      gatewayRoutes: new Map(),
      lastRevision: 0,
    };
    this.byId.set(idKey(credential, id), record);
    this.byUuid.set(record.cluster_uuid, record);
    this.perCredential.set(credential, (this.perCredential.get(credential) ?? 0) + 1);
    return record;
  }

  /** A socket of the cluster registered. */
  markConnected(cluster: ClusterRecord): void {
    cluster.connected = true;
    cluster.disconnected_at = null;
  }

  /** The cluster's last socket closed at `at`: its routes stay (and its claims may be taken over) until it resumes or they are released. */
  markDisconnected(cluster: ClusterRecord, at: Date): void {
    cluster.connected = false;
    cluster.disconnected_at = at.toISOString();
  }

  /** Drops every route and GatewayRoute the cluster holds, freeing its claims; the cluster itself stays, to be resumed. */
  releaseRoutes(cluster: ClusterRecord): void {
    for (const key of [...cluster.routes.keys()]) this.drop(cluster, key);
    cluster.gatewayRoutes.clear();
  }

  /** The cluster of a cluster_uuid (not a cluster_id: those are unique per credential only). */
  cluster(uuid: string): ClusterRecord | undefined {
    return this.byUuid.get(uuid);
  }

  clusters(): ClusterRecord[] {
    return [...this.byId.values()];
  }

  /** A snapshot (its parts merged by GatewayRoute) replaces everything the cluster held. */
  replaceAll(cluster: ClusterRecord, parts: readonly ReceivedGatewayRoute[]): ApplyResult {
    this.releaseRoutes(cluster);
    const result = emptyResult();
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
      return emptyResult();
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
    const result = emptyResult();
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
      const sent = (isObject(raw) ? raw : {}) as Partial<Record<'host' | 'path' | 'path_type', unknown>>;
      const key = wireRouteKey(meta.namespace, meta.name, { host: String(sent.host ?? ''), path: String(sent.path ?? ''), path_type: String(sent.path_type ?? '') as WireRouteBody['path_type'] });
      const problem = invalidRoute(raw, this.allowCatchAll);
      if (problem) {
        result.rejected.push({ key, reason: problem });
        continue;
      }
      if (replace) this.drop(cluster, key);
      const route: WireRoute = { ...wireRouteBody(raw as WireRoute), key }; // only the contract's fields
      // A host belongs to one credential: the gateway picks a cluster by host alone, so another credential's
      // route on it, whatever its path, would take that host's traffic. Never taken over, connected or not.
      if (this.heldByAnotherCredential(cluster, route.host)) {
        result.rejected.push({ key, reason: `host ${route.host} is served by another cluster (of another credential)` });
        continue;
      }
      const claim = this.claims.get(hostPath(route));
      if (claim && claim.cluster !== cluster && !mayTakeOver(cluster, claim.cluster)) {
        result.rejected.push({ key, reason: `${route.host}${route.path} is already served by cluster ${claim.cluster.name}` });
        continue;
      }
      if (cluster.routes.has(key)) {
        result.rejected.push({ key, reason: `duplicate key ${key}` });
        continue;
      }
      if (claim && claim.cluster !== cluster) {
        for (const staleKey of [...claim.keys]) this.drop(claim.cluster, staleKey);
        result.takenOver.push({ host: route.host, path: route.path, from: claim.cluster });
      }
      cluster.routes.set(key, held(meta, route));
      keys.add(key);
      this.claim(cluster, route);
      this.holdHost(cluster, route.host, 1);
      result.accepted.push(key);
    }
  }

  private drop(cluster: ClusterRecord, key: string): void {
    const route = cluster.routes.get(key);
    if (!route) return;
    cluster.routes.delete(key);
    cluster.gatewayRoutes.get(`${route.namespace}/${route.gateway_route}`)?.keys.delete(key);
    this.unclaim(cluster, route);
    this.holdHost(cluster, route.host, -1);
  }

  private heldByAnotherCredential(cluster: ClusterRecord, host: string): boolean {
    for (const holder of this.hosts.get(host)?.keys() ?? []) if (holder.credential !== cluster.credential) return true;
    return false;
  }

  /** Counts a route of `cluster` on `host` in (+1) or out (-1). */
  private holdHost(cluster: ClusterRecord, host: string, delta: 1 | -1): void {
    const holders = this.hosts.get(host) ?? new Map<ClusterRecord, number>();
    const count = (holders.get(cluster) ?? 0) + delta;
    if (count > 0) holders.set(cluster, count);
    else holders.delete(cluster);
    if (holders.size > 0) this.hosts.set(host, holders);
    else this.hosts.delete(host);
  }

  private claim(cluster: ClusterRecord, route: WireRoute): void {
    const claim = this.claims.get(hostPath(route)) ?? { cluster, keys: new Set<string>() };
    claim.keys.add(route.key);
    this.claims.set(hostPath(route), claim);
  }

  private unclaim(cluster: ClusterRecord, route: WireRoute): void {
    const claim = this.claims.get(hostPath(route));
    if (claim?.cluster !== cluster) return;
    claim.keys.delete(route.key);
    if (claim.keys.size === 0) this.claims.delete(hostPath(route));
  }
}

/**
 * Whether `taker` may take a host + path claim from `holder`: a connected cluster takes it from a
 * disconnected one of the same credential, whose requests would fail anyway (a ghost left by a restart must
 * not hold a host). Never across credentials: a cluster of another credential waits out the holder's grace.
 */
export function mayTakeOver(taker: Pick<ClusterRecord, 'connected' | 'credential'>, holder: Pick<ClusterRecord, 'connected' | 'credential'>): boolean {
  return taker.connected && !holder.connected && taker.credential === holder.credential;
}

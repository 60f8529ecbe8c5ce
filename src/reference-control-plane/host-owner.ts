// Which cluster the gateway sends a Host's requests and WebSocket upgrades to. A connected cluster always
// wins over a disconnected one (a ghost left by an operator restart never takes its successor's host); a
// host only a disconnected cluster serves answers 503 naming it and how long it has been gone, so a user
// sees an outage of that cluster rather than a broken gateway. Pure.
import { hostRank, normalizeHost } from '../routing/match.js';
import type { ClusterRecord } from './store.js';

export type HostTarget =
  | { ok: true; cluster: ClusterRecord }
  | { ok: false; status: number; error: string; details?: Record<string, unknown> };

type Serving = Pick<ClusterRecord, 'connected' | 'routes'>;

function serves(cluster: Serving, requestHost: string): boolean {
  for (const route of cluster.routes.values()) if (hostRank(route.host, requestHost) > 0) return true;
  return false;
}

/** The cluster serving `requestHost` (normalised): a connected one if any does, else a disconnected one. */
export function servingCluster<C extends Serving>(clusters: Iterable<C>, requestHost: string): C | undefined {
  let disconnected: C | undefined;
  for (const cluster of clusters) {
    if (!serves(cluster, requestHost)) continue;
    if (cluster.connected) return cluster;
    disconnected ??= cluster;
  }
  return disconnected;
}

/** The 503 answer for a host only `cluster`, disconnected, serves: who it is and since when. */
export function disconnectedAnswer(cluster: Pick<ClusterRecord, 'name' | 'cluster_id' | 'disconnected_at'>, now: Date): Extract<HostTarget, { ok: false }> {
  const since = cluster.disconnected_at === null ? undefined : Date.parse(cluster.disconnected_at);
  const seconds = since === undefined ? undefined : Math.max(0, Math.round((now.getTime() - since) / 1000));
  const when = seconds === undefined ? 'is not connected' : `disconnected ${seconds} s ago (at ${cluster.disconnected_at})`;
  return {
    ok: false,
    status: 503,
    error: `cluster ${cluster.name} (${cluster.cluster_id}) serves this host but ${when}; it is served again once that cluster reconnects`,
    details: { cluster: cluster.name, cluster_id: cluster.cluster_id, disconnected_at: cluster.disconnected_at, disconnected_seconds: seconds ?? null },
  };
}

/** Where a request for `host` (as a client sent it: any case, maybe with a :port) goes, or what it is answered. */
export function hostTarget(clusters: Iterable<ClusterRecord>, host: string, now: Date): HostTarget {
  const cluster = servingCluster(clusters, normalizeHost(host));
  if (!cluster) return { ok: false, status: 404, error: `unknown host ${host}` };
  return cluster.connected ? { ok: true, cluster } : disconnectedAnswer(cluster, now);
}

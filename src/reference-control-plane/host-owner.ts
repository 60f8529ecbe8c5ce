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

/** How well the cluster's best route matches the host: 2 exact, 1 wildcard, 0 none (catch-alls are not routed by Host). */
function rank(cluster: Serving, requestHost: string): number {
  let best = 0;
  for (const route of cluster.routes.values()) best = Math.max(best, hostRank(route.host, requestHost));
  return best;
}

/**
 * The cluster serving `requestHost` (normalised): a connected one if any does, else a disconnected one;
 * among those, an exact host beats a wildcard, and the first listed wins a tie.
 */
export function servingCluster<C extends Serving>(clusters: Iterable<C>, requestHost: string): C | undefined {
  let best: { cluster: C; score: number } | undefined;
  for (const cluster of clusters) {
    const hostScore = rank(cluster, requestHost);
    if (hostScore === 0) continue;
    const score = (cluster.connected ? 10 : 0) + hostScore;
    if (!best || score > best.score) best = { cluster, score };
  }
  return best?.cluster;
}

/**
 * The 503 answer for a host only `cluster`, disconnected, serves: its name and since when. Its cluster_id is
 * left out: the answer goes to anonymous clients, and the id is what its agent presents to resume it.
 */
export function disconnectedAnswer(cluster: Pick<ClusterRecord, 'name' | 'disconnected_at'>, now: Date): Extract<HostTarget, { ok: false }> {
  const since = cluster.disconnected_at === null ? undefined : Date.parse(cluster.disconnected_at);
  const seconds = since === undefined ? undefined : Math.max(0, Math.round((now.getTime() - since) / 1000));
  const when = seconds === undefined ? 'is not connected' : `disconnected ${seconds} s ago (at ${cluster.disconnected_at})`;
  return {
    ok: false,
    status: 503,
    error: `cluster ${cluster.name} serves this host but ${when}; it is served again once that cluster reconnects`,
    details: { cluster: cluster.name, disconnected_at: cluster.disconnected_at, disconnected_seconds: seconds ?? null },
  };
}

/** Where a request for `host` (as a client sent it: any case, maybe with a :port) goes, or what it is answered. */
export function hostTarget(clusters: Iterable<ClusterRecord>, host: string, now: Date): HostTarget {
  const cluster = servingCluster(clusters, normalizeHost(host));
  if (!cluster) return { ok: false, status: 404, error: `unknown host ${host}` };
  return cluster.connected ? { ok: true, cluster } : disconnectedAnswer(cluster, now);
}

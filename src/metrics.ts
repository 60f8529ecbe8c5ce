// Prometheus metrics of the whole operator, in one registry served on /metrics.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();

/** When the oldest route message still waiting for the control plane's answer was sent (the sync controller's outbox). */
let oldestUnacknowledgedSince: () => number | undefined = () => undefined;

/** Where the unacknowledged-change age is read from at each scrape: an age grows by itself, so it is computed then. */
export function reportUnacknowledgedFrom(since: () => number | undefined): void {
  oldestUnacknowledgedSince = since;
}
collectDefaultMetrics({ register: registry, prefix: 'gateway_operator_' });

const prefix = 'gateway_operator_';

export const metrics = {
  reconciles: new Counter({
    name: `${prefix}reconcile_total`,
    help: 'Reconciles per controller and result (success, error).',
    labelNames: ['controller', 'result'] as const,
    registers: [registry],
  }),
  reconcileDuration: new Histogram({
    name: `${prefix}reconcile_duration_seconds`,
    help: 'Time one reconcile took.',
    labelNames: ['controller'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  }),
  queueDepth: new Gauge({
    name: `${prefix}workqueue_depth`,
    help: 'Keys waiting in the work queue.',
    labelNames: ['controller'] as const,
    registers: [registry],
  }),
  queueLatency: new Histogram({
    name: `${prefix}workqueue_latency_seconds`,
    help: 'Time a key waited in the queue before its reconcile started.',
    labelNames: ['controller'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60],
    registers: [registry],
  }),
  apiserverConnections: new Counter({
    name: `${prefix}apiserver_connections_total`,
    help: 'TLS connections opened to the apiserver (each one a handshake); kept alive and reused.',
    registers: [registry],
  }),
  informerRestarts: new Counter({
    name: `${prefix}informer_restarts_total`,
    help: 'Watches restarted after an error, per kind.',
    labelNames: ['kind'] as const,
    registers: [registry],
  }),
  socketConnected: new Gauge({
    name: `${prefix}controlplane_connected`,
    help: '1 while the control-plane WebSocket is open and registered.',
    registers: [registry],
  }),
  lastHeartbeat: new Gauge({
    name: `${prefix}controlplane_last_heartbeat_timestamp_seconds`,
    help: 'When the last heartbeat was sent to the control plane (Unix time).',
    registers: [registry],
  }),
  reconnects: new Counter({
    name: `${prefix}controlplane_reconnects_total`,
    help: 'Control-plane WebSocket reconnects.',
    registers: [registry],
  }),
  messages: new Counter({
    name: `${prefix}controlplane_messages_total`,
    help: 'Control-plane messages per direction and type.',
    labelNames: ['direction', 'type'] as const,
    registers: [registry],
  }),
  bytes: new Counter({
    name: `${prefix}controlplane_bytes_total`,
    help: 'Control-plane bytes per direction.',
    labelNames: ['direction'] as const,
    registers: [registry],
  }),
  oldestUnacknowledgedChangeAge: new Gauge({
    name: `${prefix}oldest_unacknowledged_change_age_seconds`,
    help: 'How long the oldest route message sent to the control plane has waited for its answer; 0 when none waits (and while disconnected: the snapshot after the reconnect supersedes them).',
    registers: [registry],
    collect() {
      const since = oldestUnacknowledgedSince();
      this.set(since === undefined ? 0 : Math.max(0, Date.now() - since) / 1000);
    },
  }),
  outboxSize: new Gauge({
    name: `${prefix}outbox_messages`,
    help: 'Route messages sent or waiting but not yet acknowledged.',
    registers: [registry],
  }),
  routesSynced: new Gauge({
    name: `${prefix}routes_synced`,
    help: 'Routes the control plane has acknowledged.',
    registers: [registry],
  }),
  tunnelRequests: new Counter({
    name: `${prefix}tunnel_requests_total`,
    help: 'Requests forwarded through the tunnel, per status class.',
    labelNames: ['status'] as const,
    registers: [registry],
  }),
  tunnelRequestDuration: new Histogram({
    name: `${prefix}tunnel_request_duration_seconds`,
    help: 'Time from a tunnelled HTTP request reaching this replica to its last answer byte sent or its failure, per status class; requests refused before a backend is tried are only in tunnel_requests_total.',
    labelNames: ['status'] as const,
    // Up to the default tunnel timeout (120 s); a longer stream (a download, server-sent events) lands in +Inf.
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  }),
  tunnelRefused: new Counter({
    name: `${prefix}tunnel_refused_total`,
    help: 'Tunnel requests refused at the boundary: an explicit target no route exposes (403), a malformed or refused request (400), a body sent past flow control, a new request while the control plane leaves answers unread (503).',
    registers: [registry],
  }),
  leader: new Gauge({
    name: `${prefix}leader`,
    help: '1 while this replica holds the leader Lease and runs the controllers (always 1 without leader election until it drains), else 0.',
    registers: [registry],
  }),
  gatewayRoutes: new Gauge({
    name: `${prefix}gatewayroutes`,
    help: "GatewayRoutes in this replica's cache per condition type and status (the operator's own types only; one without the condition is not counted).",
    labelNames: ['condition', 'status'] as const,
    registers: [registry],
  }),
  routeSyncConnection: new Gauge({
    name: `${prefix}controlplane_route_sync`,
    help: "1 while this replica's connection carries the cluster's route sync (the leader's), 0 for a tunnel-only connection.",
    registers: [registry],
  }),
  tunnelInFlight: new Gauge({
    name: `${prefix}tunnel_in_flight`,
    help: 'Tunnelled HTTP requests and WebSocket streams this replica carries now.',
    labelNames: ['kind'] as const,
    registers: [registry],
  }),
  draining: new Gauge({
    name: `${prefix}draining`,
    help: '1 from SIGTERM until exit: this replica takes no new requests and finishes those in flight.',
    registers: [registry],
  }),
  backlogCutoffs: new Counter({
    name: `${prefix}controlplane_backlog_cutoffs_total`,
    help: 'Control-plane sockets dropped because the control plane left more than the backlog limit unread.',
    registers: [registry],
  }),
};

/** The status classes of tunnelled requests that GatewayOperatorTunnelErrors and the dashboard read. */
export const TUNNEL_STATUS_CLASSES = ['2xx', '3xx', '4xx', '5xx'] as const;
// Their series exist at 0 from the start: one created by its first increment hides that increment from rate(),
// so a replica's first burst of 5xx would be lost (1xx and cancelled are rare and in no alert).
for (const status of TUNNEL_STATUS_CLASSES) {
  metrics.tunnelRequests.inc({ status }, 0);
  metrics.tunnelRequestDuration.zero({ status });
}

// GatewayRoutes → control plane. Every GatewayRoute (Ingress-made or hand-written) is translated to wire
// routes; changes go out as ingress_routes add/update/delete against what was last sent, a full
// routes_sync goes out after every (re)connect, and acknowledgements come back as the Synced condition.
// This controller owns Synced, Ready, routingMode and controlPlane in the status (its own field manager).
import type { CustomObjectsApi } from '@kubernetes/client-node';
import { conditionsChanged, findCondition, readySummary, rfc3339, setConditions, type ConditionInput } from '../api/v1alpha1/conditions.js';
import { ingressOwner } from '../api/v1alpha1/ownership.js';
import {
  API_VERSION,
  CLUSTER_CONNECTIVITY_NAME,
  GATEWAY_ROUTE,
  type ClusterConnectivity,
  type Condition,
  type GatewayRoute,
} from '../api/v1alpha1/types.js';
import type { ControlPlaneClient } from '../controlplane/client.js';
import type { InboundMessage, WireRoute } from '../controlplane/protocol.js';
import { connectivityOf, sameConnectivity, type Connectivity } from '../connectivity/state.js';
import { resolvedRefsCondition } from '../ingress/translate.js';
import { gatewayRouteRef } from '../ingress/controller.js';
import type { Logger } from '../log.js';
import { metrics } from '../metrics.js';
import { applyStatus } from '../operator/apply.js';
import { Controller } from '../operator/controller.js';
import type { ReconcileResult } from '../operator/queue.js';
import type { EventRecorder } from '../operator/events.js';
import type { Informer } from '../operator/informer.js';
import { objectKey, splitKey } from '../operator/kinds.js';
import type { ServiceLike } from '../routing/backends.js';
import { Outbox } from './outbox.js';
import { toWireRoutes } from './wire.js';

export const SYNC_FIELD_MANAGER = 'gateway-operator-sync';
const READY_ORDER = ['Accepted', 'ResolvedRefs', 'Synced'];
const BACKEND_SERVICE_INDEX = 'backend-service';
/** How long a just-sent change may wait for its acknowledgement before Synced=Pending is written. */
const PENDING_GRACE_MS = 2_000;

/** The control plane's answer (acknowledged or rejected) for this generation is already in the status. */
function answeredFor(synced: Condition | undefined, generation: number | undefined): boolean {
  return (synced?.status === 'True' || synced?.reason === 'Rejected') && synced.observedGeneration === generation;
}

export interface SyncControllerOptions {
  custom: CustomObjectsApi;
  gatewayRoutes: Informer<GatewayRoute>;
  services: Informer<ServiceLike>;
  connectivity?: Informer<ClusterConnectivity>;
  client?: ControlPlaneClient;
  events: EventRecorder;
  logger: Logger;
  concurrency: number;
  /** An unacknowledged route message older than this triggers a fresh snapshot (default 30 s). */
  ackTimeoutMs?: number;
}

export class SyncController {
  readonly controller: Controller;
  readonly outbox = new Outbox();
  private connectivity: Connectivity;
  /** The current socket has had its snapshot: changes may go out one by one. */
  private snapshotSent = false;
  private ackWatch?: NodeJS.Timeout;
  /** When each unacknowledged revision was sent, in send order. */
  private readonly sentAt = new Map<number, number>();
  /** GatewayRoute key → its routes left out because their backend port cannot be resolved (see desiredRoutes). */
  private readonly unresolved = new Map<string, string[]>();
  private desiredRouteCount = 0;

  private readonly custom: CustomObjectsApi;
  private readonly gatewayRoutes: Informer<GatewayRoute>;
  private readonly services: Informer<ServiceLike>;
  private readonly connectivityInformer?: Informer<ClusterConnectivity>;
  private readonly client?: ControlPlaneClient;
  private readonly events: EventRecorder;
  private readonly logger: Logger;
  private readonly ackTimeoutMs: number;

  constructor(options: SyncControllerOptions) {
    const { gatewayRoutes, services, client, logger } = options;
    this.custom = options.custom;
    this.gatewayRoutes = gatewayRoutes;
    this.services = services;
    this.connectivityInformer = options.connectivity;
    this.client = client;
    this.events = options.events;
    this.logger = logger;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 30_000;
    const concurrency = options.concurrency;
    this.controller = new Controller({ name: 'sync', reconcile: (key) => this.reconcile(key), logger, concurrency });
    this.connectivity = connectivityOf(undefined);
    gatewayRoutes.addIndex(BACKEND_SERVICE_INDEX, (route) => [...new Set((route.spec.routes ?? []).map((r) => `${route.metadata.namespace}/${r.backend.service}`))]);
    gatewayRoutes.onChange((route, previous, deleted) => {
      this.desiredRouteCount += (deleted ? 0 : (route.spec.routes?.length ?? 0)) - (previous?.spec.routes?.length ?? 0);
      this.controller.enqueue(objectKey(route.metadata));
    });
    services.onChange((service) => {
      for (const route of this.gatewayRoutes.byIndex(BACKEND_SERVICE_INDEX, objectKey(service.metadata ?? {}))) this.controller.enqueue(objectKey(route.metadata));
    });
    this.connectivityInformer?.onChange(() => this.onConnectivityChange());
    client?.setHandlers({
      onReady: () => this.sendSnapshot(),
      onDisconnected: () => {
        this.snapshotSent = false;
        for (const key of this.outbox.pendingKeys()) this.controller.enqueue(key);
      },
      onMessage: (message) => this.onMessage(message),
    });
  }

  get currentConnectivity(): Connectivity {
    return this.connectivity;
  }

  start(): void {
    this.controller.start();
    this.ackWatch = setInterval(() => this.checkAckTimeout(), Math.min(5_000, this.ackTimeoutMs / 2));
    this.ackWatch.unref();
  }

  async stop(timeoutMs?: number): Promise<void> {
    clearInterval(this.ackWatch);
    await this.controller.stop(timeoutMs);
  }

  /** Total routes the control plane should hold, for heartbeats (kept as GatewayRoutes change). */
  routeCount(): number {
    return this.desiredRouteCount;
  }

  private onConnectivityChange(): void {
    const next = connectivityOf(this.connectivityInformer?.get(CLUSTER_CONNECTIVITY_NAME));
    if (sameConnectivity(next, this.connectivity)) return;
    this.connectivity = next;
    this.logger.info('routing mode changed', { controller: 'sync', routingMode: next.routingMode, publicEndpoint: next.publicEndpoint });
    for (const route of this.gatewayRoutes.list()) this.controller.enqueue(objectKey(route.metadata));
    if (this.client?.ready) this.sendSnapshot();
  }

  /** The routes to send for `route`; those whose backend port cannot be resolved are remembered for Synced. */
  private desiredRoutes(route: GatewayRoute): WireRoute[] {
    const key = objectKey(route.metadata);
    const namespace = route.metadata.namespace ?? '';
    const { routes, unresolved } = toWireRoutes(route, (name) => this.services.get(`${namespace}/${name}`), this.outbox.lastSent(key));
    if (unresolved.length) this.unresolved.set(key, unresolved);
    else this.unresolved.delete(key);
    return routes;
  }

  /** After every (re)connect: the complete route set, computed from the caches at this moment. */
  private sendSnapshot(): void {
    const session = this.client?.session;
    if (!this.client || !session) return;
    const present = new Set<string>();
    for (const route of this.gatewayRoutes.list()) {
      const key = objectKey(route.metadata);
      present.add(key);
      this.outbox.setDesired(key, this.desiredRoutes(route), route.metadata.generation);
    }
    for (const key of this.outbox.keys()) if (!present.has(key)) this.outbox.setDesired(key, undefined);
    const snapshot = this.outbox.takeSnapshot();
    const payload: Record<string, unknown> = {
      cluster_uuid: session.clusterUuid,
      revision: snapshot.revision,
      routing_mode: this.connectivity.routingMode,
      routes: snapshot.routes,
    };
    if (this.connectivity.publicEndpoint) payload.public_endpoint = this.connectivity.publicEndpoint;
    if (this.client.send('routes_sync', payload)) {
      this.sentAt.set(snapshot.revision, Date.now());
      this.snapshotSent = true;
      this.logger.info('sent route snapshot', { controller: 'sync', revision: snapshot.revision, routes: snapshot.routes.length });
    }
    metrics.outboxSize.set(this.outbox.size);
    for (const key of present) this.controller.enqueue(key);
  }

  private onMessage(message: InboundMessage): void {
    if (message.type !== 'routes_ack') return;
    const { revision, rejected } = message.payload;
    // Revisions only grow, so the map is in send order: drop from the front up to the acknowledged one.
    for (const sent of this.sentAt.keys()) {
      if (sent > revision) break;
      this.sentAt.delete(sent);
    }
    const changed = this.outbox.ack(revision, rejected);
    for (const item of rejected) this.logger.warn('the control plane rejected a route', { controller: 'sync', key: item.key, reason: item.reason });
    for (const key of changed) this.controller.enqueue(key);
    metrics.outboxSize.set(this.outbox.size);
    metrics.routesSynced.set(this.outbox.ackedRouteCount());
  }

  private checkAckTimeout(): void {
    if (!this.client?.ready) return;
    const oldest = this.sentAt.values().next().value ?? Infinity; // the first is the oldest
    if (Number.isFinite(oldest) && Date.now() - oldest > this.ackTimeoutMs) {
      this.logger.warn('route messages unacknowledged for too long, sending a fresh snapshot', { controller: 'sync' });
      this.sentAt.clear();
      this.sendSnapshot();
    }
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const route = this.gatewayRoutes.get(key);
    if (!route || route.metadata.deletionTimestamp) {
      this.unresolved.delete(key);
      this.outbox.setDesired(key, undefined);
      this.sendChange(key);
      return undefined;
    }
    this.outbox.setDesired(key, this.desiredRoutes(route), route.metadata.generation);
    this.sendChange(key);
    // Just sent: the acknowledgement usually follows within milliseconds and enqueues the key again, so
    // write Synced once then instead of Pending now and Synced a moment later (one status write, not two).
    const waitingSince = this.sentAt.get(this.outbox.pendingRevision(key) ?? -1);
    const waited = waitingSince === undefined ? Infinity : Date.now() - waitingSince;
    if (waited < PENDING_GRACE_MS && findCondition(route.status?.conditions, 'Synced')?.observedGeneration !== route.metadata.generation) {
      return { requeueAfterMs: PENDING_GRACE_MS - waited + 1 };
    }
    await this.writeStatus(key, route);
    return undefined;
  }

  private sendChange(key: string): void {
    const session = this.client?.session;
    // Before this socket's snapshot went out the change is in the snapshot; while down, in the next one.
    if (!this.client?.ready || !session || !this.snapshotSent) return;
    const change = this.outbox.takeChange(key);
    if (!change) return;
    const { namespace, name } = splitKey(key);
    const payload = {
      cluster_uuid: session.clusterUuid,
      revision: change.revision,
      action: change.action,
      routes: change.routes,
      gateway_route: key,
    };
    if (this.client.send('ingress_routes', payload)) {
      this.sentAt.set(change.revision, Date.now());
      this.logger.debug('sent route change', { controller: 'sync', namespace, name, action: change.action, revision: change.revision });
    }
    metrics.outboxSize.set(this.outbox.size);
  }

  private syncedCondition(route: GatewayRoute): ConditionInput {
    if (!this.client) {
      return { type: 'Synced', status: 'Unknown', reason: 'NoControlPlane', message: 'no control plane is configured (--control-plane-url)' };
    }
    const key = objectKey(route.metadata);
    // Routes that were never sent are not at the control plane, whatever it acknowledged of the others.
    const unresolved = this.unresolved.get(key);
    if (unresolved) {
      const listed = unresolved.slice(0, 5).join('; ') + (unresolved.length > 5 ? `; and ${unresolved.length - 5} more` : '');
      return { type: 'Synced', status: 'False', reason: 'BackendUnresolved', message: `${unresolved.length} route(s) not sent, their backend port cannot be resolved: ${listed}` };
    }
    const acked = this.outbox.acked(key);
    const generation = route.metadata.generation;
    const previous = findCondition(route.status?.conditions, 'Synced');
    // Acknowledged (or rejected) before this process started, and nothing said otherwise since: the control
    // plane's last word stands until the snapshot in flight is answered. Keeping the condition keeps a
    // restart from rewriting every GatewayRoute twice (Pending, then the same answer again).
    if (!acked && previous && answeredFor(previous, generation)) {
      return { type: 'Synced', status: previous.status, reason: previous.reason, message: previous.message };
    }
    if (acked && acked.generation === generation) {
      if (acked.rejected.length) {
        const reasons = acked.rejected.map((r) => `${r.key}: ${r.reason}`).join('; ');
        return { type: 'Synced', status: 'False', reason: 'Rejected', message: `the control plane rejected ${acked.rejected.length} route(s): ${reasons}` };
      }
      return { type: 'Synced', status: 'True', reason: 'Synced', message: 'the control plane acknowledged these routes' };
    }
    if (!this.client.ready) {
      const why = this.client.state === 'unauthorized' ? 'the control plane refused the token' : (this.client.lastError ?? 'not connected');
      return { type: 'Synced', status: 'False', reason: 'Disconnected', message: `waiting for the control plane: ${why}` };
    }
    return { type: 'Synced', status: 'False', reason: 'Pending', message: 'sent to the control plane, waiting for its acknowledgement' };
  }

  private async writeStatus(key: string, route: GatewayRoute): Promise<void> {
    const { namespace, name } = splitKey(key);
    const generation = route.metadata.generation;
    const now = new Date();
    const own: ConditionInput[] = [this.syncedCondition(route)];
    if (!ingressOwner(route)) {
      // Nobody else reports on a hand-written GatewayRoute: the schema accepted it; check its backends.
      own.push({ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'written by hand; validated by the CRD schema' });
      own.push(resolvedRefsCondition(route.spec.routes ?? [], (service) => this.services.get(`${namespace}/${service}`)));
    }
    const withOwn = setConditions(route.status?.conditions, own, generation, now);
    const ready = readySummary(withOwn, READY_ORDER);
    const all = setConditions(withOwn, [ready], generation, now);
    const ownTypes = new Set([...own.map((c) => c.type), 'Ready']);
    const conditions = all.filter((c) => ownTypes.has(c.type));
    const previous = (route.status?.conditions ?? []).filter((c) => ownTypes.has(c.type));

    // The first acknowledgement of a generation is recorded; later ones (snapshots after a reconnect or a
    // restart) re-confirm the same routes and change nothing worth a write.
    const acked = this.outbox.acked(key);
    const confirmedBefore = answeredFor(findCondition(previous, 'Synced'), generation) && route.status?.controlPlane;
    const controlPlane =
      acked && acked.generation === generation && !confirmedBefore ? { revision: acked.revision, syncedAt: rfc3339(acked.at) } : route.status?.controlPlane;
    const routingMode = this.connectivity.routingMode;
    const unchanged =
      !conditionsChanged(previous, conditions) &&
      route.status?.routingMode === routingMode &&
      route.status?.controlPlane?.revision === controlPlane?.revision;
    if (unchanged) return;

    const status: Record<string, unknown> = { routingMode, conditions };
    if (controlPlane) status.controlPlane = controlPlane;
    await applyStatus(
      this.custom,
      gatewayRouteRef(namespace, name),
      { apiVersion: API_VERSION, kind: GATEWAY_ROUTE.kind, metadata: { name, namespace }, status },
      SYNC_FIELD_MANAGER,
    );
    const before = findCondition(previous, 'Synced');
    const synced = conditions.find((c) => c.type === 'Synced');
    if (synced && before?.status !== synced.status && synced.reason === 'Rejected') {
      this.events.record(
        { apiVersion: API_VERSION, kind: GATEWAY_ROUTE.kind, namespace, name, uid: (route.metadata as { uid?: string }).uid },
        'Warning',
        'Rejected',
        synced.message,
      );
    }
  }
}

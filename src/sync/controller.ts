// GatewayRoutes → control plane (protocol v2, docs/protocol.md). Every GatewayRoute (Ingress-made or
// hand-written) is translated to its wire form; after every (re)connect a snapshot goes out in frames under
// the frame budget, then each GatewayRoute's changes go out as routes_change against what the control plane
// acknowledged, one message in flight per GatewayRoute. Every answer (routes_ack / routes_nack) is matched
// to its message by request_id and comes back as the Synced condition. This controller owns Synced, Ready,
// routingMode and controlPlane in the status (its own field manager), and for a hand-written GatewayRoute
// what a source controller would write (Accepted, ResolvedRefs, and source Manual, hosts, routeCount).
import { conditionsChanged, findCondition, listWithin, progressSummary, rfc3339, setConditions, type ConditionInput } from '../api/v1alpha1/conditions.js';
import { sourceOwner, sourceStatus, sourceStatusChanged } from '../api/v1alpha1/gatewayroute.js';
import { GATEWAY_ROUTE_REASONS, listedCondition, type GatewayRouteCondition } from '../api/v1alpha1/reasons.js';
import {
  API_VERSION,
  CLUSTER_CONNECTIVITY_NAME,
  GATEWAY_ROUTE,
  MAX_CONDITION_MESSAGE,
  type ClusterConnectivity,
  type Condition,
  type GatewayRoute,
} from '../api/v1alpha1/types.js';
import { connectivityOf, sameConnectivity, type Connectivity } from '../connectivity/state.js';
import type { ControlPlaneClient } from '../controlplane/client.js';
import {
  DEFAULT_FRAME_BUDGET_BYTES,
  wireRouteBody,
  type ExposedRoute,
  type InboundMessage,
  type RoutesChangePayload,
  type RoutesNackPayload,
  type RoutesSyncBeginPayload,
  type WireGatewayRoute,
} from '../controlplane/protocol.js';
import { RevisionClock } from '../controlplane/revision.js';
import { resolvedRefsCondition, type BackendContext } from '../gatewayroute/backends.js';
import type { PendingWrites } from '../gatewayroute/pending.js';
import { GATEWAY_ROUTE_BACKEND_INDEX, type GatewayRoutes } from '../gatewayroute/setup.js';
import { gatewayRouteRef } from '../gatewayroute/writer.js';
import type { Logger } from '../log.js';
import { metrics, reportUnacknowledgedFrom } from '../metrics.js';
import { applyStatus } from '../operator/apply.js';
import type { Controller } from '../operator/controller.js';
import type { EventRecorder } from '../operator/events.js';
import type { Informer, KubeObject } from '../operator/informer.js';
import { keysOf, objectKey, splitKey } from '../operator/kinds.js';
import { watch, type Manager } from '../operator/manager.js';
import type { ReconcileResult } from '../operator/queue.js';
import { CachedBoundary } from './boundary.js';
import { Outbox, retryDelayMs } from './outbox.js';
import { backendUnresolvedCondition, encodeSnapshot, SYNCED_MESSAGE_BUDGET, toWireGatewayRoute } from './wire.js';

export const SYNC_FIELD_MANAGER = 'gateway-operator-sync';
const READY_ORDER = ['Accepted', 'ResolvedRefs', 'Synced'];
/** How long a just-sent change may wait for its acknowledgement before Synced=Pending is written. */
const PENDING_GRACE_MS = 2_000;
/** How long Synced waits for the source controller's report on a new generation before it is written anyway. */
const SOURCE_GRACE_MS = 2_000;

/** The control plane's answer (acknowledged or rejected) for this generation is already in the status. */
function answeredFor(synced: Condition | undefined, generation: number | undefined): boolean {
  return (synced?.status === 'True' || synced?.reason === 'Rejected') && synced.observedGeneration === generation;
}

/** The snapshot of the current socket: changes go out one by one only once it is acknowledged. */
type SnapshotState = { phase: 'none' } | { phase: 'sending' | 'awaiting'; requestId: string } | { phase: 'acked' };

export interface SyncOptions {
  /** The shared GatewayRoute and Service caches and the one backend resolver. */
  routes: GatewayRoutes;
  /** ReferenceGrants, where served: a change re-checks every GatewayRoute with a backend in another namespace. */
  referenceGrants?: Informer<KubeObject>;
  connectivity: Informer<ClusterConnectivity>;
  client?: ControlPlaneClient;
  concurrency: number;
  /** An unanswered route message older than this is reported (default 30 s); it is never resent. */
  ackTimeoutMs?: number;
  /** Snapshot frames are cut below this many bytes (default 1 MiB). */
  frameBudgetBytes?: number;
  /** Where the revision counter starts (the control plane's resume point raises it). */
  revisionStart?: number;
}

/** Registers the sync controller (GatewayRoutes → control plane) and its ack watch with the manager. */
export function setup(manager: Manager, options: SyncOptions): SyncController {
  // A standby's tunnel boundary comes from these caches, so every replica runs them (see CachedBoundary).
  manager.runOnEveryReplica(options.routes.gatewayRoutes);
  manager.runOnEveryReplica(options.routes.services);
  if (options.referenceGrants) manager.runOnEveryReplica(options.referenceGrants);
  const sync = new SyncController(manager, options);
  manager.add({ name: 'sync-ack-watch', start: () => sync.watchAcks(), stop: () => sync.stopTimers() });
  return sync;
}

export class SyncController {
  readonly controller: Controller;
  readonly outbox: Outbox;
  private readonly standbyBoundary: CachedBoundary;
  /** A snapshot was written from this process: from then on the outbox is the boundary (see exposedRoutes). */
  private snapshotWritten = false;
  private connectivity: Connectivity;
  private snapshot: SnapshotState = { phase: 'none' };
  /** The routing mode changed while a snapshot was outstanding: send another once it is answered. */
  private snapshotWanted = false;
  private snapshotAttempts = 0;
  private snapshotRetry?: NodeJS.Timeout;
  private ackWatch?: NodeJS.Timeout;
  private lastAckWarning = 0;
  /** GatewayRoute key → its routes left out because their backend port cannot be resolved (see desiredRoutes). */
  private readonly unresolved = new Map<string, string[]>();
  /** Translated GatewayRoutes whose status waits for their source controller's report: since when (see sourceReportWait). */
  private readonly awaitingSource = new Map<string, number>();

  private readonly custom: Manager['custom'];
  private readonly gatewayRoutes: Informer<GatewayRoute>;
  private readonly pendingWrites: PendingWrites;
  private readonly backends: BackendContext;
  private readonly connectivityInformer: Informer<ClusterConnectivity>;
  private readonly client?: ControlPlaneClient;
  private readonly events: EventRecorder;
  private readonly logger: Logger;
  private readonly ackTimeoutMs: number;
  private readonly frameBudgetBytes: number;

  constructor(manager: Manager, options: SyncOptions) {
    const { routes, client } = options;
    const gatewayRoutes = routes.gatewayRoutes;
    this.custom = manager.custom;
    this.gatewayRoutes = gatewayRoutes;
    this.pendingWrites = routes.pendingWrites;
    this.backends = routes.backends;
    this.connectivityInformer = options.connectivity;
    this.client = client;
    this.events = manager.events;
    this.logger = manager.logger.child({ controller: 'sync' });
    this.ackTimeoutMs = options.ackTimeoutMs ?? 30_000;
    this.frameBudgetBytes = options.frameBudgetBytes ?? DEFAULT_FRAME_BUDGET_BYTES;
    this.outbox = new Outbox(new RevisionClock(options.revisionStart ?? 0));
    reportUnacknowledgedFrom(() => this.outbox.oldestAwaitingSince());
    this.connectivity = connectivityOf(undefined);
    this.standbyBoundary = new CachedBoundary(gatewayRoutes, routes.backends, [routes.services, ...(options.referenceGrants ? [options.referenceGrants] : [])]);
    const crossNamespace = (): string[] =>
      keysOf(gatewayRoutes.list().filter((route) => (route.spec.routes ?? []).some((r) => r.backend.namespace !== undefined && r.backend.namespace !== route.metadata.namespace)));
    this.controller = manager.controller({
      name: 'sync',
      // Every change, status included: Synced is written from what the cache holds (see writeStatus).
      for: { informer: gatewayRoutes },
      watches: [
        ...(options.referenceGrants ? [watch({ informer: options.referenceGrants, map: crossNamespace })] : []),
      ],
      sources: [
        () => this.connectivityInformer.onChange(() => this.onConnectivityChange()),
        // A backend Service (in the GatewayRoute's namespace or the one backend.namespace names), or a
        // BackendTLSPolicy or CA ConfigMap for it.
        routes.backendChanges((service) => keysOf(gatewayRoutes.byIndex(GATEWAY_ROUTE_BACKEND_INDEX, service))),
      ],
      reconcile: (key) => this.reconcile(key),
      concurrency: options.concurrency,
    });
    // A source controller's write goes out as it starts; once answered, the stored object is compared again.
    this.pendingWrites.onStarted((key) => this.sendWhileWriting(key));
    this.pendingWrites.onSettled((key) => this.controller.enqueue(key));
    client?.setHandlers({
      onReady: (session) => {
        this.outbox.clock.resume(session.resumeRevision);
        this.snapshotAttempts = 0;
        void this.sendSnapshot();
      },
      onDisconnected: () => {
        this.snapshot = { phase: 'none' };
        clearTimeout(this.snapshotRetry);
        for (const key of this.outbox.disconnected()) this.controller.enqueue(key);
      },
      onMessage: (message) => this.onMessage(message),
    });
  }

  get currentConnectivity(): Connectivity {
    return this.connectivity;
  }

  /** Reports route messages the control plane has not answered for long (see checkAckTimeout). */
  watchAcks(): void {
    this.ackWatch = setInterval(() => this.checkAckTimeout(), Math.min(5_000, this.ackTimeoutMs / 4));
    this.ackWatch.unref();
  }

  stopTimers(): void {
    clearInterval(this.ackWatch);
    clearTimeout(this.snapshotRetry);
  }

  /**
   * The tunnel's boundary: what this replica sent once it has sent a snapshot (it leads), else what its caches
   * say the cluster exposes (a standby, or a new leader before its first snapshot).
   */
  exposedRoutes(): ExposedRoute[] {
    return this.snapshotWritten ? this.outbox.exposedRoutes() : this.standbyBoundary.exposedRoutes();
  }

  /** Total routes the control plane should hold, for heartbeats. */
  routeCount(): number {
    let count = 0;
    for (const route of this.gatewayRoutes.list()) count += route.spec.routes?.length ?? 0;
    return count;
  }

  private onConnectivityChange(): void {
    const next = connectivityOf(this.connectivityInformer.get(CLUSTER_CONNECTIVITY_NAME));
    if (sameConnectivity(next, this.connectivity)) return;
    this.connectivity = next;
    this.logger.info('routing mode changed', { routingMode: next.routingMode, publicEndpoint: next.publicEndpoint });
    for (const route of this.gatewayRoutes.list()) this.controller.enqueue(objectKey(route.metadata));
    if (!this.client?.ready) return;
    // The routing mode travels with snapshots; one outstanding at a time.
    if (this.snapshot.phase === 'acked') void this.sendSnapshot();
    else this.snapshotWanted = true;
  }

  /** The wire form of `route`; routes whose backend port cannot be resolved are remembered for Synced. */
  private desiredState(route: GatewayRoute): WireGatewayRoute {
    const key = objectKey(route.metadata);
    const namespace = route.metadata.namespace ?? '';
    const { gatewayRoute, unresolved } = toWireGatewayRoute(route, this.backends, this.outbox.lastSent(key));
    if (unresolved.length) this.unresolved.set(key, unresolved);
    else this.unresolved.delete(key);
    return gatewayRoute;
  }

  /**
   * After every (re)connect: the complete route set, computed from the caches at this moment, as
   * routes_sync_begin, chunks under the frame budget (each waiting for the socket's buffer to drain), and
   * routes_sync_end; the control plane applies it at the end, atomically.
   */
  private async sendSnapshot(): Promise<void> {
    const client = this.client;
    const session = client?.session;
    if (!client || !session || this.snapshot.phase === 'sending' || this.snapshot.phase === 'awaiting') return;
    clearTimeout(this.snapshotRetry);
    this.snapshotWanted = false;
    const present = new Set<string>();
    for (const route of this.gatewayRoutes.list()) {
      const key = objectKey(route.metadata);
      present.add(key);
      this.outbox.setDesired(key, this.desiredState(route), route.metadata.generation);
    }
    for (const key of this.outbox.keys()) if (!present.has(key)) this.outbox.setDesired(key, undefined);
    const { requestId, revision, gatewayRoutes } = this.outbox.takeSnapshot();
    const budget = Math.min(this.frameBudgetBytes, client.maxOutgoingFrameBytes);
    const { chunks, routes } = encodeSnapshot(gatewayRoutes, revision, budget);
    this.snapshot = { phase: 'sending', requestId };
    const begin: RoutesSyncBeginPayload = { cluster_uuid: session.clusterUuid, revision, routing_mode: this.connectivity.routingMode };
    if (this.connectivity.publicEndpoint) begin.public_endpoint = this.connectivity.publicEndpoint;
    const stillCurrent = (): boolean => client.session === session && client.ready && this.snapshot.phase === 'sending' && this.snapshot.requestId === requestId;
    let sent = client.send('routes_sync_begin', begin, requestId);
    if (sent) this.snapshotWritten = true;
    for (const chunk of chunks) {
      if (!sent) break;
      await client.whenWritable();
      if (!stillCurrent()) return; // the socket went away; the next one sends its own snapshot
      sent = client.sendEncoded('routes_sync_chunk', chunk, requestId);
    }
    if (sent) sent = client.send('routes_sync_end', { revision, chunks: chunks.length, routes }, requestId);
    if (!stillCurrent()) return;
    if (!sent) {
      // Not written (socket gone or a frame over the peer's limit): the socket is dropped and a fresh snapshot follows.
      this.logger.error('could not send the route snapshot', { revision, chunks: chunks.length, err: client.lastError });
      this.snapshot = { phase: 'none' };
      return;
    }
    this.snapshot = { phase: 'awaiting', requestId };
    this.logger.info('sent route snapshot', { revision, routes, chunks: chunks.length });
    metrics.outboxSize.set(this.outbox.size);
    for (const key of present) this.controller.enqueue(key);
  }

  private onMessage(message: InboundMessage): void {
    const requestId = message.request_id;
    if (requestId === undefined) return;
    if (message.type === 'routes_ack') {
      const changed = this.outbox.ack(requestId, message.payload);
      for (const item of message.payload.rejected) this.logger.warn('the control plane rejected a route', { key: item.key, err: item.reason });
      if (this.isSnapshot(requestId)) this.onSnapshotAnswered(true);
      this.afterAnswer(changed);
    } else if (message.type === 'routes_nack' || (message.type === 'error' && this.outbox.isAwaiting(requestId))) {
      // An `error` naming a route message's request_id refuses it as a NACK would (not retried).
      const nack: RoutesNackPayload =
        message.type === 'routes_nack' ? message.payload : { revision: 0, code: message.payload.code, message: message.payload.message ?? '', retryable: false };
      const changed = this.outbox.nack(requestId, nack);
      this.logger.warn('the control plane refused a route message', { code: nack.code, err: nack.message, retryable: nack.retryable, gatewayRoutes: changed.length });
      if (this.isSnapshot(requestId)) {
        this.onSnapshotAnswered(false);
        // A snapshot is the base of every later change: it is retried whatever the code (stale revisions at once).
        const delay = nack.code === 'stale_revision' ? 0 : retryDelayMs(++this.snapshotAttempts);
        this.snapshotRetry = setTimeout(() => void this.sendSnapshot(), delay);
      }
      this.afterAnswer(changed);
    }
  }

  private isSnapshot(requestId: string): boolean {
    return (this.snapshot.phase === 'sending' || this.snapshot.phase === 'awaiting') && this.snapshot.requestId === requestId;
  }

  private onSnapshotAnswered(acked: boolean): void {
    this.snapshot = acked ? { phase: 'acked' } : { phase: 'none' };
    if (!acked) return;
    this.snapshotAttempts = 0;
    if (this.snapshotWanted) return void this.sendSnapshot();
    // Changes held back while the snapshot was outstanding go out now: every GatewayRoute that exists or
    // is still known (a delete), not only those the snapshot carried.
    for (const route of this.gatewayRoutes.list()) this.controller.enqueue(objectKey(route.metadata));
    for (const key of this.outbox.keys()) this.controller.enqueue(key);
  }

  private afterAnswer(changed: string[]): void {
    for (const key of changed) this.controller.enqueue(key);
    metrics.outboxSize.set(this.outbox.size);
    metrics.routesSynced.set(this.outbox.ackedRouteCount());
  }

  /**
   * A control plane that takes long to answer is reported, not flooded: the socket keeps order and the
   * answer is matched whenever it comes (resending would re-stamp every entry and a slow peer would never
   * catch up). A dead socket is found by the keep-alive, which reconnects and sends a fresh snapshot.
   */
  private checkAckTimeout(): void {
    const oldest = this.outbox.oldestAwaitingSince();
    if (!this.client?.ready || oldest === undefined) return;
    const waited = Date.now() - oldest;
    if (waited > this.ackTimeoutMs && Date.now() - this.lastAckWarning > this.ackTimeoutMs) {
      this.lastAckWarning = Date.now();
      this.logger.warn('the control plane has not answered route messages for a while; still waiting', { waitedMs: waited, unanswered: this.outbox.size });
    }
  }

  /**
   * A source controller started writing `key`: its routes go to the control plane now, not one apiserver
   * round trip later. The GatewayRoute stays the record: Synced is only ever computed against the stored
   * object, and once the write is answered (settled) the key is reconciled from the cache, which sends a
   * correction if the write failed or stored something else.
   */
  private sendWhileWriting(key: string): void {
    const route = this.pendingWrites.get(key);
    if (!route) return;
    try {
      this.outbox.setDesired(key, this.desiredState(route));
      this.sendChange(key);
    } catch (err) {
      // Never the writer's failure: the reconcile after the write sends what the stored object says.
      this.logger.error('could not send a GatewayRoute being written', { namespace: route.metadata.namespace, name: route.metadata.name, err });
    }
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    // Written right now: sent as it started (sendWhileWriting); its settle reconciles the stored object.
    if (this.pendingWrites.get(key)) return this.sendWhileWriting(key);
    const route = this.gatewayRoutes.get(key);
    if (!route || route.metadata.deletionTimestamp) {
      this.unresolved.delete(key);
      this.awaitingSource.delete(key);
      this.outbox.setDesired(key, undefined);
      return this.sendChange(key);
    }
    this.outbox.setDesired(key, this.desiredState(route), route.metadata.generation);
    const retry = this.sendChange(key);
    // Just sent: the answer usually follows within milliseconds and enqueues the key again, so write Synced
    // once then instead of Pending now and Synced a moment later (one status write, not two).
    const since = this.outbox.inFlightSince(key);
    const waited = since === undefined ? Infinity : Date.now() - since;
    if (waited < PENDING_GRACE_MS) return { requeueAfterMs: PENDING_GRACE_MS - waited + 1 };
    const sourceWait = this.sourceReportWait(key, route);
    if (sourceWait > 0) return { requeueAfterMs: sourceWait };
    await this.writeStatus(key, route);
    return retry;
  }

  /**
   * A translated GatewayRoute whose source controller has not reported on this generation yet (Accepted): that
   * report is on its way and wakes this controller again (every status change does), so Synced and Ready are
   * written once then, complete, instead of now and again then: one apiserver write per change, not two.
   * Written anyway once SOURCE_GRACE_MS have passed. Returns how long to wait (0: write now).
   */
  private sourceReportWait(key: string, route: GatewayRoute): number {
    const generation = route.metadata.generation;
    if (!sourceOwner(route) || findCondition(route.status?.conditions, 'Accepted')?.observedGeneration === generation) {
      this.awaitingSource.delete(key);
      return 0;
    }
    // Counted from the first generation without its report, and kept after the grace: a spec that keeps
    // changing, or a source controller that cannot report, holds Synced off once, for SOURCE_GRACE_MS.
    const now = Date.now();
    const since = this.awaitingSource.get(key) ?? now;
    this.awaitingSource.set(key, since);
    return Math.max(0, since + SOURCE_GRACE_MS - now);
  }

  /** Sends `key`'s change if one is due; returns when to look again for a refusal waiting to be retried. */
  private sendChange(key: string): ReconcileResult {
    const client = this.client;
    const session = client?.session;
    // Until this socket's snapshot is acknowledged, the change is in the snapshot or follows it.
    if (!client?.ready || !session || this.snapshot.phase !== 'acked') return undefined;
    const change = this.outbox.takeChange(key);
    if (!change) {
      const refusal = this.outbox.refusal(key);
      return refusal?.retryable ? { requeueAfterMs: Math.max(1, refusal.retryAt - Date.now()) } : undefined;
    }
    const payload: RoutesChangePayload = { cluster_uuid: session.clusterUuid, revision: change.revision, ...change.body, upsert: change.body.upsert.map(wireRouteBody) };
    if (client.send('routes_change', payload, change.requestId)) {
      this.logger.debug('sent route change', {
        namespace: change.body.namespace,
        name: change.body.name,
        revision: change.revision,
        upsert: change.body.upsert.length,
        remove: change.body.remove.length,
        deleted: change.body.deleted ?? false,
      });
    } else {
      // Not written: over the control plane's frame limit (the socket is up), or the socket just went away.
      this.outbox.nack(change.requestId, {
        revision: change.revision,
        code: 'too_large',
        message: `the change is larger than the control plane accepts (${client.maxOutgoingFrameBytes} bytes per frame)`,
        retryable: false,
      });
      this.controller.enqueue(key);
    }
    metrics.outboxSize.set(this.outbox.size);
    return undefined;
  }

  private syncedCondition(route: GatewayRoute): GatewayRouteCondition<'Synced'> {
    if (!this.client) {
      return { type: 'Synced', status: 'Unknown', reason: 'NoControlPlane', message: 'no control plane is configured (--control-plane-url)' };
    }
    const key = objectKey(route.metadata);
    // Routes that were never sent are not at the control plane, whatever it acknowledged of the others.
    const unresolved = this.unresolved.get(key);
    if (unresolved) return backendUnresolvedCondition(unresolved);
    const acked = this.outbox.acked(key);
    const generation = route.metadata.generation;
    const previous = findCondition(route.status?.conditions, 'Synced');
    const refusal = this.outbox.refusal(key);
    if (refusal) {
      const next = refusal.retryable ? `retrying in ${Math.max(0, Math.ceil((refusal.retryAt - Date.now()) / 1000))} s` : 'not retried until the GatewayRoute changes';
      // Retryable: in progress (Reconciling); not: waits for the GatewayRoute to change (Stalled).
      const reason = refusal.retryable ? 'Retrying' : 'Refused';
      return { type: 'Synced', status: 'False', reason, message: `the control plane refused this change (${refusal.code}): ${refusal.message}; ${next}` };
    }
    // Acknowledged (or rejected) before this process started, and nothing said otherwise since: the control
    // plane's last word stands until the snapshot in flight is answered. Keeping the condition keeps a
    // restart from rewriting every GatewayRoute twice (Pending, then the same answer again). A reason this
    // version does not write (reasons.ts) is not kept: it is worked out again.
    const kept = !acked && previous && answeredFor(previous, generation) ? listedCondition(GATEWAY_ROUTE_REASONS, 'Synced', previous) : undefined;
    if (kept) return kept;
    // Synced is what the control plane acknowledged, compared with what is desired now (annotations
    // included, which change no generation), never the generation alone.
    if (acked && this.outbox.inSync(key)) {
      if (acked.rejected.length) {
        const reasons = listWithin(acked.rejected.map((r) => `${r.key}: ${r.reason}`), SYNCED_MESSAGE_BUDGET);
        return { type: 'Synced', status: 'False', reason: 'Rejected', message: `the control plane rejected ${acked.rejected.length} route(s): ${reasons}` };
      }
      return { type: 'Synced', status: 'True', reason: 'Synced', message: 'the control plane acknowledged these routes' };
    }
    if (!this.client.ready) {
      const why = this.client.state === 'unauthorized' ? 'the control plane refused the token' : (this.client.lastError ?? 'not connected');
      return { type: 'Synced', status: 'False', reason: 'Disconnected', message: `waiting for the control plane: ${why}` };
    }
    const since = this.outbox.inFlightSince(key);
    if (since !== undefined && Date.now() - since > this.ackTimeoutMs) {
      return { type: 'Synced', status: 'False', reason: 'Pending', message: `sent to the control plane ${Math.round((Date.now() - since) / 1000)} s ago, no answer yet` };
    }
    return { type: 'Synced', status: 'False', reason: 'Pending', message: 'sent to the control plane, waiting for its acknowledgement' };
  }

  private async writeStatus(key: string, route: GatewayRoute): Promise<void> {
    const { namespace, name } = splitKey(key);
    const generation = route.metadata.generation;
    const now = new Date();
    const own: GatewayRouteCondition[] = [this.syncedCondition(route)];
    // A translated GatewayRoute's source fields are its source controller's to write.
    const fromSource = sourceOwner(route) ? undefined : sourceStatus('Manual', route.spec.routes ?? []);
    if (fromSource) {
      // Nobody else reports on a hand-written GatewayRoute: the schema accepted it; check its backends.
      own.push({ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'written by hand; validated by the CRD schema' });
      own.push(resolvedRefsCondition(route.spec.routes ?? [], namespace, this.backends));
    }
    const withOwn = setConditions(route.status?.conditions, own, generation, now);
    // Ready, Reconciling and Stalled as kstatus and Argo CD read them; every input checked for this generation.
    const progress = progressSummary(withOwn, READY_ORDER, generation);
    const all = setConditions(withOwn, [progress.ready, progress.reconciling, progress.stalled], generation, now);
    const ownTypes = new Set([...own.map((c) => c.type), 'Ready', 'Reconciling', 'Stalled']);
    const conditions = all.filter((c) => ownTypes.has(c.type));
    const previous = (route.status?.conditions ?? []).filter((c) => ownTypes.has(c.type));

    // The first acknowledgement of a generation is recorded; later ones (snapshots after a reconnect or a
    // restart) re-confirm the same routes and change nothing worth a write.
    const acked = this.outbox.acked(key);
    const confirmedBefore = answeredFor(findCondition(previous, 'Synced'), generation) && route.status?.controlPlane;
    const controlPlane =
      acked && this.outbox.inSync(key) && !confirmedBefore ? { revision: acked.revision, syncedAt: rfc3339(acked.at) } : route.status?.controlPlane;
    const routingMode = this.connectivity.routingMode;
    // "Every status owner has seen this generation": only once each condition Ready reads was computed for it.
    const observedGeneration = progress.observed ? generation : route.status?.observedGeneration;
    const unchanged =
      !conditionsChanged(previous, conditions) &&
      route.status?.routingMode === routingMode &&
      route.status?.observedGeneration === observedGeneration &&
      route.status?.controlPlane?.revision === controlPlane?.revision &&
      !(fromSource && sourceStatusChanged(route.status, fromSource));
    if (unchanged) return;

    const status: Record<string, unknown> = { ...fromSource, routingMode, conditions };
    if (observedGeneration !== undefined) status.observedGeneration = observedGeneration;
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

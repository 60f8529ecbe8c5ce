// Composition only: every feature registers with the Manager through its setup(manager, options), and the
// Manager runs them (leader-gated where it must). main.ts turns the command line into a Config and runs this.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { API_VERSION, CLUSTER_CONNECTIVITY_KIND, CLUSTER_CONNECTIVITY_NAME } from './api/v1alpha1/types.js';
import type { Config } from './config.js';
import * as connectivity from './connectivity/controller.js';
import { describeExposure } from './exposure.js';
import type { GatewayLike } from './connectivity/detect.js';
import * as prometheus from './connectivity/prometheus.js';
import { DEFAULT_CONNECTIVITY } from './connectivity/state.js';
import { ControlPlaneClient } from './controlplane/client.js';
import { clusterFingerprint, ConfigMapIdentityStore } from './controlplane/identity.js';
import type { HeartbeatPayload } from './controlplane/protocol.js';
import * as gatewayApi from './gatewayapi/setup.js';
import * as gatewayRoutes from './gatewayroute/setup.js';
import * as ingress from './ingress/controller.js';
import type { GatewayAddressSource } from './ingress/status.js';
import type { Logger } from './log.js';
import { coordinationClient, coreClient, versionClient } from './operator/clients.js';
import { EventRecorder } from './operator/events.js';
import { LeaderElector } from './operator/leader-election.js';
import { Manager } from './operator/manager.js';
import { shareConnections } from './operator/connections.js';
import { metrics } from './metrics.js';
import { HealthServer } from './server/health.js';
import * as sync from './sync/controller.js';
import * as tunnel from './tunnel/setup.js';
import { DEFAULT_TUNNEL_OPTIONS, type Tunnel } from './tunnel/tunnel.js';

/** How long a standby waits to register before it counts as ready anyway (the control plane may be down). */
const STANDBY_REGISTER_GRACE_MS = 30_000;

export const AGENT_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export function loadKubeConfig(config: Config): KubeConfig {
  const kc = new KubeConfig();
  if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
  else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else kc.loadFromDefault();
  if (!kc.getCurrentCluster()) throw new Error('the kubeconfig has no current cluster');
  return shareConnections(kc);
}

/** The control-plane connection settings shared by `run` and `deregister`. */
export function controlPlaneConnection(config: Config, kc: KubeConfig) {
  return {
    url: config.controlPlaneUrl ?? '',
    token: config.token,
    tokenFile: config.tokenFile,
    // Outside a pod only (config.ts requires a name in one): the kubeconfig's cluster, for local runs.
    clusterName: config.clusterName ?? kc.getCurrentCluster()?.name ?? 'default',
    agentId: process.env.POD_NAME ?? hostname(),
    agentVersion: AGENT_VERSION,
    tls: { caFile: config.caFile, certFile: config.clientCertFile, keyFile: config.clientKeyFile },
    proxyUrl: config.proxyUrl,
    maxFrameBytes: config.maxFrameBytes,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    reconnect: { initialMs: 500, maxMs: config.reconnectMaxMs, factor: 2, jitter: 0.25 },
  };
}

/** What the composed features expose to the heartbeat and /api/health/detailed. */
interface Features {
  sync: sync.SyncController;
  prometheus: prometheus.PrometheusDiscovery;
  tunnel?: Tunnel;
}

/**
 * Where Ingresses of our class get their address from: --ingress-status-address, else the control plane's
 * session (a new one at every registration); neither: undefined, and their status is not written.
 */
function ingressStatusAddress(config: Config, client: ControlPlaneClient | undefined): GatewayAddressSource | undefined {
  const fixed = config.ingressStatusAddress;
  if (fixed) return { current: () => fixed, onChange: () => undefined };
  if (!client) return undefined;
  return { current: () => client.session?.gatewayAddress, onChange: (listener) => client.onStateChange(listener) };
}

export class GatewayOperator {
  private readonly manager: Manager;
  private readonly client?: ControlPlaneClient;
  private readonly health: HealthServer;
  private features?: Features;
  private k8sVersion = 'unknown';
  private stopping = false;
  private readonly startedAt = Date.now();
  healthPort = 0;

  /** The operator's own lines (controller "manager"); features log through children of their own. */
  private readonly logger: Logger;

  constructor(
    private readonly config: Config,
    private readonly kc: KubeConfig,
    logger: Logger,
    onFatal: (reason: string) => void,
  ) {
    this.logger = logger.child({ controller: 'manager' });
    const core = coreClient(kc);
    const identity = `${hostname()}_${randomBytes(4).toString('hex')}`;
    const events = new EventRecorder(core, 'gateway-operator', identity, config.namespace, logger);
    const elector = config.leaderElect
      ? new LeaderElector(coordinationClient(kc, { timeoutMs: config.renewDeadlineMs }), {
          namespace: config.namespace,
          name: config.leaseName,
          identity,
          leaseDurationMs: config.leaseDurationMs,
          renewDeadlineMs: config.renewDeadlineMs,
          retryPeriodMs: config.retryPeriodMs,
        }, logger)
      : undefined;
    this.manager = new Manager({ kc, events, logger, watchNamespaces: config.watchNamespaces, elector, onFatal });
    if (config.controlPlaneUrl) {
      this.client = new ControlPlaneClient({
        ...controlPlaneConnection(config, kc),
        k8sVersion: () => this.k8sVersion,
        identity: new ConfigMapIdentityStore(core, config.namespace),
        fingerprint: clusterFingerprint(core, (err) => logger.warn('cannot read the cluster fingerprint; registering without it', { controller: 'controlplane', err })),
        heartbeat: () => this.heartbeatMetadata(),
        logger,
      });
      this.reportUncachedIdentity(this.client, new EventRecorder(core, 'gateway-operator', identity, 'default', logger));
    }
    this.health = new HealthServer({ notReadyReasons: () => this.notReadyReasons(), detailed: () => this.detailed() });
  }

  /** Registers every feature with the manager; the Gateway API one asks the apiserver what it serves first. */
  private async setup(): Promise<Features> {
    const { manager, config, client } = this;
    const routes = gatewayRoutes.setup(manager, { clusterDomain: config.clusterDomain });
    ingress.setup(manager, {
      routes,
      ingressClasses: config.ingressClasses,
      controllerName: config.gatewayControllerName,
      statusAddress: ingressStatusAddress(config, client),
      labelSelector: config.ingressSelector,
      allowCatchAll: config.allowCatchAll,
      concurrency: config.concurrency,
    });
    const gatewayApiFeature = await gatewayApi.setup(manager, {
      routes,
      controllerName: config.gatewayControllerName,
      allowCatchAll: config.allowCatchAll,
      concurrency: config.concurrency,
    });
    const gateways = gatewayApiFeature.served ? manager.informer<GatewayLike>(gatewayApi.GATEWAY) : undefined;
    const connectivityController = connectivity.setup(manager, { client, gateways });
    const syncController = sync.setup(manager, {
      routes,
      referenceGrants: gatewayApiFeature.referenceGrant && manager.informer(gatewayApiFeature.referenceGrant),
      connectivity: connectivityController.connectivity,
      client,
      concurrency: config.concurrency,
      ackTimeoutMs: config.ackTimeoutMs,
      frameBudgetBytes: config.frameBudgetBytes,
      // A testing aid, not a setting: where the revision counter starts (tests start two operators hours
      // apart, as wall-clock revisions would have been, to show that the control plane's resume point rules).
      revisionStart: Number(process.env.GATEWAY_REVISION_START ?? 0) || 0,
    });
    const prometheusDiscovery = prometheus.setup(manager, { namespaces: config.prometheusNamespaces });
    let tunnelFeature: Tunnel | undefined;
    if (client) {
      // With leader election every replica connects and carries traffic once its boundary caches have synced
      // (see sync.setup); a single replica connects once its work has started, as a leader always did.
      manager.add({ name: 'controlplane-client', needLeaderElection: !config.leaderElect, start: () => client.start(), stop: () => client.stop() });
      // The leader's socket also carries the route sync; leader-gated runnables start after the controllers,
      // so the first snapshot is of synced caches.
      manager.add({ name: 'route-sync-role', start: () => client.claimSync(), stop: () => client.releaseSync() });
      // Another connection took the route sync while this replica still leads (it should not happen under one
      // Lease; a former leader's reconnect is the known case): take it back rather than leave none syncing.
      // At most every 5 s, so two replicas that both think they lead (a Lease overlap) do not trade it in a loop.
      let lastReclaim = 0;
      client.onStateChange(() => {
        if (!manager.isWorking || this.stopping || !client.registered || client.session?.role === 'sync' || Date.now() - lastReclaim < 5_000) return;
        lastReclaim = Date.now();
        client.claimSync();
      });
      // After the client, so it stops first: requests in flight end before the socket closes (1001).
      tunnelFeature = tunnel.setup(manager, {
        client,
        exposedRoutes: () => syncController.exposedRoutes(),
        transport: (route) => routes.transports.forRoute(route),
        gatewayRouteUid: (namespace, name) => routes.gatewayRoutes.get(`${namespace}/${name}`)?.metadata.uid,
        tunnel: {
          ...DEFAULT_TUNNEL_OPTIONS,
          clusterDomain: config.clusterDomain,
          serviceAddresses: new Map(config.serviceAddresses.map((entry) => entry.split('=') as [string, string])),
          defaultTimeoutMs: config.tunnelTimeoutMs,
        },
      });
    }
    return { sync: syncController, prometheus: prometheusDiscovery, tunnel: tunnelFeature };
  }

  private heartbeatMetadata() {
    const { sync: syncController, prometheus: discovery } = this.features ?? {};
    const current = syncController?.currentConnectivity ?? DEFAULT_CONNECTIVITY;
    const metadata: HeartbeatPayload['metadata'] = {
      is_private: current.isPrivate,
      routing_mode: current.routingMode,
      gateway_routes: syncController?.routeCount() ?? 0,
      k8s_version: this.k8sVersion,
      agent_version: AGENT_VERSION,
    };
    if (current.publicEndpoint) metadata.public_endpoint = current.publicEndpoint;
    if (discovery?.current) metadata.prometheus = discovery.current;
    return metadata;
  }

  /**
   * A Warning Event on ClusterConnectivity (cluster-scoped: its Events live in "default") each time the cluster
   * id cannot be cached for a new reason: the ConfigMap is a cache, but a missing one should be seen and fixed.
   */
  private reportUncachedIdentity(client: ControlPlaneClient, events: EventRecorder): void {
    let reported: string | undefined;
    client.onStateChange(() => {
      const { cached, problem, fingerprint } = client.identityStatus;
      if (cached !== false || problem === reported) return;
      reported = problem;
      const resumes = fingerprint ? 'restarts resume this cluster by its fingerprint' : 'no fingerprint either: a restart registers a new cluster';
      events.record({ apiVersion: API_VERSION, kind: CLUSTER_CONNECTIVITY_KIND.kind, name: CLUSTER_CONNECTIVITY_NAME }, 'Warning', 'IdentityNotCached', `${problem}; ${resumes}`);
    });
  }

  /**
   * Readiness is about this process only: caches synced (the apiserver answered). The control plane is
   * reported by /api/health/detailed and ClusterConnectivity, never here, so a rollout does not hang
   * while the control plane is down, and a standby replica is ready too.
   */
  notReadyReasons(): string[] {
    const reasons: string[] = [];
    if (this.stopping) reasons.push('draining: shutting down');
    if (!this.manager.isLeader) {
      // A standby serves traffic: ready once it knows the boundary and has registered (a rollout must not replace
      // the last serving replica with one that cannot serve yet), or after a grace when the control plane is down.
      for (const informer of this.manager.informersOfEveryReplica()) if (!informer.hasSynced()) reasons.push(`${informer.kind} cache not synced yet`);
      if (this.client && !this.client.registered && Date.now() - this.startedAt < STANDBY_REGISTER_GRACE_MS) reasons.push('registering with the control plane');
      return reasons;
    }
    if (!this.manager.isWorking) reasons.push('waiting to start (leader election)');
    for (const informer of this.manager.allInformers()) if (!informer.hasSynced()) reasons.push(`${informer.kind} cache not synced yet`);
    return reasons;
  }

  detailed(): Record<string, unknown> {
    const { sync: syncController, prometheus: discovery, tunnel: tunnelFeature } = this.features ?? {};
    return {
      version: AGENT_VERSION,
      leader: this.manager.isLeader,
      connection: this.client
        ? {
            state: this.client.state,
            role: this.client.registered ? this.client.session?.role : undefined,
            draining: this.client.draining,
            clusterConnections: this.client.clusterConnections,
            clusterId: this.client.session?.clusterId,
            lastHeartbeat: this.client.lastHeartbeatAt?.toISOString(),
            reconnects: this.client.reconnects,
            lastError: this.client.lastError,
            identity: this.client.identityStatus,
            backlogBytes: this.client.backlogBytes,
          }
        : { state: 'not configured' },
      routingMode: (syncController?.currentConnectivity ?? DEFAULT_CONNECTIVITY).routingMode,
      prometheus: discovery?.current ?? null,
      tunnel: { inFlight: tunnelFeature?.inFlight ?? 0, streams: tunnelFeature?.streams ?? 0 },
      routes: {
        desired: syncController?.routeCount() ?? 0,
        acknowledged: syncController?.outbox.ackedRouteCount() ?? 0,
        unacknowledgedGatewayRoutes: syncController?.outbox.size ?? 0,
      },
      queues: Object.fromEntries(
        this.manager.controllers.map((c) => [c.name, { depth: c.queue.depth, inFlight: c.queue.inFlight, delayed: c.queue.delayedCount, retrying: c.queue.retrying }]),
      ),
    };
  }

  async start(): Promise<void> {
    this.healthPort = await this.health.listen(this.config.healthPort);
    this.logger.info('health server listening', { port: this.healthPort });
    const version = await versionClient(this.kc).getCode().catch((err: unknown) => {
      this.logger.warn('could not read the Kubernetes version', { err });
      return undefined;
    });
    if (version) this.k8sVersion = version.gitVersion;
    const exposure = describeExposure(this.config);
    this.logger.info(exposure.message, exposure.fields);
    this.features = await this.setup();
    await this.manager.start();
  }

  /**
   * A drain, bounded in time: readiness fails and the control plane is told to send nothing new; the leader
   * work stops and the Lease is released at once (a standby takes the route sync); requests in flight finish
   * up to --drain-timeout-ms, WebSocket streams close with 1001; then the socket (1001), informers, and the
   * health server.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    metrics.draining.set(1);
    this.logger.info('draining', { drainTimeoutMs: this.config.drainTimeoutMs, inFlight: this.features?.tunnel?.inFlight ?? 0 });
    const drainAcknowledged = this.client?.drain();
    // With leader election the route sync moves to a standby at once; a single replica keeps its work (and its
    // socket) until the requests it carries are done, as nobody would take over.
    if (this.config.leaderElect) await this.manager.stopLeaderWork(3_000);
    await drainAcknowledged;
    await this.features?.tunnel?.drain(this.config.drainTimeoutMs);
    this.logger.info('shutting down');
    await this.manager.stop(3_000);
    await this.health.close();
  }
}

// Wires the operator: informers → controllers → control-plane client, behind optional leader election,
// with the health server in front. main.ts turns the command line into a Config and runs this.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CoordinationV1Api, CoreV1Api, KubeConfig, VersionApi } from '@kubernetes/client-node';
import { API_VERSION, CLUSTER_CONNECTIVITY_KIND, CLUSTER_CONNECTIVITY_NAME, GATEWAY_ROUTE_KIND, type ClusterConnectivity, type GatewayRoute } from './api/v1alpha1/types.js';
import type { Config } from './config.js';
import { ConnectivityController } from './connectivity/controller.js';
import type { IngressServiceLike } from './connectivity/detect.js';
import { PrometheusDiscovery } from './connectivity/prometheus.js';
import { ControlPlaneClient } from './controlplane/client.js';
import { clusterFingerprint, ConfigMapIdentityStore } from './controlplane/identity.js';
import type { HeartbeatPayload } from './controlplane/protocol.js';
import * as gatewayApi from './gatewayapi/setup.js';
import * as ingress from './ingress/controller.js';
import type { Logger } from './log.js';
import { EventRecorder } from './operator/events.js';
import { SERVICE, type ResourceKind } from './operator/kinds.js';
import { LeaderElector } from './operator/leader-election.js';
import { Manager } from './operator/manager.js';
import { shareConnections } from './operator/connections.js';
import type { ServiceLike } from './routing/backends.js';
import { HealthServer } from './server/health.js';
import { DEFAULT_TUNNEL_OPTIONS, Tunnel } from './tunnel/tunnel.js';
import { SyncController } from './sync/controller.js';

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

export class GatewayOperator {
  private readonly manager: Manager;
  private readonly sync: SyncController;
  private readonly connectivityController: ConnectivityController;
  private readonly prometheus: PrometheusDiscovery;
  private readonly tunnel?: Tunnel;
  private readonly client?: ControlPlaneClient;
  private readonly elector?: LeaderElector;
  private readonly health: HealthServer;
  private k8sVersion = 'unknown';
  private working = false;
  private stopping = false;
  healthPort = 0;

  constructor(
    private readonly config: Config,
    private readonly kc: KubeConfig,
    private readonly logger: Logger,
    private readonly onFatal: (reason: string) => void,
  ) {
    const core = kc.makeApiClient(CoreV1Api);
    const identity = `${hostname()}_${randomBytes(4).toString('hex')}`;
    const events = new EventRecorder(core, 'gateway-operator', identity, config.namespace, logger);
    const manager = new Manager({ kc, events, logger, watchNamespaces: config.watchNamespaces });
    this.manager = manager;
    const { custom } = manager;
    // --watch-namespaces scopes everything namespaced that routes are made of: Ingresses, HTTPRoutes, their
    // Services and the GatewayRoutes.
    const services = manager.informer<ServiceLike>(SERVICE, { watched: true });
    const gatewayRoutes = manager.informer<GatewayRoute>(GATEWAY_ROUTE_KIND, { watched: true });
    const connectivity = manager.informer<ClusterConnectivity>(CLUSTER_CONNECTIVITY_KIND);
    ingress.setup(manager, {
      ingressClasses: config.ingressClasses,
      labelSelector: config.ingressSelector,
      allowCatchAll: config.allowCatchAll,
      concurrency: config.concurrency,
    });

    if (config.controlPlaneUrl) {
      this.client = new ControlPlaneClient({
        ...controlPlaneConnection(config, kc),
        k8sVersion: () => this.k8sVersion,
        identity: new ConfigMapIdentityStore(core, config.namespace),
        fingerprint: clusterFingerprint(core, (err) => logger.warn('cannot read the cluster fingerprint; registering without it', { controller: 'controlplane', err })),
        heartbeat: () => this.heartbeatMetadata(),
        logger,
      });
    }
    this.sync = new SyncController({
      custom,
      gatewayRoutes,
      services,
      connectivity,
      client: this.client,
      events,
      logger,
      concurrency: config.concurrency,
      ackTimeoutMs: config.ackTimeoutMs,
      frameBudgetBytes: config.frameBudgetBytes,
      // A testing aid, not a setting: where the revision counter starts (tests start two operators hours
      // apart, as wall-clock revisions would have been, to show that the control plane's resume point rules).
      revisionStart: Number(process.env.GATEWAY_REVISION_START ?? 0) || 0,
    });
    // Detection looks for the ingress controller's Service anywhere, whatever --watch-namespaces says.
    const allServices = manager.informer<IngressServiceLike>(SERVICE);
    this.connectivityController = new ConnectivityController(custom, allServices, connectivity, this.client, logger);
    this.prometheus = new PrometheusDiscovery(() => allServices.list(), config.prometheusNamespaces, logger);
    allServices.onChange(() => this.prometheus.discover());

    if (this.client) {
      const client = this.client;
      const serviceAddresses = new Map(config.serviceAddresses.map((entry) => entry.split('=') as [string, string]));
      const tunnel = new Tunnel(client, () => this.sync.outbox.exposedRoutes(), {
        ...DEFAULT_TUNNEL_OPTIONS,
        clusterDomain: config.clusterDomain,
        serviceAddresses,
        defaultTimeoutMs: config.tunnelTimeoutMs,
      }, logger);
      client.addMessageListener((message) => tunnel.handle(message));
      client.onStateChange(() => {
        if (!client.ready) tunnel.abortAll();
      });
      this.tunnel = tunnel;
      this.reportUncachedIdentity(client, new EventRecorder(core, 'gateway-operator', identity, 'default', logger));
    }

    if (config.leaderElect) {
      this.elector = new LeaderElector(kc.makeApiClient(CoordinationV1Api), { namespace: config.namespace, name: config.leaseName, identity }, logger);
    }
    this.health = new HealthServer({ notReadyReasons: () => this.notReadyReasons(), detailed: () => this.detailed() });
  }

  private heartbeatMetadata() {
    const connectivity = this.sync.currentConnectivity;
    const metadata: HeartbeatPayload['metadata'] = {
      is_private: connectivity.isPrivate,
      routing_mode: connectivity.routingMode,
      gateway_routes: this.sync.routeCount(),
      k8s_version: this.k8sVersion,
      agent_version: AGENT_VERSION,
    };
    if (connectivity.publicEndpoint) metadata.public_endpoint = connectivity.publicEndpoint;
    if (this.prometheus.current) metadata.prometheus = this.prometheus.current;
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
    if (this.stopping) reasons.push('shutting down');
    if (this.elector && !this.elector.isLeader) return reasons;
    if (!this.working) reasons.push('waiting to start (leader election)');
    for (const informer of this.manager.allInformers()) if (!informer.hasSynced()) reasons.push(`${informer.kind} cache not synced yet`);
    return reasons;
  }

  detailed(): Record<string, unknown> {
    return {
      version: AGENT_VERSION,
      leader: this.elector ? this.elector.isLeader : true,
      connection: this.client
        ? {
            state: this.client.state,
            clusterId: this.client.session?.clusterId,
            lastHeartbeat: this.client.lastHeartbeatAt?.toISOString(),
            reconnects: this.client.reconnects,
            lastError: this.client.lastError,
            identity: this.client.identityStatus,
            backlogBytes: this.client.backlogBytes,
          }
        : { state: 'not configured' },
      routingMode: this.sync.currentConnectivity.routingMode,
      prometheus: this.prometheus.current ?? null,
      tunnel: { inFlight: this.tunnel?.inFlight ?? 0 },
      routes: { desired: this.sync.routeCount(), acknowledged: this.sync.outbox.ackedRouteCount(), unacknowledgedGatewayRoutes: this.sync.outbox.size },
      queues: Object.fromEntries(
        [...this.manager.controllers, this.sync.controller, this.connectivityController.controller].map((c) => [
          c.name,
          { depth: c.queue.depth, inFlight: c.queue.inFlight, retrying: c.queue.retrying },
        ]),
      ),
    };
  }

  async start(): Promise<void> {
    this.healthPort = await this.health.listen(this.config.healthPort);
    this.logger.info('health server listening', { controller: 'manager', port: this.healthPort });
    const version = await this.kc.makeApiClient(VersionApi).getCode().catch((err: unknown) => {
      this.logger.warn('could not read the Kubernetes version', { controller: 'manager', err });
      return undefined;
    });
    if (version) this.k8sVersion = version.gitVersion;
    await this.setupGatewayApi();
    if (this.elector) {
      this.elector.run({
        onStartedLeading: () => void this.startWork(),
        onStoppedLeading: () => this.onFatal('lost the leader lease'),
      });
    } else {
      await this.startWork();
    }
  }

  /** HTTPRoutes are a second source of GatewayRoutes where the Gateway API CRDs are installed. */
  private async setupGatewayApi(): Promise<void> {
    const served = await this.manager.serves(gatewayApi.KINDS).catch((err: unknown) => {
      this.logger.warn('could not ask the apiserver whether it serves the Gateway API; HTTPRoutes are not watched', { controller: 'manager', err });
      return false;
    });
    if (!served) {
      this.logger.info('the Gateway API CRDs are not installed: HTTPRoutes are not watched (install them and restart to serve HTTPRoutes)', { controller: 'manager' });
      return;
    }
    this.connectivityController.watchGateways(this.manager.informer(gatewayApi.GATEWAY));
    let referenceGrant: ResourceKind | undefined;
    for (const version of gatewayApi.REFERENCE_GRANT_VERSIONS) {
      if (!referenceGrant && (await this.manager.serves([version]).catch(() => false))) referenceGrant = version;
    }
    if (!referenceGrant) this.logger.warn('the apiserver serves no ReferenceGrant: HTTPRoute backendRefs to other namespaces are never permitted', { controller: 'manager' });
    if (referenceGrant) {
      const { policy, onChange } = gatewayApi.crossNamespacePolicy(this.manager, referenceGrant);
      this.sync.useCrossNamespacePolicy(policy, onChange);
    }
    gatewayApi.setup(this.manager, {
      referenceGrant,
      controllerName: this.config.gatewayControllerName,
      allowCatchAll: this.config.allowCatchAll,
      concurrency: this.config.concurrency,
    });
  }

  private async startWork(): Promise<void> {
    if (this.working || this.stopping) return;
    this.working = true;
    this.manager.startInformers();
    // Reconcile only against complete caches (an object missing from a half-filled cache looks new),
    // and connect only then, so the first snapshot holds every route.
    const started = Date.now();
    while (!this.manager.hasSynced() && !this.stopping) await new Promise((r) => setTimeout(r, 50));
    if (this.stopping) return;
    this.logger.info('caches synced', { controller: 'manager', ms: Date.now() - started });
    this.manager.startControllers();
    this.sync.start();
    this.connectivityController.start();
    this.prometheus.start();
    this.client?.start();
  }

  /** Graceful stop: queues, informers, socket (1001), lease, server; bounded in time. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.logger.info('shutting down', { controller: 'manager' });
    await Promise.all([this.manager.stopControllers(3_000), this.sync.stop(3_000), this.connectivityController.controller.stop(3_000)]);
    this.prometheus.stop();
    this.manager.stopInformers();
    this.tunnel?.abortAll();
    await this.client?.stop();
    await this.elector?.release();
    await this.health.close();
  }
}

// Keeps ClusterConnectivity/cluster current: which ingress controller Service (or Gateway API Gateway with
// published addresses, in a trusted namespace) decides, private or public, the public endpoint, and the control-plane connection. It re-detects whenever that Service
// changes (a LoadBalancer that gets its address late turns the cluster public without a restart) and
// never delays the operator's start: until it has decided, the cluster counts as private.
import { conditionsChanged, progressSummary, rfc3339, setConditions } from '../api/v1alpha1/conditions.js';
import type { ClusterConnectivityCondition } from '../api/v1alpha1/reasons.js';
import {
  API_VERSION,
  CLUSTER_CONNECTIVITY,
  CLUSTER_CONNECTIVITY_KIND,
  CLUSTER_CONNECTIVITY_NAME,
  DEFAULT_DETECTION_TIMEOUT_SECONDS,
  GROUP,
  VERSION,
  type ClusterConnectivity,
  type ClusterConnectivityStatus,
} from '../api/v1alpha1/types.js';
import type { ControlPlaneClient } from '../controlplane/client.js';
import { jsonEqual } from '../operator/json.js';
import type { Logger } from '../log.js';
import { applyObject, applyStatus, type CustomObjectRef } from '../operator/apply.js';
import type { Controller } from '../operator/controller.js';
import type { Informer } from '../operator/informer.js';
import { SERVICE } from '../operator/kinds.js';
import { watch, type Manager } from '../operator/manager.js';
import { generationChanged } from '../operator/predicates.js';
import type { ReconcileResult } from '../operator/queue.js';
import { lookup as dnsLookup } from 'node:dns/promises';
import { CANDIDATES, controllerType, decide, gatewayCandidates, labelledController, trustedGateway, type Decision, type GatewayLike, type IngressServiceLike } from './detect.js';

export const CONNECTIVITY_FIELD_MANAGER = 'gateway-operator-connectivity';
const REF: CustomObjectRef = { group: GROUP, version: VERSION, plural: CLUSTER_CONNECTIVITY.plural, kind: CLUSTER_CONNECTIVITY.kind, name: CLUSTER_CONNECTIVITY_NAME };
const REFRESH_MS = 10_000;
/** How long a hostname's addresses are reused before it is looked up again. */
const DNS_TTL_MS = 60_000;

export interface ConnectivityOptions {
  client?: ControlPlaneClient;
  /** Gateways count as candidates too where the Gateway API is installed (see gatewayCandidate). */
  gateways?: Informer<GatewayLike>;
}

/** Registers the connectivity controller: the ingress controller's Service, Gateways, ClusterConnectivity, the socket. */
export function setup(manager: Manager, options: ConnectivityOptions): ConnectivityController {
  return new ConnectivityController(manager, options);
}

export class ConnectivityController {
  readonly controller: Controller;
  readonly connectivity: Informer<ClusterConnectivity>;
  /** When each LoadBalancer Service was first seen without an address. */
  private readonly waitingSince = new Map<string, number>();
  /** Cluster ids of other writers already warned about. */
  private readonly otherWriters = new Set<string>();
  private readonly resolved = new Map<string, { addresses: string[] | undefined; at: number }>();
  private readonly custom: Manager['custom'];
  private readonly services: Informer<IngressServiceLike>;
  private readonly gateways?: Informer<GatewayLike>;
  private readonly client?: ControlPlaneClient;
  private readonly logger: Logger;

  constructor(manager: Manager, options: ConnectivityOptions) {
    this.custom = manager.custom;
    this.client = options.client;
    this.gateways = options.gateways;
    this.logger = manager.logger.child({ controller: 'connectivity' });
    // Detection looks for the ingress controller's Service anywhere, whatever --watch-namespaces says.
    this.services = manager.informer<IngressServiceLike>(SERVICE);
    this.connectivity = manager.informer<ClusterConnectivity>(CLUSTER_CONNECTIVITY_KIND);
    const singleton = [CLUSTER_CONNECTIVITY_NAME];
    this.controller = manager.controller({
      name: 'connectivity',
      // Spec changes and deletion only: a status write (ours, or another installation's in the same cluster)
      // must not trigger a reconcile that writes again; two writers would answer each other forever.
      for: { informer: this.connectivity, predicate: generationChanged },
      watches: [
        watch({ informer: this.services, predicate: ({ object }) => this.relevant(object), map: () => singleton }),
        ...(this.gateways
          ? [
              watch({
                informer: this.gateways,
                // A tenant's Gateway never decides, so its changes need no reconcile either.
                predicate: ({ object, previous }) => trustedGateway(object) && !!(object.status?.addresses?.length || previous?.status?.addresses?.length),
                map: () => singleton,
              }),
            ]
          : []),
      ],
      sources: this.client ? [(enqueue) => this.client?.onStateChange(() => enqueue(CLUSTER_CONNECTIVITY_NAME))] : [],
      initialKeys: singleton,
      reconcile: () => this.reconcile(),
      concurrency: 1,
    });
  }

  private relevant(service: IngressServiceLike): boolean {
    const spec = this.connectivity.get(CLUSTER_CONNECTIVITY_NAME)?.spec?.ingressService;
    const key = { namespace: service.metadata?.namespace, name: service.metadata?.name };
    if (spec) return spec.namespace === key.namespace && spec.name === key.name;
    return CANDIDATES.some((c) => c.namespace === key.namespace && c.name === key.name) || labelledController(service) !== undefined;
  }

  /** The ingress controller Service: the one named in spec, else the candidates in order, else by label. */
  findService(spec: ClusterConnectivity['spec']): IngressServiceLike | undefined {
    if (spec?.ingressService) return this.services.get(`${spec.ingressService.namespace}/${spec.ingressService.name}`);
    for (const c of CANDIDATES) {
      const found = this.services.get(`${c.namespace}/${c.name}`);
      if (found) return found;
    }
    return this.services
      .list()
      .filter((s) => labelledController(s) !== undefined)
      .sort((a, b) => `${a.metadata?.namespace}/${a.metadata?.name}`.localeCompare(`${b.metadata?.namespace}/${b.metadata?.name}`))[0];
  }

  private async reconcile(): Promise<ReconcileResult> {
    const current = this.connectivity.get(CLUSTER_CONNECTIVITY_NAME);
    if (!current) {
      // Only the name: spec stays the user's (GitOps tools may own it).
      await applyObject(this.custom, REF, { apiVersion: API_VERSION, kind: CLUSTER_CONNECTIVITY.kind, metadata: { name: CLUSTER_CONNECTIVITY_NAME } }, CONNECTIVITY_FIELD_MANAGER);
      return;
    }
    const spec = current.spec ?? {};
    const timeoutMs = (spec.detectionTimeoutSeconds ?? DEFAULT_DETECTION_TIMEOUT_SECONDS) * 1000;
    const service = this.findService(spec);
    const serviceKey = service ? `${service.metadata?.namespace}/${service.metadata?.name}` : '';
    const noAddress = service?.spec?.type === 'LoadBalancer' && !(service.status?.loadBalancer?.ingress ?? []).length;
    if (noAddress && !this.waitingSince.has(serviceKey)) this.waitingSince.set(serviceKey, Date.now());
    if (!noAddress) this.waitingSince.delete(serviceKey);
    const waited = Date.now() - (this.waitingSince.get(serviceKey) ?? Date.now());
    // The user's choice (spec.ingressService) alone; otherwise the trusted Gateways with published addresses
    // as well, and the first candidate that is public decides.
    const gateways = spec.ingressService ? [] : gatewayCandidates(this.gateways?.list() ?? []);
    const hostnames = [service, ...gateways].flatMap((c) => (c?.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.hostname ? [i.hostname] : [])));
    const addresses = new Map(await Promise.all([...new Set(hostnames)].map(async (h) => [h, await this.resolve(h)] as const)));
    const judge = (candidate: IngressServiceLike | undefined): Decision => decide(candidate, waited, timeoutMs, (hostname) => addresses.get(hostname));
    const byService = judge(service);
    const byGateway = gateways.map((g) => ({ candidate: g, decision: judge(g) }));
    const winner = (!byService.isPrivate ? undefined : byGateway.find((g) => !g.decision.isPrivate)) ?? (service ? undefined : byGateway[0]);
    const chosen = winner?.candidate ?? service;
    let decision = winner?.decision ?? byService;
    if (spec.mode === 'tunnel' || spec.mode === 'direct') {
      decision = { ...decision, isPrivate: spec.mode === 'tunnel', routingMode: spec.mode, reason: `forced by spec.mode=${spec.mode} (detected: ${decision.reason})`, waiting: false };
      if (spec.mode === 'tunnel') delete decision.publicEndpoint;
    }

    const previous = current.status ?? {};
    this.warnOfOtherWriter(previous.controlPlane?.clusterId);
    const same = previous.isPrivate === decision.isPrivate && previous.routingMode === decision.routingMode && previous.publicEndpoint === decision.publicEndpoint;
    const now = new Date();
    const conditionInputs: ClusterConnectivityCondition[] = [
      decision.waiting
        ? { type: 'Detected', status: 'Unknown', reason: 'WaitingForAddress', message: decision.reason }
        : { type: 'Detected', status: 'True', reason: decision.isPrivate ? 'Private' : 'Public', message: decision.reason },
      this.controlPlaneCondition(),
      ...(this.client ? [identityCondition(this.client.identityStatus)] : []),
    ];
    const generation = current.metadata?.generation;
    const withOwn = setConditions(previous.conditions, conditionInputs, generation, now);
    const readyOrder = this.client ? ['Detected', 'ControlPlaneConnected'] : ['Detected'];
    // Ready, Reconciling and Stalled as for GatewayRoutes (kstatus, Argo CD); a refused token is Stalled.
    const progress = progressSummary(withOwn, readyOrder, generation);
    const conditions = setConditions(withOwn, [progress.ready, progress.reconciling, progress.stalled], generation, now);

    const status: ClusterConnectivityStatus = {
      observedGeneration: generation,
      isPrivate: decision.isPrivate,
      routingMode: decision.routingMode,
      reason: decision.reason,
      detectedAt: same && previous.detectedAt ? previous.detectedAt : rfc3339(now),
      conditions,
    };
    if (decision.publicEndpoint) status.publicEndpoint = decision.publicEndpoint;
    if (chosen) {
      status.ingressController = {
        kind: chosen.kind ?? 'Service',
        namespace: chosen.metadata?.namespace,
        name: chosen.metadata?.name,
        type: controllerType(chosen),
        ...(chosen.kind === 'Gateway' ? {} : { serviceType: chosen.spec?.type ?? 'ClusterIP' }),
      };
    }
    if (this.client) {
      // Only what changes with the connection's state: heartbeat times and reconnect counts would rewrite this
      // object every few seconds (GitOps diffs, apiserver writes); they are in /metrics and /api/health/detailed.
      status.controlPlane = { connected: this.client.ready };
      if (this.client.session) status.controlPlane.clusterId = this.client.session.clusterId;
      // The number only (not who is draining): it changes when a replica comes or goes, not every heartbeat.
      if (this.client.ready && this.client.clusterConnections) status.controlPlane.connections = this.client.clusterConnections.count;
    }
    const unchanged = !conditionsChanged(previous.conditions, conditions) && jsonEqual({ ...previous, conditions: [] }, { ...status, conditions: [] });
    if (!unchanged) {
      await applyStatus(this.custom, REF, { apiVersion: API_VERSION, kind: CLUSTER_CONNECTIVITY.kind, metadata: { name: CLUSTER_CONNECTIVITY_NAME }, status }, CONNECTIVITY_FIELD_MANAGER);
      this.logger.debug('ClusterConnectivity status written', { name: CLUSTER_CONNECTIVITY_NAME, clusterId: status.controlPlane?.clusterId });
      if (!same) this.logger.info('cluster connectivity decided', { isPrivate: decision.isPrivate, routingMode: decision.routingMode, publicEndpoint: decision.publicEndpoint, reason: decision.reason });
    }
    if (decision.waiting) return { requeueAfterMs: Math.min(REFRESH_MS, timeoutMs - waited + 10) };
    return this.client ? { requeueAfterMs: REFRESH_MS } : undefined;
  }

  /** Two installations in one cluster overwrite each other's status: say so once, naming the other id. */
  private warnOfOtherWriter(writtenFor: string | undefined): void {
    const own = this.client?.session?.clusterId;
    if (!writtenFor || !own || writtenFor === own || this.otherWriters.has(writtenFor)) return;
    this.otherWriters.add(writtenFor);
    this.logger.warn('ClusterConnectivity was written for another cluster id: is a second gateway-operator installed in this cluster?', {
      name: CLUSTER_CONNECTIVITY_NAME, otherClusterId: writtenFor, clusterId: own,
    });
  }

  /** A LoadBalancer hostname's addresses (undefined when it does not resolve within 2 s), kept for a minute. */
  private async resolve(hostname: string): Promise<string[] | undefined> {
    const cached = this.resolved.get(hostname);
    if (cached && Date.now() - cached.at < DNS_TTL_MS) return cached.addresses;
    const lookup = dnsLookup(hostname, { all: true }).then(
      (found) => found.map((a) => a.address),
      () => undefined,
    );
    const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 2_000).unref());
    const addresses = await Promise.race([lookup, timeout]);
    this.resolved.set(hostname, { addresses, at: Date.now() });
    return addresses;
  }

  private controlPlaneCondition(): ClusterConnectivityCondition<'ControlPlaneConnected'> {
    if (!this.client) return { type: 'ControlPlaneConnected', status: 'Unknown', reason: 'NoControlPlane', message: 'no control plane is configured' };
    if (this.client.ready) return { type: 'ControlPlaneConnected', status: 'True', reason: 'Registered', message: 'registered with the control plane' };
    if (this.client.state === 'unauthorized') return { type: 'ControlPlaneConnected', status: 'False', reason: 'Unauthorized', message: this.client.lastError ?? 'the control plane refused the token' };
    return { type: 'ControlPlaneConnected', status: 'False', reason: 'Disconnected', message: this.client.lastError ?? 'connecting' };
  }
}

/**
 * IdentityCached: whether the cluster id is cached in the state ConfigMap. Not part of Ready: without the cache
 * the fingerprint still resumes the same cluster; this says why the cache is missing, so it can be fixed.
 */
export function identityCondition({ cached, problem, fingerprint }: ControlPlaneClient['identityStatus']): ClusterConnectivityCondition<'IdentityCached'> {
  if (cached) return { type: 'IdentityCached', status: 'True', reason: 'Cached', message: 'the cluster id is cached in the state ConfigMap' };
  if (cached === undefined) return { type: 'IdentityCached', status: 'Unknown', reason: 'NotRegistered', message: 'not registered with the control plane yet' };
  const resumes = fingerprint ? `restarts resume this cluster by its fingerprint (kube-system UID ${fingerprint})` : 'the cluster fingerprint cannot be read either: a restart registers a new cluster';
  return { type: 'IdentityCached', status: 'False', reason: 'NotCached', message: `${problem ?? 'the state ConfigMap could not be written'}; ${resumes}` };
}

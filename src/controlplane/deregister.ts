// `gateway-operator deregister`: on uninstall, tell the control plane that this cluster's routes are gone,
// so no route outlives the operator that owned it. Order matters: the operator must be stopped first
// (else it would send its snapshot again on its next reconnect), so this optionally scales the operator's
// Deployment to zero, waits until no replica holds the leader Lease, then resumes the cluster's identity
// and sends an empty snapshot (routes_sync_begin + routes_sync_end), and succeeds only on the control plane's acknowledgement.
import type { AppsClient, CoordinationClient, Lease } from '../operator/clients.js';
import type { Logger } from '../log.js';
import { apiErrorCode, apiErrorMessage } from '../operator/apply.js';
import { RevisionClock } from './revision.js';
import { ControlPlaneClient, type ControlPlaneClientOptions } from './client.js';
import type { IdentityStore } from './identity.js';
import type { InboundMessage } from './protocol.js';

export interface DeregisterOptions {
  apps: Pick<AppsClient, 'readNamespacedDeploymentScale' | 'replaceNamespacedDeploymentScale'>;
  coordination: Pick<CoordinationClient, 'readNamespacedLease'>;
  identity: IdentityStore;
  connection: Omit<ControlPlaneClientOptions, 'identity' | 'heartbeat' | 'k8sVersion' | 'logger'>;
  namespace: string;
  leaseName: string;
  /** Scale this Deployment (in `namespace`) to zero first. */
  stopDeployment?: string;
  timeoutMs: number;
  logger: Logger;
  pollMs?: number;
}

export type DeregisterResult = { outcome: 'deregistered'; clusterId: string } | { outcome: 'never-registered' };

const LOG = { controller: 'deregister' };

/** True when nobody holds the Lease: absent, released (no holder), or not renewed within its duration. */
export function leaseIsFree(lease: Lease | undefined, now = Date.now()): boolean {
  const spec = lease?.spec;
  if (!spec?.holderIdentity) return true;
  const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
  return renewed + (spec.leaseDurationSeconds ?? 15) * 1000 < now;
}

export async function deregister(options: DeregisterOptions): Promise<DeregisterResult> {
  const deadline = Date.now() + options.timeoutMs;
  const { namespace, logger } = options;
  const remaining = (): number => deadline - Date.now();
  const pause = (): Promise<void> => new Promise((r) => setTimeout(r, options.pollMs ?? 500));

  if (options.stopDeployment) {
    const name = options.stopDeployment;
    try {
      const scale = await options.apps.readNamespacedDeploymentScale({ name, namespace });
      if (scale.spec?.replicas !== 0) {
        await options.apps.replaceNamespacedDeploymentScale({ name, namespace, body: { ...scale, spec: { replicas: 0 } } });
      }
      logger.info('scaled the operator to zero', { ...LOG, namespace, name });
    } catch (err) {
      if (apiErrorCode(err) !== 404) throw new Error(`Deployment ${namespace}/${name}: scale to 0: ${apiErrorMessage(err)}`);
      logger.info('the operator Deployment is already gone', { ...LOG, namespace, name });
    }
  }

  for (;;) {
    let lease: Lease | undefined;
    try {
      lease = await options.coordination.readNamespacedLease({ name: options.leaseName, namespace });
    } catch (err) {
      if (apiErrorCode(err) !== 404) throw new Error(`Lease ${namespace}/${options.leaseName}: read: ${apiErrorMessage(err)}`);
    }
    if (leaseIsFree(lease)) break;
    if (remaining() <= 0) {
      throw new Error(
        `Lease ${namespace}/${options.leaseName} is still held by ${lease?.spec?.holderIdentity}: stop the operator first (scale its Deployment to 0, or pass --stop-deployment)`,
      );
    }
    await pause();
  }

  const identity = await options.identity.load();
  if (!identity.clusterId) {
    logger.info('this cluster never registered with the control plane; nothing to deregister', { ...LOG, namespace });
    return { outcome: 'never-registered' };
  }
  return sendEmptySnapshot(options, remaining());
}

function sendEmptySnapshot(options: DeregisterOptions, timeoutMs: number): Promise<DeregisterResult> {
  const { logger } = options;
  const requestId = `deregister-${Date.now()}`;
  let revision = 0;
  const client = new ControlPlaneClient({
    ...options.connection,
    identity: options.identity,
    logger,
    k8sVersion: () => 'unknown',
    heartbeat: () => ({ is_private: true, routing_mode: 'tunnel', gateway_routes: 0, k8s_version: 'unknown', agent_version: options.connection.agentVersion }),
  });
  return new Promise<DeregisterResult>((resolve, reject) => {
    const finish = (outcome: { result?: DeregisterResult; error?: Error }): void => {
      clearTimeout(timer);
      void client.stop().finally(() => (outcome.error ? reject(outcome.error) : resolve(outcome.result as DeregisterResult)));
    };
    const timer = setTimeout(
      () => finish({ error: new Error(`no acknowledgement from the control plane within ${timeoutMs} ms (${client.lastError ?? client.state})`) }),
      Math.max(timeoutMs, 1_000),
    );
    client.setHandlers({
      onReady: (session) => {
        // Above whatever the control plane applied for this cluster, so the empty snapshot is never stale.
        const clock = new RevisionClock(session.resumeRevision);
        revision = clock.next();
        client.send('routes_sync_begin', { cluster_uuid: session.clusterUuid, revision, routing_mode: 'tunnel' }, requestId);
        client.send('routes_sync_end', { revision, chunks: 0, routes: 0 }, requestId);
        logger.info('sent an empty route snapshot', { ...LOG, clusterId: session.clusterId, revision });
      },
      onMessage: (message: InboundMessage) => {
        if (message.request_id !== requestId) return;
        if (message.type === 'routes_ack') {
          const clusterId = client.session?.clusterId ?? '';
          logger.info('the control plane removed every route of this cluster', { ...LOG, clusterId });
          finish({ result: { outcome: 'deregistered', clusterId } });
        } else if (message.type === 'routes_nack' || message.type === 'error') {
          finish({ error: new Error(`the control plane refused the empty snapshot: ${message.payload.code} ${message.payload.message ?? ''}`.trim()) });
        }
      },
    });
    client.onStateChange(() => {
      if (client.state === 'unauthorized') finish({ error: new Error(client.lastError ?? 'the control plane refused the token') });
    });
    client.claimSync(); // the empty snapshot is a route message: only the sync connection sends one
    client.start();
  });
}

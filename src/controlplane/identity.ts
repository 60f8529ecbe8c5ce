// The cluster identity the control plane gave us, kept in a ConfigMap in the operator's namespace so a
// restarted (or newly elected) operator resumes as the same cluster instead of registering a new one. The
// ConfigMap is a cache: the cluster's fingerprint (its kube-system Namespace's UID, which lives as long as
// the cluster) is sent at every registration too, so a missing or unwritable ConfigMap (no namespace, RBAC,
// a read-only apiserver) still resumes the same cluster.
import type { CoreClient } from '../operator/clients.js';
import { apiErrorCode, apiErrorMessage } from '../operator/apply.js';

export interface ClusterIdentity {
  clusterId?: string;
  clusterUuid?: string;
}

export interface IdentityStore {
  load(): Promise<ClusterIdentity>;
  save(identity: Required<ClusterIdentity>): Promise<void>;
}

export const STATE_CONFIGMAP = 'gateway-operator-state';

/** The Namespace whose UID fingerprints the cluster: every cluster has it, and it is never recreated. */
export const FINGERPRINT_NAMESPACE = 'kube-system';

/**
 * The cluster's fingerprint, read once and kept (a UID never changes); undefined while it cannot be read
 * (RBAC, the apiserver down), asked again at the next registration.
 */
export function clusterFingerprint(core: Pick<CoreClient, 'readNamespace'>, onError: (err: Error) => void): () => Promise<string | undefined> {
  let known: string | undefined;
  return async () => {
    if (known) return known;
    try {
      known = (await core.readNamespace({ name: FINGERPRINT_NAMESPACE })).metadata?.uid;
    } catch (err) {
      onError(new Error(`Namespace ${FINGERPRINT_NAMESPACE}: read: ${apiErrorMessage(err)}`));
    }
    return known;
  };
}

export class ConfigMapIdentityStore implements IdentityStore {
  constructor(private readonly core: Pick<CoreClient, 'readNamespacedConfigMap' | 'createNamespacedConfigMap' | 'replaceNamespacedConfigMap'>, private readonly namespace: string) {}

  async load(): Promise<ClusterIdentity> {
    try {
      const cm = await this.core.readNamespacedConfigMap({ name: STATE_CONFIGMAP, namespace: this.namespace });
      return { clusterId: cm.data?.cluster_id, clusterUuid: cm.data?.cluster_uuid };
    } catch (err) {
      if (apiErrorCode(err) === 404) return {};
      throw new Error(`ConfigMap ${this.namespace}/${STATE_CONFIGMAP}: read: ${apiErrorMessage(err)}`);
    }
  }

  async save(identity: Required<ClusterIdentity>): Promise<void> {
    const body = {
      metadata: { name: STATE_CONFIGMAP, namespace: this.namespace, labels: { 'app.kubernetes.io/managed-by': 'gateway-operator' } },
      data: { cluster_id: identity.clusterId, cluster_uuid: identity.clusterUuid },
    };
    try {
      await this.core.replaceNamespacedConfigMap({ name: STATE_CONFIGMAP, namespace: this.namespace, body });
    } catch (err) {
      if (apiErrorCode(err) !== 404) throw new Error(`ConfigMap ${this.namespace}/${STATE_CONFIGMAP}: save: ${apiErrorMessage(err)}`);
      await this.core.createNamespacedConfigMap({ namespace: this.namespace, body }).catch(async (createErr: unknown) => {
        // Every replica registers and saves: another one created it first (409), so write over it.
        if (apiErrorCode(createErr) === 409) return void (await this.core.replaceNamespacedConfigMap({ name: STATE_CONFIGMAP, namespace: this.namespace, body }));
        throw new Error(`ConfigMap ${this.namespace}/${STATE_CONFIGMAP}: create: ${apiErrorMessage(createErr)}`);
      });
    }
  }
}

/** For runs without a cluster to keep state in (tests of the client alone). */
export class MemoryIdentityStore implements IdentityStore {
  private identity: ClusterIdentity = {};
  async load(): Promise<ClusterIdentity> {
    return { ...this.identity };
  }
  async save(identity: Required<ClusterIdentity>): Promise<void> {
    this.identity = { ...identity };
  }
}

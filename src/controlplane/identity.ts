// The cluster identity the control plane gave us, kept in a ConfigMap in the operator's namespace so a
// restarted (or newly elected) operator resumes as the same cluster instead of registering a new one.
import type { CoreV1Api } from '@kubernetes/client-node';
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

export class ConfigMapIdentityStore implements IdentityStore {
  constructor(private readonly core: CoreV1Api, private readonly namespace: string) {}

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
      await this.core.createNamespacedConfigMap({ namespace: this.namespace, body }).catch((createErr: unknown) => {
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

// What the informer cache keeps of an object: everything a controller reads, without field ownership and
// kubectl's copy of the object (their memory is measured by `make bench`: heap at 10,000 GatewayRoutes).
import { describe, expect, it } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import { silentLogger } from '../../../src/log.js';
import { Informer, type KubeObject } from '../../../src/operator/informer.js';
import { INGRESS } from '../../../src/operator/kinds.js';

function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
  return kc;
}

const kept = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  spec: { rules: [{ host: 'a.example.com' }] },
  status: { conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'all good', lastTransitionTime: '2026-12-01T00:00:00Z' }] },
};
const metadata = {
  name: 'web',
  namespace: 'shop',
  uid: 'u1',
  resourceVersion: '7',
  labels: { app: 'web' },
  ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'u0' }],
};

describe('the informer cache', () => {
  it.each([
    ['with managedFields and last-applied', { managedFields: [{ manager: 'kubectl' }], annotations: { team: 'payments', 'kubectl.kubernetes.io/last-applied-configuration': '{"big":true}' } }, { team: 'payments' }],
    ['without them', { annotations: { team: 'payments' } }, { team: 'payments' }],
    ['with only last-applied', { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } }, {}],
  ])('keeps everything a controller reads of an object %s', (_what, extra, annotations) => {
    const informer = new Informer<KubeObject>(kubeConfig(), { kind: INGRESS, logger: silentLogger() });
    informer.observe(structuredClone({ ...kept, metadata: { ...metadata, ...extra } }) as KubeObject);
    const cached = informer.get('shop/web') as unknown as Record<string, unknown>;
    expect(cached).toEqual({ ...kept, metadata: { ...metadata, annotations } });
  });
});

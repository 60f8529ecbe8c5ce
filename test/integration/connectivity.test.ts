// Private/public detection into ClusterConnectivity/cluster, re-detected as the ingress controller's
// Service changes, flowing into heartbeats and route status without a restart.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Watch, type V1Service } from '@kubernetes/client-node';
import { CLUSTER_CONNECTIVITY, GROUP, VERSION, type ClusterConnectivity } from '../../src/api/v1alpha1/types.js';
import type { ReferenceControlPlane } from '../../src/reference-control-plane/server.js';
import { clients, createTestNamespace, deleteTestNamespace, eventually } from '../support/kube.js';
import { condition, createIngress, createService, getGatewayRoute, ingressObject, serviceObject } from '../support/fixtures.js';
import { clusterByName, startControlPlane } from '../support/control-plane.js';
import { OperatorPool, type OperatorProcess } from '../support/operator.js';

const { core, custom } = clients();
const operators = new OperatorPool();
const NGINX_NS = 'ingress-nginx';
let ns: string;
let cp: ReferenceControlPlane;
let operator: OperatorProcess;

async function connectivity(): Promise<ClusterConnectivity | undefined> {
  try {
    return (await custom.getClusterCustomObject({ group: GROUP, version: VERSION, plural: CLUSTER_CONNECTIVITY.plural, name: 'cluster' })) as ClusterConnectivity;
  } catch {
    return undefined;
  }
}

async function waitForStatus(what: string, check: (s: NonNullable<ClusterConnectivity['status']>) => boolean, timeoutMs = 20_000) {
  return eventually(what, async () => {
    const status = (await connectivity())?.status;
    return status && check(status) ? status : undefined;
  }, timeoutMs);
}

async function patchService(mutate: (s: V1Service) => void, subresource?: 'status'): Promise<void> {
  const current = await core.readNamespacedService({ namespace: NGINX_NS, name: 'ingress-nginx-controller' });
  mutate(current);
  if (subresource) await core.replaceNamespacedServiceStatus({ namespace: NGINX_NS, name: 'ingress-nginx-controller', body: current });
  else await core.replaceNamespacedService({ namespace: NGINX_NS, name: 'ingress-nginx-controller', body: current });
}

beforeAll(async () => {
  await custom.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: CLUSTER_CONNECTIVITY.plural, name: 'cluster' }).catch(() => undefined);
  await core.createNamespace({ body: { metadata: { name: NGINX_NS } } }).catch(() => undefined);
  ns = await createTestNamespace('conn');
  await createService(serviceObject(ns, 'web', [{ port: 80 }]));
  await createIngress(ingressObject(ns, 'app', [{ host: 'app.example.com', paths: [{ service: 'web', port: 80 }] }]));
  cp = await startControlPlane({ token: 't' });
  operator = operators.start(['--watch-namespaces', ns, '--namespace', ns, '--control-plane-url', cp.url, '--token', 't', '--cluster-name', ns, '--heartbeat-interval-ms', '500']);
  await operator.registered();
});

afterAll(async () => {
  await operators.stopAll();
  await cp.close();
  await core.deleteNamespacedService({ namespace: NGINX_NS, name: 'ingress-nginx-controller' }).catch(() => undefined);
  await custom.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: CLUSTER_CONNECTIVITY.plural, name: 'cluster' }).catch(() => undefined);
  await deleteTestNamespace(ns);
});

it('no ingress controller Service → private, with the reason', async () => {
  const status = await waitForStatus('private, no Service, connected', (s) => s.reason === 'no ingress controller Service found' && s.controlPlane?.connected === true);
  expect(status).toMatchObject({ isPrivate: true, routingMode: 'tunnel' });
  expect(condition({ status } as never, 'Detected')).toMatchObject({ status: 'True', reason: 'Private' });
  expect(status.controlPlane?.connected).toBe(true);
  // Every test file's operator writes this one cluster-scoped object: check what this file's operator wrote.
  const written = await operator.waitForLog('its own status write', (l) => l.msg === 'ClusterConnectivity status written' && l.clusterId !== undefined);
  expect(written.clusterId).toBe(clusterByName(cp, ns)?.cluster_id);
});

it('heartbeats do not rewrite ClusterConnectivity: its status changes only when the decision or the connection does', async () => {
  await waitForStatus('connected', (s) => s.controlPlane?.connected === true);
  await operator.settled();
  const before = (await connectivity())!.metadata!.resourceVersion!;
  let writes = 0;
  const watch = await new Watch(clients().kc).watch(
    `/apis/${GROUP}/${VERSION}/${CLUSTER_CONNECTIVITY.plural}`,
    { resourceVersion: before, fieldSelector: 'metadata.name=cluster' },
    (type) => {
      if (type === 'MODIFIED') writes++;
    },
    () => undefined,
  );
  try {
    // Heartbeats (every 500 ms here), and then a periodic connectivity reconcile (every 10 s) after them.
    const uuid = clusterByName(cp, ns)!.cluster_uuid;
    const mark = cp.received.length;
    await eventually('4 heartbeats', async () => cp.received.slice(mark).filter((m) => m.cluster === uuid && m.type === 'heartbeat').length >= 4);
    const connectivityReconciles = () => operator.metric('gateway_operator_reconcile_total', { controller: 'connectivity', result: 'success' });
    const reconciled = await connectivityReconciles();
    await eventually('a connectivity reconcile after them', async () => (await connectivityReconciles()) > reconciled, 15_000);
    expect(writes).toBe(0);
    expect((await connectivity())!.metadata!.resourceVersion).toBe(before);
    const metrics = (await operator.get('/metrics')).body as string;
    expect(metrics).toMatch(/^gateway_operator_controlplane_last_heartbeat_timestamp_seconds \d/m);
  } finally {
    watch.abort();
  }
}, 40_000);

it('NodePort ingress-nginx Service → private / tunnel', async () => {
  await core.createNamespacedService({
    namespace: NGINX_NS,
    body: { metadata: { name: 'ingress-nginx-controller', namespace: NGINX_NS }, spec: { type: 'NodePort', ports: [{ name: 'http', port: 80 }, { name: 'https', port: 443 }] } },
  });
  const status = await waitForStatus('NodePort decided', (s) => (s.reason ?? '').includes('is NodePort'));
  expect(status).toMatchObject({ isPrivate: true, routingMode: 'tunnel' });
  expect(status.ingressController).toEqual({ namespace: NGINX_NS, name: 'ingress-nginx-controller', type: 'ingress-nginx', serviceType: 'NodePort' });
});

it('LoadBalancer without an address → private after the timeout, then public once an address appears, without restart', async () => {
  await custom.patchClusterCustomObject({
    group: GROUP, version: VERSION, plural: CLUSTER_CONNECTIVITY.plural, name: 'cluster',
    body: [{ op: 'add', path: '/spec', value: { detectionTimeoutSeconds: 2 } }],
  });
  await patchService((s) => (s.spec!.type = 'LoadBalancer'));
  await waitForStatus('timed out waiting', (s) => (s.reason ?? '').includes('got no address within 2 s'));

  await patchService((s) => (s.status = { loadBalancer: { ingress: [{ ip: '203.0.113.10' }] } }), 'status');
  const status = await waitForStatus('public', (s) => s.isPrivate === false);
  expect(status).toMatchObject({ routingMode: 'direct', publicEndpoint: '203.0.113.10:443' });
  await eventually('heartbeat says direct', async () => clusterByName(cp, ns)?.routing_mode === 'direct' && clusterByName(cp, ns)?.is_private === false);
  await eventually('route status says direct', async () => (await getGatewayRoute(ns, 'app'))?.status?.routingMode === 'direct');
  expect(operator.running).toBe(true);
}, 40_000);

it('a private LoadBalancer address → private', async () => {
  await patchService((s) => (s.status = { loadBalancer: { ingress: [{ ip: '10.0.0.7' }] } }), 'status');
  const status = await waitForStatus('private address', (s) => s.isPrivate === true);
  expect(status.reason).toContain('only the private address 10.0.0.7');
  expect(status.publicEndpoint).toBeUndefined();
});

it('spec.mode forces the routing mode', async () => {
  await custom.patchClusterCustomObject({
    group: GROUP, version: VERSION, plural: CLUSTER_CONNECTIVITY.plural, name: 'cluster',
    body: [{ op: 'add', path: '/spec/mode', value: 'direct' }],
  });
  const status = await waitForStatus('forced direct', (s) => s.routingMode === 'direct');
  expect(status.reason).toContain('forced by spec.mode=direct');
});

// Private/public detection into ClusterConnectivity/cluster, re-detected as the ingress controller's
// Service changes, flowing into heartbeats and route status without a restart.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Watch, type V1LoadBalancerStatus, type V1ServiceSpec } from '@kubernetes/client-node';
import { CLUSTER_CONNECTIVITY, GROUP, VERSION, type ClusterConnectivity, type ClusterConnectivitySpec } from '../../src/api/v1alpha1/types.js';
import type { ReferenceControlPlane } from '../../src/reference-control-plane/server.js';
import { clients, eventually, testKubeConfig } from '../support/kube.js';
import { condition, getGatewayRoute, ingressObject, serviceObject } from '../support/fixtures.js';
import { clusterByName, startControlPlane } from '../support/control-plane.js';
import { operatorArgs, OperatorPool, type OperatorProcess } from '../support/operator.js';
import { TestCluster } from '../support/test-cluster.js';

// ClusterConnectivity/cluster and the ingress-nginx Service are cluster-wide: this file owns them on a
// control plane of its own, so no other file's operator writes them or is steered by them.
const cluster = new TestCluster({ controllerManager: false });
const operators = new OperatorPool();
const NGINX_NS = 'ingress-nginx';
const NGINX_SERVICE = 'ingress-nginx-controller';
const ns = 'conn';
let kube: ReturnType<typeof clients>;
let cp: ReferenceControlPlane;
let operator: OperatorProcess;

async function connectivity(): Promise<ClusterConnectivity | undefined> {
  try {
    return (await kube.custom.getClusterCustomObject({ group: GROUP, version: VERSION, plural: CLUSTER_CONNECTIVITY.plural, name: 'cluster' })) as ClusterConnectivity;
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

/** Puts the inputs of the decision in the state a test needs, whatever an earlier test left. */
async function givenInputs(inputs: { spec?: ClusterConnectivitySpec; service?: V1ServiceSpec; loadBalancer?: V1LoadBalancerStatus }): Promise<void> {
  await eventually('ClusterConnectivity/cluster created by the operator', connectivity);
  // Read, change, write; the operator writes the status meanwhile (a 409 conflict): read again and retry.
  await eventually('spec replaced', async () => {
    const current = await connectivity();
    return kube.custom.replaceClusterCustomObject({ group: GROUP, version: VERSION, plural: CLUSTER_CONNECTIVITY.plural, name: 'cluster', body: { ...current, spec: inputs.spec ?? {} } }).then(
      () => true,
      (err: unknown) => {
        if ((err as { code?: number }).code === 409) return false;
        throw err;
      },
    );
  });
  await kube.core.deleteNamespacedService({ namespace: NGINX_NS, name: NGINX_SERVICE }).catch(() => undefined);
  if (!inputs.service) return;
  const created = await kube.core.createNamespacedService({ namespace: NGINX_NS, body: { metadata: { name: NGINX_SERVICE, namespace: NGINX_NS }, spec: inputs.service } });
  if (inputs.loadBalancer) await kube.core.replaceNamespacedServiceStatus({ namespace: NGINX_NS, name: NGINX_SERVICE, body: { ...created, status: { loadBalancer: inputs.loadBalancer } } });
}

/** Counts the status writes (MODIFIED events) to ClusterConnectivity/cluster from its current version on. */
async function countWrites(during: (from: string) => Promise<void>): Promise<number> {
  const from = (await connectivity())!.metadata!.resourceVersion!;
  let writes = 0;
  const watch = await new Watch(kube.kc).watch(`/apis/${GROUP}/${VERSION}/${CLUSTER_CONNECTIVITY.plural}`, { resourceVersion: from, fieldSelector: 'metadata.name=cluster' }, (type) => {
    if (type === 'MODIFIED') writes++;
  }, () => undefined);
  try {
    await during(from);
  } finally {
    watch.abort();
  }
  return writes;
}

const ownClusterId = () => clusterByName(cp, ns)?.cluster_id;

const LOAD_BALANCER: V1ServiceSpec = { type: 'LoadBalancer', ports: [{ name: 'http', port: 80 }, { name: 'https', port: 443 }] };

beforeAll(async () => {
  const info = await cluster.start();
  kube = clients(testKubeConfig(info.kubeconfig));
  await kube.core.createNamespace({ body: { metadata: { name: NGINX_NS } } });
  await kube.core.createNamespace({ body: { metadata: { name: ns } } });
  await kube.core.createNamespacedService({ namespace: ns, body: serviceObject(ns, 'web', [{ port: 80 }]) });
  await kube.networking.createNamespacedIngress({ namespace: ns, body: ingressObject(ns, 'app', [{ host: 'app.example.com', paths: [{ service: 'web', port: 80 }] }]) });
  cp = await startControlPlane({ token: 't' });
  operator = operators.start(operatorArgs(ns, { cp }, ['--heartbeat-interval-ms', '500']), { KUBECONFIG: info.kubeconfig });
  await operator.registered();
}, 60_000);

afterAll(async () => {
  await operators.stopAll();
  await cp?.close();
  await cluster.stop();
});

it('no ingress controller Service → private, with the reason', async () => {
  await givenInputs({});
  // Written by this file's operator (another test's second installation may have written last).
  const status = await waitForStatus('private, no Service, connected', (s) => s.reason === 'no ingress controller Service found' && s.controlPlane?.connected === true && s.controlPlane.clusterId === ownClusterId());
  expect(status).toMatchObject({ isPrivate: true, routingMode: 'tunnel' });
  expect(condition({ status } as never, 'Detected')).toMatchObject({ status: 'True', reason: 'Private' });
  expect(status.controlPlane?.clusterId).toBe(clusterByName(cp, ns)?.cluster_id);
  // What kstatus and Argo CD read: decided for the current generation, nothing in progress or stalled.
  const object = (await connectivity())!;
  expect(status.observedGeneration).toBe(object.metadata?.generation);
  expect([condition({ status } as never, 'Ready')?.status, condition({ status } as never, 'Reconciling')?.status, condition({ status } as never, 'Stalled')?.status]).toEqual(['True', 'False', 'False']);
});

it('heartbeats do not rewrite ClusterConnectivity: its status changes only when the decision or the connection does', async () => {
  await givenInputs({});
  await waitForStatus('settled on no Service, connected, written by this operator', (s) =>
    s.reason === 'no ingress controller Service found' && s.controlPlane?.connected === true && s.controlPlane.clusterId === ownClusterId());
  await operator.settled();
  const writes = await countWrites(async (before) => {
    // Heartbeats (every 500 ms here), and then a periodic connectivity reconcile (every 10 s) after them.
    const uuid = clusterByName(cp, ns)!.cluster_uuid;
    const mark = cp.receivedCount;
    await eventually('4 heartbeats', async () => cp.receivedSince(mark).filter((m) => m.cluster === uuid && m.type === 'heartbeat').length >= 4);
    const connectivityReconciles = () => operator.metric('gateway_operator_reconcile_total', { controller: 'connectivity', result: 'success' });
    const reconciled = await connectivityReconciles();
    await eventually('a connectivity reconcile after them', async () => (await connectivityReconciles()) > reconciled, 15_000);
    expect((await connectivity())!.metadata!.resourceVersion).toBe(before);
  });
  expect(writes).toBe(0);
  const metrics = (await operator.get('/metrics')).body as string;
  expect(metrics).toMatch(/^gateway_operator_controlplane_last_heartbeat_timestamp_seconds \d/m);
}, 40_000);

it('NodePort ingress-nginx Service → private / tunnel', async () => {
  await givenInputs({ service: { type: 'NodePort', ports: [{ name: 'http', port: 80 }, { name: 'https', port: 443 }] } });
  const status = await waitForStatus('NodePort decided', (s) => (s.reason ?? '').includes('is NodePort'));
  expect(status).toMatchObject({ isPrivate: true, routingMode: 'tunnel' });
  expect(status.ingressController).toEqual({ kind: 'Service', namespace: NGINX_NS, name: NGINX_SERVICE, type: 'ingress-nginx', serviceType: 'NodePort' });
});

it('LoadBalancer without an address → private after the timeout, then public once an address appears, without restart', async () => {
  await givenInputs({ spec: { detectionTimeoutSeconds: 2 }, service: LOAD_BALANCER });
  await waitForStatus('timed out waiting', (s) => (s.reason ?? '').includes('got no address within 2 s'));

  const current = await kube.core.readNamespacedService({ namespace: NGINX_NS, name: NGINX_SERVICE });
  await kube.core.replaceNamespacedServiceStatus({ namespace: NGINX_NS, name: NGINX_SERVICE, body: { ...current, status: { loadBalancer: { ingress: [{ ip: '203.0.113.10' }] } } } });
  const status = await waitForStatus('public', (s) => s.isPrivate === false);
  expect(status).toMatchObject({ routingMode: 'direct', publicEndpoint: '203.0.113.10:443' });
  await eventually('heartbeat says direct', async () => clusterByName(cp, ns)?.routing_mode === 'direct' && clusterByName(cp, ns)?.is_private === false);
  await eventually('route status says direct', async () => (await getGatewayRoute(ns, 'app', kube.custom))?.status?.routingMode === 'direct');
  expect(operator.running).toBe(true);
}, 40_000);

it('a private LoadBalancer address → private', async () => {
  await givenInputs({ service: LOAD_BALANCER, loadBalancer: { ingress: [{ ip: '10.0.0.7' }] } });
  const status = await waitForStatus('private address', (s) => (s.reason ?? '').includes('10.0.0.7'));
  expect(status.isPrivate).toBe(true);
  expect(status.reason).toContain('only the private address 10.0.0.7');
  expect(status.publicEndpoint).toBeUndefined();
});

it('a LoadBalancer hostname is judged by what it resolves to: one resolving only to private addresses → private', async () => {
  await givenInputs({ service: LOAD_BALANCER, loadBalancer: { ingress: [{ hostname: 'localhost' }] } });
  const status = await waitForStatus('hostname judged', (s) => (s.reason ?? '').includes('hostname localhost'));
  expect(status.isPrivate).toBe(true);
  expect(status.reason).toMatch(/hostname localhost resolving only to private addresses \(.*127\.0\.0\.1.*\)/);
});

it.each<{ kind: string; namespace: string; name: string; labels: Record<string, string> }>([
  { kind: 'istio', namespace: 'istio-system', name: 'istio-ingressgateway', labels: { istio: 'ingressgateway' } },
  { kind: 'envoy-gateway', namespace: 'envoy-gateway-system', name: 'envoy-default-eg-1a2b3c4d', labels: { 'gateway.envoyproxy.io/owning-gateway-name': 'eg' } },
  { kind: 'nginx-gateway-fabric', namespace: 'nginx-gateway', name: 'nginx-gateway', labels: { 'app.kubernetes.io/name': 'nginx-gateway' } },
  { kind: 'cilium', namespace: 'kube-system', name: 'cilium-ingress', labels: { 'cilium.io/ingress': 'true' } },
])('finds a $kind data plane Service and records which one decided', async ({ kind, namespace, name, labels }) => {
  await givenInputs({});
  await kube.core.createNamespace({ body: { metadata: { name: namespace } } }).catch(() => undefined);
  const created = await kube.core.createNamespacedService({ namespace, body: { metadata: { name, namespace, labels }, spec: LOAD_BALANCER } });
  try {
    await kube.core.replaceNamespacedServiceStatus({ namespace, name, body: { ...created, status: { loadBalancer: { ingress: [{ ip: '198.51.100.20' }] } } } });
    const status = await waitForStatus(`decided from ${namespace}/${name}`, (s) => s.ingressController?.name === name && s.isPrivate === false);
    expect(status.ingressController).toEqual({ kind: 'Service', namespace, name, type: kind, serviceType: 'LoadBalancer' });
    expect(status.publicEndpoint).toBe('198.51.100.20:443');
  } finally {
    await kube.core.deleteNamespacedService({ namespace, name });
  }
});

it("a tenant's LoadBalancer labelled as ingress-nginx, in the tenant's namespace, does not decide: the cluster stays private", async () => {
  await givenInputs({});
  await waitForStatus('settled on no Service', (s) => s.reason === 'no ingress controller Service found');
  const namespace = `${ns}-tenant`;
  await kube.core.createNamespace({ body: { metadata: { name: namespace } } });
  const name = 'fake-ingress-nginx';
  const created = await kube.core.createNamespacedService({ namespace, body: { metadata: { name, namespace, labels: { 'app.kubernetes.io/name': 'ingress-nginx' } }, spec: LOAD_BALANCER } });
  await kube.core.replaceNamespacedServiceStatus({ namespace, name, body: { ...created, status: { loadBalancer: { ingress: [{ ip: '198.51.100.66' }] } } } });
  try {
    // The same Service in a trusted namespace decides at once (the control): the tenant's one must not.
    const trusted = await kube.core.createNamespacedService({ namespace: 'kube-system', body: { metadata: { name, namespace: 'kube-system', labels: { 'app.kubernetes.io/name': 'ingress-nginx' } }, spec: LOAD_BALANCER } });
    await kube.core.replaceNamespacedServiceStatus({ namespace: 'kube-system', name, body: { ...trusted, status: { loadBalancer: { ingress: [{ ip: '198.51.100.77' }] } } } });
    const decided = await waitForStatus('decided by the trusted Service', (s) => s.isPrivate === false);
    expect(decided.ingressController).toMatchObject({ namespace: 'kube-system', name });
    expect(decided.publicEndpoint).toBe('198.51.100.77:443');
    await kube.core.deleteNamespacedService({ namespace: 'kube-system', name });
    const status = await waitForStatus('private again without the trusted Service', (s) => s.reason === 'no ingress controller Service found');
    expect(status.isPrivate).toBe(true);
    expect(JSON.stringify(status)).not.toContain('198.51.100.66');
  } finally {
    await kube.core.deleteNamespacedService({ namespace, name }).catch(() => undefined);
    await kube.core.deleteNamespacedService({ namespace: 'kube-system', name }).catch(() => undefined);
  }
});

/** Another implementation's Gateway (Envoy Gateway, say), created in `namespace`; `publish` writes the data plane's addresses into its status, as that implementation would. */
async function otherGateway(namespace: string, name: string) {
  await kube.core.createNamespace({ body: { metadata: { name: namespace } } }).catch(() => undefined);
  const target = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'gateways', namespace, name };
  await kube.custom.createNamespacedCustomObject({
    ...target,
    body: {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name, namespace },
      spec: { gatewayClassName: 'envoy', listeners: [{ name: 'https', port: 443, protocol: 'HTTPS', tls: { certificateRefs: [{ name: 'c' }] } }] },
    },
  });
  return {
    publish: async (addresses: Array<{ type: string; value: string }>) => {
      const current = (await kube.custom.getNamespacedCustomObject(target)) as Record<string, unknown> & { status?: Record<string, unknown> };
      await kube.custom.replaceNamespacedCustomObjectStatus({ ...target, body: { ...current, status: { ...current.status, addresses } } });
    },
    delete: () => kube.custom.deleteNamespacedCustomObject(target).catch(() => undefined),
  };
}

it('a Gateway API Gateway in a trusted namespace with a published public address decides, recorded as the Gateway; its address going away makes the cluster private again', async () => {
  await givenInputs({});
  // Where Gateway data planes are installed (as for labelled Services): not a tenant's namespace.
  const gatewayNs = 'gateway-system';
  const { publish, delete: remove } = await otherGateway(gatewayNs, 'eg');
  try {
    await publish([{ type: 'IPAddress', value: '198.51.100.30' }]);
    const status = await waitForStatus('decided from the Gateway', (s) => s.ingressController?.kind === 'Gateway' && s.isPrivate === false);
    expect(status.ingressController).toEqual({ kind: 'Gateway', namespace: gatewayNs, name: 'eg', type: 'gateway-api' });
    expect(status.publicEndpoint).toBe('198.51.100.30:443');
    expect(status.reason).toBe(`Gateway ${gatewayNs}/eg has public address 198.51.100.30`);

    await publish([{ type: 'IPAddress', value: '10.1.2.3' }]);
    const internal = await waitForStatus('the Gateway is internal now', (s) => s.isPrivate === true);
    expect(internal.ingressController?.kind).toBe('Gateway');
    expect(internal.reason).toBe(`Gateway ${gatewayNs}/eg has only the private address 10.1.2.3`);
  } finally {
    await remove();
  }
  await waitForStatus('no candidate left', (s) => s.reason === 'no ingress controller Service found');
});

it("a tenant's Gateway with a public address in an untrusted namespace does not switch the cluster to direct", async () => {
  await givenInputs({});
  await waitForStatus('settled on no Service', (s) => s.reason === 'no ingress controller Service found');
  // Sorted before gateway-system: were it a candidate, it would be the first public one and decide.
  const tenant = await otherGateway(`${ns}-tenant-gw`, 'eg');
  const trusted = await otherGateway('gateway-system', 'eg');
  try {
    await tenant.publish([{ type: 'IPAddress', value: '198.51.100.66' }]);
    // The same Gateway in a trusted namespace decides (the control): the tenant's one must not, before or after.
    await trusted.publish([{ type: 'IPAddress', value: '198.51.100.77' }]);
    const decided = await waitForStatus('decided by the trusted Gateway', (s) => s.isPrivate === false);
    expect(decided.ingressController).toEqual({ kind: 'Gateway', namespace: 'gateway-system', name: 'eg', type: 'gateway-api' });
    expect(decided.publicEndpoint).toBe('198.51.100.77:443');
    await trusted.delete();
    const status = await waitForStatus('private again without the trusted Gateway', (s) => s.reason === 'no ingress controller Service found');
    expect(status).toMatchObject({ isPrivate: true, routingMode: 'tunnel' });
    expect(status.ingressController).toBeUndefined();
    expect(JSON.stringify(status)).not.toContain('198.51.100.66');
    // A change to the tenant's Gateway alone still decides nothing.
    await tenant.publish([{ type: 'IPAddress', value: '198.51.100.67' }]);
    await operator.settled();
    expect(JSON.stringify((await connectivity())?.status)).not.toMatch(/198\.51\.100\.6[67]/);
  } finally {
    await tenant.delete();
    await trusted.delete();
  }
});

it('spec.mode forces the routing mode', async () => {
  await givenInputs({ spec: { mode: 'direct' } });
  const status = await waitForStatus('forced direct', (s) => (s.reason ?? '').includes('forced by spec.mode=direct'));
  expect(status.routingMode).toBe('direct');
  // A spec change is a new generation: the status says it was processed.
  expect(status.observedGeneration).toBe((await connectivity())!.metadata?.generation);
});

it('a second installation in the same cluster does not start a write war over the status', async () => {
  await givenInputs({});
  await waitForStatus('settled on no Service', (s) => s.reason === 'no ingress controller Service found');
  // Its own namespace (state ConfigMap) and name: another identity, so the two disagree on status.controlPlane.
  const home = `${ns}-second`;
  await kube.core.createNamespace({ body: { metadata: { name: home } } });
  const second = operators.start(operatorArgs(ns, { home, cp, clusterName: home }), { KUBECONFIG: cluster.kubeconfig });
  await second.registered();
  await second.waitForLog('its status write', (l) => l.msg === 'ClusterConnectivity status written' && l.clusterId !== undefined);
  const warned = await operator.waitForLog('the first one names the other writer', (l) => typeof l.msg === 'string' && l.msg.startsWith('ClusterConnectivity was written for another cluster id'));
  expect(warned.otherClusterId).toBe(clusterByName(cp, home)?.cluster_id);
  try {
    // Answering each other's writes would be hundreds a second; the periodic refresh (10 s) is at most one each.
    const writes = await countWrites(() => new Promise((r) => setTimeout(r, 3_000)));
    expect(writes).toBeLessThanOrEqual(2);
  } finally {
    await second.stop();
  }
}, 40_000);

// A restart must not create a second cluster: the operator's identity survives without its state ConfigMap
// (no namespace for it, or RBAC that denies it), because every registration carries the cluster's fingerprint
// (its kube-system Namespace's UID). Real apiservers, the reference control plane and gateway, a real backend.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gateway } from '../../src/reference-control-plane/gateway.js';
import type { ReferenceControlPlane } from '../../src/reference-control-plane/server.js';
import { startControlPlane } from '../support/control-plane.js';
import { clients, eventually, kubectl, TestNamespaces, testKubeConfig } from '../support/kube.js';
import { condition, createIngress, createService, ingressObject, listGatewayRoutes, serviceObject } from '../support/fixtures.js';
import { serviceAccountKubeconfig } from '../support/install.js';
import { operatorArgs, OperatorPool, type OperatorProcess } from '../support/operator.js';
import { TestCluster } from '../support/test-cluster.js';

const operators = new OperatorPool();
const namespaces = new TestNamespaces();
const kube = clients();
let cp: ReferenceControlPlane;
let gateway: Gateway;
let gatewayPort: number;
let backend: Server;
let backendPort: number;

function get(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: gatewayPort, path: '/', headers: { Host: host }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

const clustersNamed = (name: string) => cp.store.clusters().filter((c) => c.name === name);

/** An Ingress served through the tunnel by an operator of `ns` whose state namespace is `home`. */
async function servedNamespace(prefix: string): Promise<{ ns: string; host: string }> {
  const ns = await namespaces.create(prefix);
  const host = `${ns}.example.com`;
  await createService(serviceObject(ns, 'web', [{ port: 8080 }]));
  await createIngress(ingressObject(ns, 'web', [{ host, paths: [{ service: 'web', port: 8080 }] }]));
  return { ns, host };
}

/** An operator of `ns` registered as `name`, its state in `home`, reaching the backend through the tunnel. */
function servingArgs(ns: string, home: string, name = ns): string[] {
  return operatorArgs(ns, { home, cp, clusterName: name, reconnectMaxMs: 1000 }, ['--service-address', `${ns}/web=127.0.0.1:${backendPort}`]);
}

/** kill -9, then the same command again; answers 200 once more. Returns the cluster ids before and after. */
async function restartKeepsTheCluster(first: OperatorProcess, args: string[], env: Record<string, string>, ns: string, host: string): Promise<void> {
  await first.registered();
  await eventually('served through the tunnel', async () => (await get(host)) === 200);
  await eventually('Synced', async () => (await listGatewayRoutes(ns)).every((r) => condition(r, 'Synced')?.status === 'True'));
  await first.settled();
  const [before] = clustersNamed(ns);
  const versions = async () => (await listGatewayRoutes(ns)).map((r) => `${r.metadata.name}@${r.metadata.resourceVersion}`);
  const versionsBefore = await versions();

  first.kill();
  await first.exited;
  const second = operators.start(args, env);
  await second.registered();
  await eventually('served again after the restart', async () => (await get(host)) === 200, 15_000);
  await eventually('the snapshot acknowledged', async () => (await second.get('/api/health/detailed')).body.routes.unacknowledgedGatewayRoutes === 0);
  await second.settled();

  expect(clustersNamed(ns).map((c) => c.cluster_id)).toEqual([before!.cluster_id]);
  expect(await versions()).toEqual(versionsBefore);
  const connection = (await second.get('/api/health/detailed')).body.connection as { identity: { fingerprint?: string; cached?: boolean; problem?: string } };
  expect(connection.identity).toMatchObject({ cached: false, fingerprint: expect.any(String) });
  await second.stop();
}

beforeAll(async () => {
  backend = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  backendPort = (backend.address() as AddressInfo).port;
  cp = await startControlPlane({ token: 'identity-secret' });
  gateway = new Gateway(cp);
  gatewayPort = await gateway.listen();
});

afterAll(async () => {
  await operators.stopAll();
  await gateway?.close();
  await cp?.close();
  await new Promise((r) => backend?.close(r));
  await namespaces.deleteAll();
});

it("restarted without its state namespace, the operator resumes the same cluster: one cluster, the same id, no GatewayRoute written, 200 again", async () => {
  const { ns, host } = await servedNamespace('id-nons');
  const home = `${ns}-missing`; // never created: the ConfigMap cannot be written
  const args = servingArgs(ns, home);
  const first = operators.start(args);
  await first.registered();
  // Reported, not only logged: the detailed health and a Warning Event (ClusterConnectivity's IdentityCached
  // condition says the same; it is not read here, as other test files' operators write that singleton too).
  const reported = await eventually('the uncached identity reported', async () => {
    const identity = (await first.get('/api/health/detailed')).body.connection?.identity as { cached?: boolean; problem?: string } | undefined;
    return identity?.cached === false ? identity : undefined;
  });
  expect(reported.problem).toContain(`namespaces "${home}" not found`);
  await eventually('a Warning Event', async () =>
    (await kube.core.listNamespacedEvent({ namespace: 'default' })).items.find((e) => e.reason === 'IdentityNotCached' && (e.message ?? '').includes(home)));
  await restartKeepsTheCluster(first, args, {}, ns, host);
}, 120_000);

it('with RBAC that denies ConfigMaps, a restart resumes the same cluster all the same', async () => {
  const { ns, host } = await servedNamespace('id-rbac');
  // The operator's cluster-wide permissions (config/rbac/role.yaml), without the namespaced Role that grants ConfigMaps.
  const account = 'identity-no-configmaps';
  const applied = kubectl(['apply', '-f', '-'], [
    `apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: ${account}, namespace: ${ns}}`,
    `apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: ${ns}-${account}}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: gateway-operator}\nsubjects: [{kind: ServiceAccount, name: ${account}, namespace: ${ns}}]`,
  ].join('\n---\n'));
  expect(applied.stderr).toBe('');
  const role = kubectl(['apply', '-f', 'config/rbac/role.yaml']);
  expect(role.status).toBe(0);
  const { path } = await serviceAccountKubeconfig(ns, account);
  const denied = kubectl(['--kubeconfig', path, 'auth', 'can-i', 'create', 'configmaps', '-n', ns]);
  expect(denied.stdout.trim()).toBe('no');
  const args = servingArgs(ns, ns);
  const first = operators.start(args, { KUBECONFIG: path });
  await first.registered();
  await eventually('the refusal reported', async () => {
    const identity = (await first.get('/api/health/detailed')).body.connection?.identity as { cached?: boolean; problem?: string } | undefined;
    return identity?.cached === false && (identity.problem ?? '').includes('forbidden');
  });
  await restartKeepsTheCluster(first, args, { KUBECONFIG: path }, ns, host);
}, 120_000);

it('two operators with the same credential on two clusters (two fingerprints) stay two clusters', async () => {
  const other = new TestCluster({ controllerManager: false, gatewayApi: false });
  const info = await other.start();
  try {
    const { ns, host } = await servedNamespace('id-two');
    const name = ns;
    const here = operators.start(servingArgs(ns, ns, name));
    await here.registered();
    await eventually('served', async () => (await get(host)) === 200);
    // The same name (so the same token), no cached id, another apiserver: another kube-system UID, and an
    // Ingress of its own in a namespace of the same name.
    const otherKube = clients(testKubeConfig(info.kubeconfig));
    await otherKube.core.createNamespace({ body: { metadata: { name: ns } } });
    await otherKube.core.createNamespacedService({ namespace: ns, body: serviceObject(ns, 'web', [{ port: 8080 }]) });
    await otherKube.networking.createNamespacedIngress({ namespace: ns, body: ingressObject(ns, 'web', [{ host: `there-${host}`, paths: [{ service: 'web', port: 8080 }] }]) });
    const there = operators.start(servingArgs(ns, 'default', name), { KUBECONFIG: info.kubeconfig });
    await there.registered();
    const clusters = clustersNamed(name);
    expect(clusters).toHaveLength(2);
    expect(new Set(clusters.map((c) => c.cluster_id)).size).toBe(2);
    // Each holds its own routes, and both stay connected.
    const held = () => clustersNamed(name).map((c) => [...c.routes.values()].map((r) => r.host)).sort();
    await eventually('each cluster holds its own route', async () => JSON.stringify(held()) === JSON.stringify([[host], [`there-${host}`]]));
    expect(clustersNamed(name).filter((c) => c.connected)).toHaveLength(2);
    // Each keeps its own socket: the first is not replaced (4000) by the second.
    expect((await here.get('/api/health/detailed')).body.connection.state).toBe('ready');
    expect(await get(host)).toBe(200);
    await there.stop();
    await here.stop();
  } finally {
    await other.stop();
  }
}, 120_000);

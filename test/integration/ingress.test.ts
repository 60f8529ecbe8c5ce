// Ingress → GatewayRoute against the real apiserver, with the real operator process.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GATEWAY_ROUTE, GROUP, VERSION, type GatewayRoute } from '../../src/api/v1alpha1/types.js';
import { clients, eventually, TestNamespaces } from '../support/kube.js';
import { condition, createIngress, createService, getGatewayRoute, ingressObject, serviceObject } from '../support/fixtures.js';
import { operatorArgs, OperatorPool, type OperatorProcess } from '../support/operator.js';

const { networking, core, custom } = clients();
const operators = new OperatorPool();
const namespaces = new TestNamespaces();
let ns: string;
let operator: OperatorProcess;

beforeAll(async () => {
  ns = await namespaces.create('ingress');
  // Shared by the tests below, which otherwise each make what they use (any order passes).
  await createService(serviceObject(ns, 'web', [{ name: 'http', port: 8080 }]));
  operator = operators.start(operatorArgs(ns));
  await operator.ready();
});

afterAll(async () => {
  await operators.stopAll();
  await namespaces.deleteAll();
});

describe('Ingress → GatewayRoute', () => {
  it('creates the GatewayRoute with owner, label, spec and status', async () => {
    const ingress = await createIngress(
      ingressObject(ns, 'shop', [{ host: 'shop.example.com', paths: [{ path: '/', service: 'web', port: 'http' }] }], {
        tlsHosts: ['shop.example.com'],
        annotations: { 'nginx.ingress.kubernetes.io/ssl-redirect': 'true', 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
      }),
    );
    // Ready may first say Pending (Accepted not reported yet) and is recomputed once it is.
    const route = await eventually('GatewayRoute with its final Ready', async () => {
      const r = await getGatewayRoute(ns, 'shop');
      return condition(r, 'Accepted') && condition(r, 'Ready')?.reason === 'NoControlPlane' ? r : undefined;
    });
    expect(route.metadata.ownerReferences).toEqual([
      { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'shop', uid: ingress.metadata?.uid, controller: true },
    ]);
    expect(route.metadata.labels?.['gateway.pipeops.io/managed-by']).toBe('ingress');
    expect(route.metadata.annotations).toEqual({ 'nginx.ingress.kubernetes.io/ssl-redirect': 'true' });
    expect(route.spec.routes).toEqual([
      { host: 'shop.example.com', path: '/', pathType: 'Prefix', backend: { service: 'web', port: { name: 'http' } }, tls: true },
    ]);
    expect(route.spec.tlsSecrets).toEqual(['shop-tls']);
    expect(route.status?.hosts).toBe('shop.example.com');
    expect(route.status?.routeCount).toBe(1);
    expect(condition(route, 'Accepted')).toMatchObject({ status: 'True', reason: 'Accepted', observedGeneration: 1 });
    expect(condition(route, 'ResolvedRefs')).toMatchObject({ status: 'True', observedGeneration: 1 });
    // No control plane configured: Synced Unknown and Ready False, both NoControlPlane.
    expect(condition(route, 'Synced')).toMatchObject({ status: 'Unknown', reason: 'NoControlPlane' });
    expect(condition(route, 'Ready')).toMatchObject({ status: 'False', reason: 'NoControlPlane' });
  });

  it('follows an update of the Ingress', async () => {
    await createIngress(ingressObject(ns, 'updated', [{ host: 'updated.example.com', paths: [{ path: '/', service: 'web', port: 'http' }] }]));
    await eventually('GatewayRoute updated', async () => condition(await getGatewayRoute(ns, 'updated'), 'Accepted'));
    const ingress = await networking.readNamespacedIngress({ namespace: ns, name: 'updated' });
    ingress.spec!.rules![0]!.http!.paths[0]!.path = '/v2';
    await networking.replaceNamespacedIngress({ namespace: ns, name: 'updated', body: ingress });
    const route = await eventually('path /v2', async () => {
      const r = await getGatewayRoute(ns, 'updated');
      return r?.spec.routes?.[0]?.path === '/v2' && condition(r, 'Accepted')?.observedGeneration === 2 ? r : undefined;
    });
    expect(route.metadata.generation).toBe(2);
  });

  it('keeps the supported paths when one is unsupported', async () => {
    const body = ingressObject(ns, 'mixed', [{ host: 'mixed.example.com', paths: [{ path: '/', service: 'web', port: 'http' }] }]);
    body.spec!.rules![0]!.http!.paths.push({ path: '/bucket', pathType: 'Prefix', backend: { resource: { apiGroup: 'storage.example.com', kind: 'Bucket', name: 'assets' } } });
    await createIngress(body);
    const route = await eventually('mixed translated', async () => {
      const r = await getGatewayRoute(ns, 'mixed');
      return condition(r, 'Accepted') ? r : undefined;
    });
    expect(route.spec.routes?.map((r) => r.path)).toEqual(['/']);
    expect(condition(route, 'Accepted')).toMatchObject({ status: 'True', reason: 'PartiallyAccepted' });
    expect(condition(route, 'Accepted')?.message).toContain('rules[0].paths[1] (/bucket): resource backend Bucket/assets is not supported');
  });

  it('flips ResolvedRefs when a named port Service appears later, and back when it goes; the spec stays', async () => {
    await createIngress(ingressObject(ns, 'late', [{ host: 'late.example.com', paths: [{ service: 'late-svc', port: 'api' }] }]));
    await eventually('ServiceNotFound', async () => condition(await getGatewayRoute(ns, 'late'), 'ResolvedRefs')?.reason === 'ServiceNotFound');
    await createService(serviceObject(ns, 'late-svc', [{ name: 'api', port: 9000 }]));
    await eventually('ResolvedRefs True', async () => condition(await getGatewayRoute(ns, 'late'), 'ResolvedRefs')?.status === 'True');

    await core.deleteNamespacedService({ namespace: ns, name: 'late-svc' });
    const route = await eventually('ResolvedRefs False again', async () => {
      const r = await getGatewayRoute(ns, 'late');
      return condition(r, 'ResolvedRefs')?.status === 'False' ? r : undefined;
    });
    expect(condition(route, 'ResolvedRefs')?.message).toContain('Service late-svc not found');
    expect(route.spec.routes).toHaveLength(1);
  });

  it('deletes the GatewayRoute when the Ingress is deleted or opts out', async () => {
    await createIngress(ingressObject(ns, 'gone', [{ host: 'gone.example.com', paths: [{ service: 'web', port: 'http' }] }]));
    await eventually('gone created', async () => (await getGatewayRoute(ns, 'gone')) !== undefined);
    await networking.deleteNamespacedIngress({ namespace: ns, name: 'gone' });
    await eventually('gone deleted', async () => (await getGatewayRoute(ns, 'gone')) === undefined);

    await createIngress(ingressObject(ns, 'optout', [{ host: 'optout.example.com', paths: [{ service: 'web', port: 'http' }] }]));
    await eventually('optout created', async () => (await getGatewayRoute(ns, 'optout')) !== undefined);
    const ingress = await networking.readNamespacedIngress({ namespace: ns, name: 'optout' });
    ingress.metadata!.annotations = { 'gateway.pipeops.io/exclude': 'true' };
    await networking.replaceNamespacedIngress({ namespace: ns, name: 'optout', body: ingress });
    await eventually('optout deleted', async () => (await getGatewayRoute(ns, 'optout')) === undefined);
  });

  it('never touches a hand-written GatewayRoute', async () => {
    await createHandWritten('by-hand', 'hand.example.com');
    // The sync side still reports on it (status only).
    const route = await eventually('status on the hand-written route', async () => {
      const r = await getGatewayRoute(ns, 'by-hand');
      return condition(r, 'Synced') ? r : undefined;
    });
    expect(route.metadata.ownerReferences).toBeUndefined();
    expect(route.metadata.generation).toBe(1);
    expect(condition(route, 'ResolvedRefs')).toMatchObject({ status: 'True' });
    const managers = ((route.metadata as { managedFields?: Array<{ manager: string; subresource?: string }> }).managedFields ?? [])
      .filter((f) => f.subresource !== 'status')
      .map((f) => f.manager);
    expect(managers).not.toContain('gateway-operator');
  });

  it('an Ingress whose name a hand-written GatewayRoute holds gets one Warning Event saying so; the GatewayRoute is untouched', async () => {
    const body = await createHandWritten('taken', 'mine.example.com');
    const ingress = await createIngress(ingressObject(ns, 'taken', [{ host: 'theirs.example.com', paths: [{ service: 'web', port: 'http' }] }]));
    const conflicts = async () => (await core.listNamespacedEvent({ namespace: ns })).items.filter((e) => e.involvedObject.uid === ingress.metadata?.uid && e.reason === 'NameConflict');
    const [event] = await eventually('a NameConflict Event on the Ingress', async () => ((await conflicts()).length ? conflicts() : undefined));
    expect(event).toMatchObject({
      type: 'Warning',
      involvedObject: { kind: 'Ingress', name: 'taken', namespace: ns },
      message: `GatewayRoute ${ns}/taken exists and is not managed by gateway-operator; this Ingress is not exposed until one of them is renamed or that GatewayRoute is deleted`,
    });
    // Reconciled again (a label change), the conflict is not news twice; the GatewayRoute keeps its spec.
    const reconciles = () => operator.metric('gateway_operator_reconcile_total', { controller: 'ingress' });
    const before = await reconciles();
    const current = await networking.readNamespacedIngress({ namespace: ns, name: 'taken' });
    current.metadata!.labels = { touched: 'yes' };
    await networking.replaceNamespacedIngress({ namespace: ns, name: 'taken', body: current });
    await eventually('the Ingress reconciled again', async () => (await reconciles()) > before);
    await operator.settled();
    expect(await conflicts()).toHaveLength(1);
    expect((await getGatewayRoute(ns, 'taken'))?.spec.routes).toEqual(body.spec.routes);
  });

  it("leaves a deleted Ingress's GatewayRoute to the garbage collector (ownerReference), even with the operator stopped", async () => {
    await createIngress(ingressObject(ns, 'orphan', [{ host: 'orphan.example.com', paths: [{ service: 'web', port: 'http' }] }]));
    await eventually('GatewayRoute orphan', async () => getGatewayRoute(ns, 'orphan'));
    await operator.settled();
    expect(await operator.stop()).toBe(0);
    try {
      await networking.deleteNamespacedIngress({ namespace: ns, name: 'orphan' });
      await eventually('garbage-collected by kube-controller-manager', async () => (await getGatewayRoute(ns, 'orphan')) === undefined, 30_000);
    } finally {
      operator = operators.start(operatorArgs(ns));
      await operator.ready();
    }
  }, 60_000);

  it('rewrites nothing that is unchanged when the operator restarts', async () => {
    await operator.settled();
    const before = await listVersions();
    expect(await operator.stop()).toBe(0);
    operator = operators.start(operatorArgs(ns));
    await operator.ready();
    await operator.settled();
    expect(await listVersions()).toEqual(before);
  });
});

/** A GatewayRoute written by a user (no ownerReference), one route to `web`. */
async function createHandWritten(name: string, host: string): Promise<GatewayRoute> {
  const body: GatewayRoute = {
    apiVersion: 'gateway.pipeops.io/v1alpha1',
    kind: 'GatewayRoute',
    metadata: { name, namespace: ns },
    spec: { routes: [{ host, path: '/', pathType: 'Prefix', backend: { service: 'web', port: { number: 8080 } } }] },
  };
  await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: GATEWAY_ROUTE.plural, body });
  return body;
}

async function listVersions(): Promise<Record<string, string>> {
  const list = (await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: GATEWAY_ROUTE.plural })) as {
    items: GatewayRoute[];
  };
  return Object.fromEntries(list.items.map((r) => [r.metadata.name, r.metadata.resourceVersion ?? '']));
}

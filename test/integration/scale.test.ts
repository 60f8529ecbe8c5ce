// 1,000 Ingresses created at once, with the control plane connected: every route arrives at the control
// plane exactly once, every GatewayRoute is Synced=True and Ready=True, the apiserver connections stay a
// handful (kept alive) instead of one per call, and a reconnect writes no GatewayRoute status.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { ReferenceControlPlane } from '../../src/reference-control-plane/server.js';
import { eventually, TestNamespaces } from '../support/kube.js';
import { condition, createIngress, createService, inBatches, ingressObject, listGatewayRoutes, serviceObject } from '../support/fixtures.js';
import { clusterByName, describeRoute, startControlPlane, waitForRoutes } from '../support/control-plane.js';
import { operatorArgs, OperatorPool, type OperatorProcess } from '../support/operator.js';
import { wireRouteKey, type WireRouteBody } from '../../src/controlplane/protocol.js';

const COUNT = 1_000;
const TOKEN = 'scale-token';
const operators = new OperatorPool();
const namespaces = new TestNamespaces();
let ns: string;
let cp: ReferenceControlPlane;
let operator: OperatorProcess;

beforeAll(async () => {
  ns = await namespaces.create('scale');
  cp = await startControlPlane({ token: TOKEN });
  await createService(serviceObject(ns, 'web', [{ name: 'http', port: 80 }]));
  operator = operators.start(operatorArgs(ns, { cp }));
  await operator.registered();
});

afterAll(async () => {
  await operators.stopAll();
  await cp?.close();
  await namespaces.deleteAll();
});

let created: Promise<string[]> | undefined;
/** The file's Ingresses, created at once by whichever test runs first (the order of tests is random). */
function createdIngresses(): Promise<string[]> {
  created ??= (async () => {
    const names = Array.from({ length: COUNT }, (_, i) => `app-${i}`);
    await inBatches(names, 25, (name) => createIngress(ingressObject(ns, name, [{ host: `${name}.example.com`, paths: [{ service: 'web', port: 'http' }] }])));
    return names;
  })();
  return created;
}

it(`converges ${COUNT} Ingresses created at once: all at the control plane, all Synced and Ready`, async () => {
  const names = await createdIngresses();
  await waitForRoutes(cp, ns, names.map((n) => describeRoute({ host: `${n}.example.com`, path: '/', service: 'web', port: 80 })), 180_000);
  const routes = await eventually(
    `${COUNT} GatewayRoutes Synced=True and Ready=True`,
    async () => {
      const all = await listGatewayRoutes(ns);
      const done = all.filter((r) => condition(r, 'Synced')?.status === 'True' && condition(r, 'Ready')?.status === 'True');
      return done.length === COUNT ? all : undefined;
    },
    180_000,
  );
  expect(routes.every((r) => condition(r, 'Synced')?.observedGeneration === r.metadata.generation)).toBe(true);
  // Each route was added once: no resend storm.
  const uuid = clusterByName(cp, ns)!.cluster_uuid;
  const added = cp.received.filter((m) => m.cluster === uuid && m.type === 'routes_change').flatMap((m) => (m.payload.upsert as WireRouteBody[]).map((r) => wireRouteKey(m.payload.namespace as string, m.payload.name as string, r)));
  expect(new Set(added).size).toBe(added.length);
  // Thousands of API calls (watches included) went over a few kept-alive connections, counted by the shared agent.
  const connections = await operator.metric('gateway_operator_apiserver_connections_total');
  expect(connections).toBeGreaterThan(0);
  expect(connections).toBeLessThan(30);
  expect(operator.running).toBe(true);
}, 300_000);

it(`a reconnect at ${COUNT} GatewayRoutes writes none of them: the snapshot re-confirms what their status says`, async () => {
  await createdIngresses();
  await eventually('all Synced before', async () => (await listGatewayRoutes(ns)).filter((r) => condition(r, 'Synced')?.status === 'True').length === COUNT, 180_000);
  await operator.settled(120_000);
  const versions = async () => new Map((await listGatewayRoutes(ns)).map((r) => [r.metadata.name, r.metadata.resourceVersion]));
  const before = await versions();
  const uuid = clusterByName(cp, ns)!.cluster_uuid;
  const mark = cp.receivedCount;
  cp.dropConnections(uuid);
  await eventually('the reconnect snapshot acknowledged', async () =>
    cp.receivedSince(mark).some((m) => m.cluster === uuid && m.type === 'routes_sync_end') && (await operator.get('/api/health/detailed')).body.routes.unacknowledgedGatewayRoutes === 0, 60_000);
  await operator.settled(120_000);
  const after = await versions();
  const written = [...after].filter(([name, version]) => before.get(name) !== version).map(([name]) => name);
  expect(written).toEqual([]);
}, 300_000);

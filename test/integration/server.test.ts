// The operator's HTTP endpoints, Prometheus discovery, and graceful shutdown on SIGTERM.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { ReferenceControlPlane } from '../../src/reference-control-plane/server.js';
import { clients, eventually, TestNamespaces } from '../support/kube.js';
import { createService, serviceObject } from '../support/fixtures.js';
import { clusterByName, startControlPlane } from '../support/control-plane.js';
import { operatorArgs, OperatorPool, type OperatorProcess } from '../support/operator.js';

const TOKEN = 'server-secret-token';
const operators = new OperatorPool();
let ns: string;
let cp: ReferenceControlPlane;
let operator: OperatorProcess;

const namespaces = new TestNamespaces();

/** A leader-elected operator for `namespace`, registered at the control plane. */
async function startOperator(namespace: string): Promise<OperatorProcess> {
  const op = operators.start(
    operatorArgs(namespace, { cp, token: false }, ['--prometheus-namespaces', namespace, '--leader-elect', '--heartbeat-interval-ms', '300']),
    { GATEWAY_TOKEN: cp.agentToken(namespace) },
  );
  // A standby counts as ready: wait for leadership first, then for the leader's own readiness.
  await op.waitForLog('became leader', (l) => l.msg === 'became leader');
  await op.ready();
  // Readiness is about this process; registration with the control plane is reported in the detailed health.
  await op.registered();
  return op;
}

beforeAll(async () => {
  ns = await namespaces.create('server');
  cp = await startControlPlane({ token: TOKEN });
  operator = await startOperator(ns);
});

afterAll(async () => {
  await operators.stopAll();
  await cp.close();
  await namespaces.deleteAll();
});

it('serves /healthz, /readyz, /metrics, the detailed health and runtime endpoints, and 404 JSON', async () => {
  expect(await operator.get('/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
  expect(await operator.get('/readyz')).toEqual({ status: 200, body: { ready: true, reasons: [] } });

  const metrics = await operator.get('/metrics');
  expect(metrics.status).toBe(200);
  for (const name of ['gateway_operator_reconcile_total', 'gateway_operator_workqueue_depth', 'gateway_operator_controlplane_connected 1', 'gateway_operator_controlplane_messages_total', 'gateway_operator_process_resident_memory_bytes']) {
    expect(metrics.body).toContain(name);
  }

  const detailed = await operator.get('/api/health/detailed');
  expect(detailed.body).toMatchObject({
    version: expect.any(String),
    uptimeSeconds: expect.any(Number),
    leader: true,
    connection: { state: 'ready', clusterId: expect.any(String), reconnects: expect.any(Number) },
    routingMode: 'tunnel',
    routes: { desired: 0 },
    queues: { ingress: { depth: 0 }, sync: { depth: 0 }, connectivity: expect.any(Object) },
  });

  const runtime = await operator.get('/api/metrics/runtime');
  expect(runtime.body).toMatchObject({ memory: { rss: expect.any(Number) }, eventLoopDelayMs: { mean: expect.any(Number) }, activeHandles: expect.any(Number) });

  expect(await operator.get('/nope')).toEqual({ status: 404, body: { error: 'no such endpoint: /nope' } });

  for (const path of ['/healthz', '/readyz', '/metrics', '/api/health/detailed', '/api/metrics/runtime']) {
    expect(JSON.stringify((await operator.get(path)).body)).not.toContain(cp.agentToken(ns));
  }
});

it('reports a Prometheus Service that appears, in /api/health/detailed and in heartbeats', async () => {
  await createService(serviceObject(ns, 'prometheus-operated', [{ name: 'web', port: 9090 }]));
  const expected = { namespace: ns, service: 'prometheus-operated', port: 9090, url: `http://prometheus-operated.${ns}.svc:9090` };
  await eventually('detailed health shows Prometheus', async () => JSON.stringify((await operator.get('/api/health/detailed')).body.prometheus) === JSON.stringify(expected));
  await eventually('a heartbeat carries it', async () =>
    cp.received.some((m) => m.type === 'heartbeat' && JSON.stringify((m.payload.metadata as { prometheus?: unknown }).prometheus) === JSON.stringify(expected)),
  );
  await operator.waitForLog('discovery logged', (l) => l.msg === 'discovered Prometheus');
  expect(operator.logs.filter((l) => l.msg === 'discovered Prometheus')).toHaveLength(1);
});

it('SIGTERM: exits 0 within 10 s, closes the socket and releases the Lease', async () => {
  // An operator of its own: the other tests keep theirs.
  const stopping = await namespaces.create('sigterm');
  const op = await startOperator(stopping);
  expect(clusterByName(cp, stopping)?.connected).toBe(true);
  const started = Date.now();
  expect(await op.stop(10_000)).toBe(0);
  expect(Date.now() - started).toBeLessThan(10_000);
  await eventually('control plane sees the agent gone', async () => clusterByName(cp, stopping)?.connected === false);
  const lease = await clients().coordination.readNamespacedLease({ namespace: stopping, name: 'gateway-operator' });
  expect(lease.spec?.holderIdentity ?? '').toBe('');
  expect(op.logs.some((l) => l.msg === 'released the leader lease')).toBe(true);
});

// Two operator replicas with leader election: one works, the other waits; killing the leader hands
// over within 20 s (lease 15 s, retry 2 s).
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { clients, eventually, TestNamespaces } from '../support/kube.js';
import { createIngress, createService, getGatewayRoute, ingressObject, serviceObject } from '../support/fixtures.js';
import { operatorArgs, OperatorPool, type OperatorProcess } from '../support/operator.js';

const operators = new OperatorPool();
const namespaces = new TestNamespaces();
let ns: string;

beforeAll(async () => {
  ns = await namespaces.create('leader');
  await createService(serviceObject(ns, 'web', [{ port: 80 }]));
});

afterAll(async () => {
  await operators.stopAll();
  await namespaces.deleteAll();
});

async function isLeader(op: OperatorProcess): Promise<boolean> {
  return (await op.get('/api/health/detailed')).body.leader === true;
}

it('only the leader writes, and a killed leader is replaced within 20 s', async () => {
  const args = operatorArgs(ns, {}, ['--leader-elect']);
  const first = operators.start(args);
  await first.waitForLog('first becomes leader', (l) => l.msg === 'became leader');
  const second = operators.start(args);
  await second.ready(); // a standby is ready: it is healthy, just not working
  expect(await isLeader(first)).toBe(true);
  expect(await isLeader(second)).toBe(false);

  const lease = await clients().coordination.readNamespacedLease({ namespace: ns, name: 'gateway-operator' });
  expect(lease.spec?.leaseDurationSeconds).toBe(15);

  await createIngress(ingressObject(ns, 'one', [{ host: 'one.example.com', paths: [{ service: 'web', port: 80 }] }]));
  await eventually('GatewayRoute one', async () => (await getGatewayRoute(ns, 'one')) !== undefined);
  // The object can be visible before the log line has come through the pipe: wait for it.
  await first.waitForLog('the leader created it', (l) => l.msg === 'created GatewayRoute' && l.name === 'one');
  // The standby ran no reconcile at all (its counters say so, not merely its silence); the leader did.
  expect(await first.metric('gateway_operator_reconcile_total')).toBeGreaterThan(0);
  expect(await second.metric('gateway_operator_reconcile_total')).toBe(0);
  // A standby caches the GatewayRoutes its tunnel boundary is computed from (it serves traffic too).
  await eventually('the standby caches the GatewayRoute', async () => (await second.get('/api/health/detailed')).body.routes.desired === 1);

  const killedAt = Date.now();
  first.kill();
  await second.waitForLog('standby takes over', (l) => l.msg === 'became leader', 25_000);
  const handover = Date.now() - killedAt;
  expect(handover).toBeLessThan(20_000);

  await createIngress(ingressObject(ns, 'two', [{ host: 'two.example.com', paths: [{ service: 'web', port: 80 }] }]));
  await eventually('GatewayRoute two from the new leader', async () => (await getGatewayRoute(ns, 'two')) !== undefined);
  const holder = await clients().coordination.readNamespacedLease({ namespace: ns, name: 'gateway-operator' });
  expect(holder.spec?.leaseTransitions).toBe(1);
}, 60_000);

it('a leader stopped with SIGTERM releases the lease and exits 0', async () => {
  const op = operators.start(operatorArgs(ns, {}, ['--leader-elect', '--lease-name', 'release-test']));
  await op.waitForLog('leader', (l) => l.msg === 'became leader');
  expect(await op.stop()).toBe(0);
  const lease = await clients().coordination.readNamespacedLease({ namespace: ns, name: 'release-test' });
  expect(lease.spec?.holderIdentity ?? '').toBe('');
}, 30_000);

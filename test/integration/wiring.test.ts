// How changes reach controllers (the Manager's watches and predicates), on the real apiserver with the real
// operator and reference control plane: a GatewayRoute status write does not wake its Ingress's controller,
// a cross-namespace backend Service's change reaches the GatewayRoute that uses it, and ResolvedRefs and
// the routes sent agree because both come from one backend resolver.
import { describe, expect, it } from '@jest/globals';
import { GATEWAY_ROUTE, GROUP, VERSION, type GatewayRoute } from '../../src/api/v1alpha1/types.js';
import { describeRoute, heldRoutes } from '../support/control-plane.js';
import { condition, createIngress, createService, getGatewayRoute, ingressObject, serviceObject } from '../support/fixtures.js';
import { clients, eventually } from '../support/kube.js';
import type { OperatorProcess } from '../support/operator.js';
import { syncSuite } from '../support/sync-suite.js';

const suite = syncSuite('wiring-test-token');
const { custom, core } = clients();

/** gateway_operator_reconcile_total of one controller (successes and errors). */
async function reconciles(operator: OperatorProcess, controller: string): Promise<number> {
  const text = (await operator.get('/metrics')).body as string;
  const pattern = new RegExp(`^gateway_operator_reconcile_total\\{[^}]*controller="${controller}"[^}]*\\} (\\d+)`, 'gm');
  return [...text.matchAll(pattern)].reduce((sum, match) => sum + Number(match[1]), 0);
}

type QueueState = { depth: number; inFlight: number; delayed: number };

/** Waits until `controller`'s queue is empty: nothing queued, running or waiting for a requeue delay. */
async function idle(operator: OperatorProcess, controller: string): Promise<void> {
  await eventually(`${controller} queue idle`, async () => {
    const queue = ((await operator.get('/api/health/detailed')).body as { queues: Record<string, QueueState> }).queues[controller];
    return queue !== undefined && queue.depth === 0 && queue.inFlight === 0 && queue.delayed === 0;
  });
}

function gatewayRouteTarget(namespace: string, name: string) {
  return { group: GROUP, version: VERSION, namespace, plural: GATEWAY_ROUTE.plural, name };
}

/** A status write as another controller would make one: a condition of its own, nothing else changed. */
async function writeProbeCondition(namespace: string, name: string, message: string): Promise<void> {
  await eventually(`status write "${message}" to GatewayRoute ${namespace}/${name}`, async () => {
    const route = (await getGatewayRoute(namespace, name)) as GatewayRoute;
    const probe = { type: 'Probe', status: 'True', reason: 'Probe', message, lastTransitionTime: new Date().toISOString() };
    const conditions = [...(route.status?.conditions ?? []).filter((c) => c.type !== 'Probe'), probe];
    // Optimistic concurrency (resourceVersion): a conflict with the operator's own write is tried again.
    return custom.replaceNamespacedCustomObjectStatus({ ...gatewayRouteTarget(namespace, name), body: { ...route, status: { ...route.status, conditions } } }).then(
      () => true,
      () => false,
    );
  });
}

describe('watches and predicates', () => {
  it('status writes to a GatewayRoute do not reconcile its Ingress again (each write is seen by the sync controller)', async () => {
    const ns = await suite.ownNamespace('wiring-status');
    const operator = suite.operators.start(suite.operatorArgs(ns));
    await operator.registered();
    await createIngress(ingressObject(ns, 'shop', [{ host: 'shop.example.com', paths: [{ path: '/', service: 'web', port: 'http' }] }]));
    await eventually('GatewayRoute shop Ready', async () => condition(await getGatewayRoute(ns, 'shop'), 'Ready')?.status === 'True');
    await idle(operator, 'ingress');
    const ingressBefore = await reconciles(operator, 'ingress');

    // Five status writes by another writer, each waited for: the sync controller reconciles on every one (its
    // count moves), and by then the Ingress controller's watch has seen the same event.
    for (let write = 1; write <= 5; write++) {
      const syncBefore = await reconciles(operator, 'sync');
      await writeProbeCondition(ns, 'shop', `write ${write}`);
      await eventually(`sync saw status write ${write}`, async () => (await reconciles(operator, 'sync')) > syncBefore);
      await idle(operator, 'ingress');
    }
    expect(await reconciles(operator, 'ingress')).toBe(ingressBefore);

    // The watch still wakes it for what matters: the GatewayRoute deleted by hand is written again.
    await custom.deleteNamespacedCustomObject(gatewayRouteTarget(ns, 'shop'));
    await eventually('GatewayRoute shop recreated', async () => (await getGatewayRoute(ns, 'shop'))?.spec.routes?.length === 1);
  });

  it('a port change of a backend Service in another namespace reaches the hand-written GatewayRoute that uses it; ResolvedRefs and Synced agree', async () => {
    const ns = await suite.ownNamespace('wiring-from');
    const backends = await suite.ownNamespace('wiring-to'); // has Service web, port "http" 8080
    const args = suite.operatorArgs(ns);
    args[args.indexOf('--watch-namespaces') + 1] = `${ns},${backends}`;
    const operator = suite.operators.start(args);
    await operator.registered();
    const body: GatewayRoute = {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'GatewayRoute',
      metadata: { name: 'crossns', namespace: ns },
      spec: { routes: [{ host: 'cross.example.com', path: '/', pathType: 'Prefix', backend: { service: 'web', namespace: backends, port: { name: 'http' } } }] },
    };
    await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: GATEWAY_ROUTE.plural, body });

    // No ReferenceGrant yet: refused, and both conditions say so.
    await eventually('crossns refused by both', async () => {
      const route = await getGatewayRoute(ns, 'crossns');
      return condition(route, 'ResolvedRefs')?.reason === 'RefNotPermitted' && condition(route, 'Synced')?.reason === 'BackendUnresolved';
    });
    expect(heldRoutes(suite.cp, ns)).toEqual([]);

    await custom.createNamespacedCustomObject({
      group: 'gateway.networking.k8s.io',
      version: 'v1beta1',
      namespace: backends,
      plural: 'referencegrants',
      body: {
        apiVersion: 'gateway.networking.k8s.io/v1beta1',
        kind: 'ReferenceGrant',
        metadata: { name: 'from-wiring', namespace: backends },
        spec: { from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: ns }], to: [{ group: '', kind: 'Service', name: 'web' }] },
      },
    });
    const at = (port: number) => describeRoute({ host: 'cross.example.com', path: '/', service: 'web', port });
    await eventually('crossns sent at 8080', async () => heldRoutes(suite.cp, ns).includes(at(8080)));
    await eventually('crossns ResolvedRefs and Synced True', async () => {
      const route = await getGatewayRoute(ns, 'crossns');
      return condition(route, 'ResolvedRefs')?.status === 'True' && condition(route, 'Synced')?.status === 'True';
    });
    // A barrier: the GatewayRoute's events arrive in order, so once the sync controller has reconciled this
    // later status write it has seen its own writes too; idle, only the Service's change can move the route.
    const syncBefore = await reconciles(operator, 'sync');
    await writeProbeCondition(ns, 'crossns', 'barrier');
    await eventually('sync saw the barrier write', async () => (await reconciles(operator, 'sync')) > syncBefore);
    await idle(operator, 'sync');

    // The Service in the other namespace moves its "http" port: the route follows, with nothing else changed.
    await core.patchNamespacedService({ namespace: backends, name: 'web', body: [{ op: 'replace', path: '/spec/ports/0/port', value: 9090 }] });
    await eventually('crossns follows the port to 9090', async () => heldRoutes(suite.cp, ns).includes(at(9090)));
    expect(heldRoutes(suite.cp, ns)).toEqual([at(9090)]);
  });
});

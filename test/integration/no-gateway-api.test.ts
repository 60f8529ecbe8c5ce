// Most clusters have no Gateway API CRDs: the operator must start, be ready and serve Ingresses there, and say
// that HTTPRoutes are not watched. Uses a control plane of its own, without those CRDs.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { CoreV1Api, NetworkingV1Api } from '@kubernetes/client-node';
import { TestCluster } from '../support/test-cluster.js';
import { eventually, testKubeConfig } from '../support/kube.js';
import { getGatewayRoute, ingressObject, serviceObject } from '../support/fixtures.js';
import { operatorArgs, OperatorPool, type OperatorProcess } from '../support/operator.js';
import { clients } from '../support/kube.js';

const cluster = new TestCluster({ controllerManager: false, gatewayApi: false });
const operators = new OperatorPool();
let operator: OperatorProcess;
const ns = 'plain';

beforeAll(async () => {
  const info = await cluster.start();
  const kc = testKubeConfig(info.kubeconfig);
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: ns } } });
  await kc.makeApiClient(CoreV1Api).createNamespacedService({ namespace: ns, body: serviceObject(ns, 'web', [{ port: 80 }]) });
  operator = operators.start(operatorArgs(ns), { KUBECONFIG: info.kubeconfig });
}, 60_000);

afterAll(async () => {
  await operators.stopAll();
  await cluster.stop();
});

it('without the Gateway API CRDs: ready, says HTTPRoutes are not watched, and turns Ingresses into GatewayRoutes', async () => {
  await operator.ready();
  const said = await operator.waitForLog('the Gateway API absence noticed', (l) => typeof l.msg === 'string' && l.msg.startsWith('the Gateway API CRDs are not installed'));
  expect(said.level).toBe('info');
  const { body } = await operator.get('/api/health/detailed');
  expect(Object.keys(body.queues as object).sort()).toEqual(['connectivity', 'ingress', 'sync']);

  const kc = testKubeConfig(cluster.kubeconfig);
  await kc.makeApiClient(NetworkingV1Api).createNamespacedIngress({ namespace: ns, body: ingressObject(ns, 'site', [{ host: 'site.example.com', paths: [{ service: 'web', port: 80 }] }]) });
  const route = await eventually('GatewayRoute of the Ingress', async () => getGatewayRoute(ns, 'site', clients(kc).custom));
  expect(route.spec.source).toEqual({ kind: 'Ingress', name: 'site' });
});

// The operator lives through an apiserver outage: kube-apiserver is stopped and started again under it
// and the operator reconverges without a restart of its own. Uses a control plane of its own, so the
// outage does not disturb the other test files.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { CoreV1Api, NetworkingV1Api } from '@kubernetes/client-node';
import { GATEWAY_ROUTE, GROUP, VERSION } from '../../src/api/v1alpha1/types.js';
import { TestCluster } from '../support/test-cluster.js';
import { eventually, testKubeConfig } from '../support/kube.js';
import { ingressObject, serviceObject } from '../support/fixtures.js';
import { OperatorPool, type OperatorProcess } from '../support/operator.js';
import { CustomObjectsApi } from '@kubernetes/client-node';

const cluster = new TestCluster({ controllerManager: false });
const operators = new OperatorPool();
let operator: OperatorProcess;
const ns = 'outage';

beforeAll(async () => {
  const info = await cluster.start();
  const kc = testKubeConfig(info.kubeconfig);
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: ns } } });
  await kc.makeApiClient(CoreV1Api).createNamespacedService({ namespace: ns, body: serviceObject(ns, 'web', [{ port: 80 }]) });
  operator = operators.start(['--namespace', ns], { KUBECONFIG: info.kubeconfig });
  await operator.ready();
}, 60_000);

afterAll(async () => {
  await operators.stopAll();
  await cluster.stop();
});

it('reconverges after kube-apiserver is stopped and restarted', async () => {
  const kc = () => testKubeConfig(cluster.kubeconfig);
  const routeExists = (name: string) => async () => {
    try {
      await kc().makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: GATEWAY_ROUTE.plural, name });
      return true;
    } catch {
      return false;
    }
  };
  await kc().makeApiClient(NetworkingV1Api).createNamespacedIngress({ namespace: ns, body: ingressObject(ns, 'before', [{ host: 'before.example.com', paths: [{ service: 'web', port: 80 }] }]) });
  await eventually('GatewayRoute before the outage', routeExists('before'));

  await cluster.stopApiserver();
  await operator.waitForLog('watch failure noticed', (l) => l.msg === 'watch failed, restarting', 30_000);
  await cluster.startApiserver();

  await kc().makeApiClient(NetworkingV1Api).createNamespacedIngress({ namespace: ns, body: ingressObject(ns, 'after', [{ host: 'after.example.com', paths: [{ service: 'web', port: 80 }] }]) });
  await eventually('GatewayRoute after the outage', routeExists('after'), 45_000);
  expect(operator.running).toBe(true);
}, 120_000);

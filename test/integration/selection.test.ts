// Which Ingresses the operator takes: --ingress-class (spec or legacy annotation), --ingress-selector; and
// the start-up line that says so.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { clients, eventually, TestNamespaces } from '../support/kube.js';
import { createIngress, createService, getGatewayRoute, ingressObject, serviceObject } from '../support/fixtures.js';
import { operatorArgs, OperatorPool, type OperatorProcess } from '../support/operator.js';

const operators = new OperatorPool();
const namespaces = new TestNamespaces();
let ns: string;
let operator: OperatorProcess;

beforeAll(async () => {
  ns = await namespaces.create('select');
  await createService(serviceObject(ns, 'web', [{ port: 80 }]));
  operator = operators.start(operatorArgs(ns, {}, ['--ingress-class', 'nginx', '--ingress-class', 'edge', '--ingress-selector', 'expose=yes']));
  await operator.ready();
});

afterAll(async () => {
  await operators.stopAll();
  await namespaces.deleteAll();
});

it('says at start what it exposes, with the flags it was given', () => {
  const line = operator.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('exposing '));
  expect(line).toMatchObject({
    level: 'info',
    controller: 'manager',
    ingressClasses: ['nginx', 'edge'],
    watchNamespaces: [ns],
    ingressSelector: 'expose=yes',
    excludeAnnotation: 'gateway.pipeops.io/exclude',
  });
  expect(line?.msg).toContain(`exposing the Ingresses of our IngressClass (controller gateway.pipeops.io/tunnel) and of class nginx, edge (one without a class counts as the default IngressClass) labelled expose=yes in namespace ${ns} `);
});

const rule = (host: string) => [{ host, paths: [{ service: 'web', port: 80 }] }];
const exposed = { labels: { expose: 'yes' } };

it('takes only Ingresses of the given classes that match the selector', async () => {
  await createIngress(ingressObject(ns, 'nginx', rule('a.example.com'), { ...exposed, ingressClassName: 'nginx' }));
  await createIngress(ingressObject(ns, 'legacy', rule('b.example.com'), { ...exposed, annotations: { 'kubernetes.io/ingress.class': 'edge' } }));
  await createIngress(ingressObject(ns, 'traefik', rule('c.example.com'), { ...exposed, ingressClassName: 'traefik' }));
  await createIngress(ingressObject(ns, 'unlabelled', rule('d.example.com'), { ingressClassName: 'nginx' }));
  await eventually('selected ones translated', async () => (await getGatewayRoute(ns, 'nginx')) && (await getGatewayRoute(ns, 'legacy')));
  await operator.settled();
  expect(await getGatewayRoute(ns, 'traefik')).toBeUndefined();
  expect(await getGatewayRoute(ns, 'unlabelled')).toBeUndefined();
});

it('deletes the GatewayRoute when its Ingress stops matching the selector', async () => {
  const { networking } = clients();
  await createIngress(ingressObject(ns, 'leaving', rule('e.example.com'), { ...exposed, ingressClassName: 'nginx' }));
  await eventually('GatewayRoute leaving', async () => (await getGatewayRoute(ns, 'leaving')) !== undefined);
  const ingress = await networking.readNamespacedIngress({ namespace: ns, name: 'leaving' });
  ingress.metadata!.labels = { expose: 'no' };
  await networking.replaceNamespacedIngress({ namespace: ns, name: 'leaving', body: ingress });
  await eventually('GatewayRoute removed', async () => (await getGatewayRoute(ns, 'leaving')) === undefined);
});

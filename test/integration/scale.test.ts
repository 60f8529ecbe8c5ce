// 500 Ingresses created at once all converge to GatewayRoutes with their status written.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createTestNamespace, deleteTestNamespace, eventually } from '../support/kube.js';
import { condition, createIngress, createService, inBatches, ingressObject, listGatewayRoutes, serviceObject } from '../support/fixtures.js';
import { OperatorPool, type OperatorProcess } from '../support/operator.js';

const COUNT = 500;
const operators = new OperatorPool();
let ns: string;
let operator: OperatorProcess;

beforeAll(async () => {
  ns = await createTestNamespace('scale');
  await createService(serviceObject(ns, 'web', [{ name: 'http', port: 80 }]));
  operator = operators.start(['--watch-namespaces', ns, '--namespace', ns]);
  await operator.ready();
});

afterAll(async () => {
  await operators.stopAll();
  await deleteTestNamespace(ns);
});

it(`converges ${COUNT} Ingresses created at once`, async () => {
  const names = Array.from({ length: COUNT }, (_, i) => `app-${i}`);
  await inBatches(names, 25, (name) => createIngress(ingressObject(ns, name, [{ host: `${name}.example.com`, paths: [{ service: 'web', port: 'http' }] }])));
  const routes = await eventually(
    `${COUNT} GatewayRoutes Accepted with Ready reported`,
    async () => {
      const all = await listGatewayRoutes(ns);
      const done = all.filter((r) => condition(r, 'Accepted')?.status === 'True' && condition(r, 'Ready') !== undefined);
      return done.length === COUNT ? all : undefined;
    },
    180_000,
  );
  expect(new Set(routes.map((r) => r.spec.routes?.[0]?.host))).toEqual(new Set(names.map((n) => `${n}.example.com`)));
  expect(operator.running).toBe(true);
}, 240_000);

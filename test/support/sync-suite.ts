// What a test file of the sync path shares: one reference control plane, the operators it started and the
// namespaces it made, all cleaned up after the file. Each test still gets a namespace (and cluster) of its own.
import { afterAll, beforeAll } from '@jest/globals';
import type { ReferenceControlPlane } from '../../src/reference-control-plane/server.js';
import { startControlPlane } from './control-plane.js';
import { createIngress, createService, ingressObject, serviceObject } from './fixtures.js';
import { clients, TestNamespaces } from './kube.js';
import type { Random } from './random.js';
import { operatorArgs, OperatorPool, type OperatorArgsOptions } from './operator.js';

export interface SyncSuite {
  readonly cp: ReferenceControlPlane;
  readonly operators: OperatorPool;
  /** A namespace of the test's own with the `web` Service (port `http` 8080), deleted after the file. */
  ownNamespace(prefix: string): Promise<string>;
  /** operatorArgs for `namespace`, registered at this suite's control plane and reconnecting within a second. */
  operatorArgs(namespace: string, options?: OperatorArgsOptions, extra?: readonly string[]): string[];
}

export function syncSuite(token: string): SyncSuite {
  const operators = new OperatorPool();
  const namespaces = new TestNamespaces();
  let cp: ReferenceControlPlane | undefined;
  beforeAll(async () => {
    cp = await startControlPlane({ token });
  });
  afterAll(async () => {
    await operators.stopAll();
    await cp?.close();
    await namespaces.deleteAll();
  });
  const current = (): ReferenceControlPlane => {
    if (!cp) throw new Error('the control plane starts in beforeAll');
    return cp;
  };
  return {
    get cp(): ReferenceControlPlane {
      return current();
    },
    operators,
    async ownNamespace(prefix: string): Promise<string> {
      const ns = await namespaces.create(prefix);
      await createService(serviceObject(ns, 'web', [{ name: 'http', port: 8080 }]));
      return ns;
    },
    operatorArgs(namespace: string, options: OperatorArgsOptions = {}, extra: readonly string[] = []): string[] {
      return operatorArgs(namespace, { cp: current(), reconnectMaxMs: 1000, ...options }, extra);
    },
  };
}

/**
 * One step of seeded churn on Ingress `name` (one path to the `web` Service): create it when absent, else
 * delete it (one time in `deleteOneIn`) or move its path to `path`. `model` (name → path) follows.
 */
export async function churnStep(step: { namespace: string; name: string; host: string; path: string; model: Map<string, string>; random: Random; deleteOneIn: number }): Promise<void> {
  const { namespace, name, host, path, model } = step;
  const { networking } = clients();
  if (!model.has(name)) {
    await createIngress(ingressObject(namespace, name, [{ host, paths: [{ path, service: 'web', port: 'http' }] }]));
    model.set(name, path);
  } else if (step.random.int(step.deleteOneIn) === 0) {
    await networking.deleteNamespacedIngress({ namespace, name });
    model.delete(name);
  } else {
    const ingress = await networking.readNamespacedIngress({ namespace, name });
    ingress.spec!.rules![0]!.http!.paths[0]!.path = path;
    await networking.replaceNamespacedIngress({ namespace, name, body: ingress });
    model.set(name, path);
  }
}

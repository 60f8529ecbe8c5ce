// Client-node helpers for tests against the real apiserver: clients from KUBECONFIG, a namespace per
// test file, and `eventually` (poll a condition with a timeout, never a fixed sleep).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  NetworkingV1Api,
} from '@kubernetes/client-node';
import { testBinaries } from './test-cluster.js';
import { runCommandSync, waitFor, type CommandResult } from './processes.js';

export function testKubeconfigPath(): string {
  const path = process.env.GATEWAY_TEST_KUBECONFIG ?? process.env.KUBECONFIG;
  if (!path) throw new Error('KUBECONFIG is not set: integration tests run under the jest integration project');
  return path;
}

export function testKubeConfig(path = testKubeconfigPath()): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

export function clients(kc = testKubeConfig()) {
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    networking: kc.makeApiClient(NetworkingV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    coordination: kc.makeApiClient(CoordinationV1Api),
  };
}

/** Creates a namespace with a unique name for one test file and returns its name. */
export async function createTestNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`.toLowerCase();
  await clients().core.createNamespace({ body: { metadata: { name, labels: { 'gateway.pipeops.io/test': 'true' } } } });
  return name;
}

/** Deletes a namespace, without waiting for it to go (namespace deletion needs the controller manager). */
export async function deleteTestNamespace(name: string): Promise<void> {
  await clients().core.deleteNamespace({ name }).catch(() => undefined);
}

/** Polls until `check` returns a value other than undefined/false, and returns it. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
): Promise<T> {
  let result: T | undefined;
  await waitFor(
    what,
    async () => {
      const value = await check();
      if (value === undefined || value === false) return false;
      result = value;
      return true;
    },
    { timeoutMs, intervalMs: 100 },
  );
  return result as T;
}

/** Runs the kubectl built with the test control plane (same version as the apiserver). */
export function kubectl(args: string[], input?: string): CommandResult {
  return runCommandSync(join(testBinaries(), 'kubectl'), ['--kubeconfig', testKubeconfigPath(), ...args], { input });
}

export { apiErrorMessage } from '../../src/operator/apply.js';

// Client-node helpers for tests against the real apiserver: clients from KUBECONFIG, the namespaces a test
// file makes (TestNamespaces), and `eventually` (poll a condition with a timeout, never a fixed sleep).
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

/** The namespaces a test file made, deleted together in its afterAll even when a test failed. */
export class TestNamespaces {
  private readonly made: string[] = [];

  /** Creates a namespace with a unique name starting with `prefix` and returns its name. */
  async create(prefix: string): Promise<string> {
    const name = `${prefix}-${randomBytes(3).toString('hex')}`.toLowerCase();
    await clients().core.createNamespace({ body: { metadata: { name, labels: { 'gateway.pipeops.io/test': 'true' } } } });
    this.made.push(name);
    return name;
  }

  /** Deletes them without waiting for them to go (namespace deletion needs the controller manager). */
  async deleteAll(): Promise<void> {
    const { core } = clients();
    await Promise.all(this.made.splice(0).map((name) => core.deleteNamespace({ name }).catch(() => undefined)));
  }
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

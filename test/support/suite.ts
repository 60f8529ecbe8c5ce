// The integration project's one real control plane for the whole run, started by Jest's global setup.
// Workers inherit KUBECONFIG from this process's environment; each test works in its own namespace.
import { TestCluster } from './test-cluster.js';

let cluster: TestCluster | undefined;

export async function setupSuite(): Promise<void> {
  cluster = new TestCluster();
  const stopOnSignal = (signal: NodeJS.Signals): void => {
    void (cluster?.stop() ?? Promise.resolve()).finally(() => process.kill(process.pid, signal));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  const info = await cluster.start();
  process.env.KUBECONFIG = info.kubeconfig;
  process.env.GATEWAY_TEST_KUBECONFIG = info.kubeconfig;
}

export async function teardownSuite(): Promise<void> {
  await cluster?.stop();
  cluster = undefined;
}

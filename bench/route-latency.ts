// `make bench`: time from creating an Ingress to the control plane holding its route (median and p95
// over 100 creations, one at a time), and bytes on the wire per route. A real apiserver, the reference
// control plane in this process and the operator as a child process. Not part of `make test`.
import { CoreV1Api, NetworkingV1Api } from '@kubernetes/client-node';
import { TestCluster } from '../test/support/test-cluster.js';
import { testKubeConfig } from '../test/support/kube.js';
import { ingressObject, serviceObject } from '../test/support/fixtures.js';
import { startControlPlane, clusterByName } from '../test/support/control-plane.js';
import { OperatorProcess } from '../test/support/operator.js';
import { waitFor } from '../test/support/processes.js';

const CREATIONS = Number(process.env.BENCH_CREATIONS ?? 100);
const cluster = new TestCluster({ controllerManager: false });
const info = await cluster.start();
const kc = testKubeConfig(info.kubeconfig);
const ns = 'bench';
const cp = await startControlPlane({ token: 'bench' });
let operator: OperatorProcess | undefined;
try {
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: ns } } });
  await kc.makeApiClient(CoreV1Api).createNamespacedService({ namespace: ns, body: serviceObject(ns, 'web', [{ name: 'http', port: 8080 }]) });
  process.env.GATEWAY_TEST_KUBECONFIG = info.kubeconfig;
  operator = new OperatorProcess(['--namespace', ns, '--control-plane-url', cp.url, '--token', 'bench', '--cluster-name', 'bench'], { LOG_LEVEL: 'info' });
  await operator.ready();
  const networking = kc.makeApiClient(NetworkingV1Api);
  const latencies: number[] = [];
  let bytes = 0;
  cp.onMessage((m) => {
    if (m.type === 'ingress_routes' || m.type === 'routes_sync') bytes += JSON.stringify(m).length;
  });
  for (let i = 0; i < CREATIONS; i++) {
    const host = `app-${i}.example.com`;
    const started = performance.now();
    await networking.createNamespacedIngress({ namespace: ns, body: ingressObject(ns, `app-${i}`, [{ host, paths: [{ service: 'web', port: 'http' }] }]) });
    await waitFor(`route ${host}`, async () => [...(clusterByName(cp, 'bench')?.routes.values() ?? [])].some((r) => r.host === host), { intervalMs: 1 });
    latencies.push(performance.now() - started);
  }
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!.toFixed(1);
  const result = {
    creations: CREATIONS,
    medianMs: Number(pct(50)),
    p95Ms: Number(pct(95)),
    maxMs: Number(latencies[latencies.length - 1]!.toFixed(1)),
    wireBytesPerRoute: Math.round(bytes / CREATIONS),
  };
  console.log(JSON.stringify({ bench: 'ingress-to-control-plane', ...result }));
} finally {
  await operator?.stop().catch(() => operator?.kill());
  await cp.close();
  await cluster.stop();
}

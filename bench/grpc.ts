// `make bench`, third part: backends that speak more than plain HTTP/1.1, each figure measured straight to the
// backend and through the reference gateway + the WebSocket + the operator in the same run:
//   gRPC     unary calls/s at 32 calls in flight on one channel (HTTP/2 end to end: h2c to the gateway, h2c from
//            the operator to the backend); `grpc_rps_ratio` = through the tunnel / straight
//   HTTPS    requests/s at 32 keep-alive clients through the tunnel to an HTTPS backend (verified against a CA
//            from a BackendTLSPolicy) against the same through the tunnel to the plain HTTP backend
// Every party runs in a process of its own (this one is the load generator; the reference control plane and
// its gateway, the backends and the operator are children), so the figures say what the tunnel costs rather
// than what the backends or the load generator cost it. Figures merge into the results file of `make bench`.
import * as grpc from '@grpc/grpc-js';
import { Agent } from 'node:http';
import { CoreV1Api, CustomObjectsApi, NetworkingV1Api } from '@kubernetes/client-node';
import { makeCa } from '../test/support/certs.js';
import { ingressObject, serviceObject } from '../test/support/fixtures.js';
import { benchRuntime, describeRuntime, operatorArgs, type OperatorProcess } from '../test/support/operator.js';
import { waitFor } from '../test/support/processes.js';
import { TestCluster } from '../test/support/test-cluster.js';
import { ECHO_SERVICE } from './backend-api.js';
import { concurrently, expectOk, getText, startBackends, startBenchCluster, startBenchOperator, startReferenceControlPlane, stopChildren } from './children.js';
import { pct, recordResults, RESULTS_FILE, round, type Target } from './results.js';

const TOKEN = 'bench';
const NS = 'grpc-bench';
const HOSTS = { grpc: 'grpc.bench.example.com', plain: 'plain.bench.example.com', secure: 'secure.bench.example.com' };
const TLS_NAME = 'secure.bench.internal';
const CALLS = 10_000;
const IN_FLIGHT = 32;

/** `total` unary calls with `inFlight` of them outstanding at once on one channel; calls/s and latencies in ms. */
function unaryCalls(client: grpc.Client, total: number, inFlight: number): Promise<{ rps: number; latencies: number[] }> {
  const message = Buffer.from('{"op":"ping"}');
  return concurrently(total, inFlight, () => new Promise<void>((resolve, reject) =>
    client.makeUnaryRequest(ECHO_SERVICE.unary!.path, (b: Buffer) => b, (b: Buffer) => b, message, (err, reply) => (err ? reject(err) : reply?.length === message.length ? resolve() : reject(new Error('short reply')))),
  ));
}

/** Requests/s for `total` GETs from `clients` concurrent keep-alive clients to `host` through the gateway. */
async function httpRequests(port: number, host: string, clients: number, total: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  try {
    return (await concurrently(total, clients, () => expectOk({ port, host, agent }, '/'))).rps;
  } finally {
    agent.destroy();
  }
}

const cluster = new TestCluster({ controllerManager: false });
const ca = makeCa('bench CA');
const RUNTIME = benchRuntime();
let operator: OperatorProcess | undefined;
const results: Record<string, number | string> = {};
try {
  const kc = await startBenchCluster(cluster);
  const leaf = ca.issue([TLS_NAME]);
  const backends = await startBackends({ BENCH_TLS_CERT: leaf.cert, BENCH_TLS_KEY: leaf.key });
  const { cp: controlPlane, gatewayPort } = await startReferenceControlPlane(TOKEN);

  const core = kc.makeApiClient(CoreV1Api);
  const networking = kc.makeApiClient(NetworkingV1Api);
  await core.createNamespace({ body: { metadata: { name: NS } } });
  const grpcService = serviceObject(NS, 'greeter', [{ name: 'grpc', port: 50051 }]);
  grpcService.spec!.ports![0]!.appProtocol = 'kubernetes.io/h2c';
  await core.createNamespacedService({ namespace: NS, body: grpcService });
  await core.createNamespacedService({ namespace: NS, body: serviceObject(NS, 'plain', [{ name: 'http', port: 8080 }]) });
  await core.createNamespacedService({ namespace: NS, body: serviceObject(NS, 'secure', [{ name: 'https', port: 8443 }]) });
  await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'secure-ca', namespace: NS }, data: { 'ca.crt': ca.cert } } });
  await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: 'gateway.networking.k8s.io', version: 'v1', plural: 'backendtlspolicies', namespace: NS,
    body: {
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'BackendTLSPolicy', metadata: { name: 'secure', namespace: NS },
      spec: { targetRefs: [{ group: '', kind: 'Service', name: 'secure' }], validation: { caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'secure-ca' }], hostname: TLS_NAME } },
    },
  });
  await networking.createNamespacedIngress({ namespace: NS, body: ingressObject(NS, 'greeter', [{ host: HOSTS.grpc, paths: [{ service: 'greeter', port: 'grpc' }] }]) });
  await networking.createNamespacedIngress({ namespace: NS, body: ingressObject(NS, 'plain', [{ host: HOSTS.plain, paths: [{ service: 'plain', port: 'http' }] }]) });
  await networking.createNamespacedIngress({ namespace: NS, body: ingressObject(NS, 'secure', [{ host: HOSTS.secure, paths: [{ service: 'secure', port: 'https' }] }]) });

  operator = startBenchOperator(
    operatorArgs(NS, { cp: controlPlane }, [
      '--service-address', `${NS}/greeter=127.0.0.1:${backends.grpcPort}`,
      '--service-address', `${NS}/plain=127.0.0.1:${backends.httpPort}`,
      '--service-address', `${NS}/secure=127.0.0.1:${backends.httpsPort}`,
    ]),
    RUNTIME,
  );
  results.grpc_operator_runtime = describeRuntime(RUNTIME);
  await operator.registered();

  const direct = new grpc.Client(`127.0.0.1:${backends.grpcPort}`, grpc.credentials.createInsecure());
  const tunnel = new grpc.Client(`127.0.0.1:${gatewayPort}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': HOSTS.grpc });
  await waitFor('every route served through the gateway', async () => {
    try {
      await unaryCalls(tunnel, 1, 1);
      await httpRequests(gatewayPort, HOSTS.plain, 1, 1);
      await httpRequests(gatewayPort, HOSTS.secure, 1, 1);
      return true;
    } catch {
      return false;
    }
  }, { timeoutMs: 60_000 });

  for (const client of [direct, tunnel]) await unaryCalls(client, 2_000, IN_FLIGHT); // warm-up: JIT, sessions
  console.error('bench: gRPC unary calls');
  const direct1 = await unaryCalls(direct, 1_000, 1);
  const tunnel1 = await unaryCalls(tunnel, 1_000, 1);
  const directMany = await unaryCalls(direct, CALLS, IN_FLIGHT);
  const tunnelMany = await unaryCalls(tunnel, CALLS, IN_FLIGHT);
  console.error('bench: HTTPS against plain HTTP backends, both through the tunnel');
  await httpRequests(gatewayPort, HOSTS.plain, 8, 500);
  await httpRequests(gatewayPort, HOSTS.secure, 8, 500);
  const plain = await httpRequests(gatewayPort, HOSTS.plain, 32, CALLS);
  const handshakesBefore = Number(await getText({ port: gatewayPort, host: HOSTS.secure, agent: false }, '/handshakes'));
  const secure = await httpRequests(gatewayPort, HOSTS.secure, 32, CALLS);
  results.https_backend_handshakes = Number(await getText({ port: gatewayPort, host: HOSTS.secure, agent: false }, '/handshakes')) - handshakesBefore;
  direct.close();
  tunnel.close();

  results.grpc_rps_direct = round(directMany.rps, 0);
  results.grpc_rps_tunnel = round(tunnelMany.rps, 0);
  results.grpc_rps_ratio = round(tunnelMany.rps / directMany.rps);
  results.grpc_added_p50_ms = round(pct(tunnel1.latencies, 50) - pct(direct1.latencies, 50));
  results.https_backend_rps = round(secure, 0);
  results.http_backend_rps = round(plain, 0);
  results.https_backend_rps_ratio = round(secure / plain);
} finally {
  await operator?.stop().catch(() => operator?.kill());
  stopChildren();
  ca.remove();
  await cluster.stop();
}

const TARGETS: Target[] = [
  ['grpc_rps_ratio', '>=', 0.5],
  // TLS to the backend is paid once per kept-alive connection: through the tunnel it should cost little.
  ['https_backend_rps_ratio', '>=', 0.8],
];
recordResults(RESULTS_FILE, 'gRPC and HTTPS backends', results, TARGETS);
process.exit(0);

// `make bench`, second part: the tunnel side by side with the backend it reaches, in one run on one backend.
// Each figure is measured twice, straight to the loopback backend and through the reference gateway + the
// WebSocket + the operator, and the ratio or the difference is what counts:
//   small responses   requests/s at 1 and 32 concurrent clients (keep-alive), latency p50/p99 at 1
//   bulk              MB/s for a 10 MiB response and for a 10 MiB upload
//   WebSocket         round-trip messages/s over one echo stream, 16 messages in flight
// Every party runs in a process of its own (this one is the load generator; the backend, the reference control
// plane and its gateway, and the operator are children), so the figures say what the tunnel costs rather than
// what the backend or the load generator cost it.
// Figures merge into the results file of `make bench` (bench/results.json for BENCH_N=10000).
import { Agent } from 'node:http';
import { CoreV1Api, NetworkingV1Api } from '@kubernetes/client-node';
import WebSocket from 'ws';
import { ingressObject, serviceObject } from '../test/support/fixtures.js';
import { benchRuntime, describeRuntime, operatorArgs, type OperatorProcess } from '../test/support/operator.js';
import { waitFor } from '../test/support/processes.js';
import { TestCluster } from '../test/support/test-cluster.js';
import { BULK_BYTES } from './backend-api.js';
import { concurrently, expectOk, startBackends, startBenchCluster, startBenchOperator, startReferenceControlPlane, stopChildren, type Endpoint } from './children.js';
import { pct, recordResults, RESULTS_FILE, round, type Target } from './results.js';

const TOKEN = 'bench';
const HOST = 'bench.example.com';
const NS = 'tunnel-bench';
const MiB = 1024 * 1024;
const BULK_BODY = Buffer.alloc(BULK_BYTES, 7);

/** Round-trip messages/s: `total` small messages over one stream, `window` of them in flight at a time. */
async function webSocketRoundTrips(port: number, total: number, window: number): Promise<number> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/echo`, { headers: { host: HOST }, perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
  const message = Buffer.from('{"op":"tick","seq":0}');
  let sent = 0;
  let received = 0;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    ws.on('message', () => {
      if (++received === total) return resolve();
      if (sent < total) (sent++, ws.send(message));
    });
    for (; sent < window; sent++) ws.send(message);
  });
  const perSecond = total / ((performance.now() - started) / 1000);
  ws.close(1000);
  return perSecond;
}

/** Requests/s for `total` small requests from `clients` concurrent keep-alive clients; latencies in ms. */
const smallRequests = (endpoint: Endpoint, clients: number, total: number) => concurrently(total, clients, () => expectOk(endpoint, '/small'));

/** MB/s (MiB per second) over `rounds` sequential transfers of BULK_BYTES. */
async function bulk(endpoint: Endpoint, direction: 'download' | 'upload', rounds: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < rounds; i++) {
    if (direction === 'download') {
      if ((await expectOk(endpoint, '/big')) !== BULK_BYTES) throw new Error('short download');
    } else await expectOk(endpoint, '/upload', BULK_BODY);
  }
  return (rounds * BULK_BYTES) / MiB / ((performance.now() - started) / 1000);
}

const cluster = new TestCluster({ controllerManager: false });
// What users run (the image's Node and the bundle) unless BENCH_RUNTIME says otherwise.
const RUNTIME = benchRuntime();
let operator: OperatorProcess | undefined;
const results: Record<string, number | string> = {};
try {
  const kc = await startBenchCluster(cluster);
  const backend = await startBackends();
  const { cp, gatewayPort } = await startReferenceControlPlane(TOKEN);
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: NS } } });
  await kc.makeApiClient(CoreV1Api).createNamespacedService({ namespace: NS, body: serviceObject(NS, 'web', [{ name: 'http', port: 8080 }]) });
  await kc.makeApiClient(NetworkingV1Api).createNamespacedIngress({ namespace: NS, body: ingressObject(NS, 'web', [{ host: HOST, paths: [{ service: 'web', port: 'http' }] }]) });
  operator = startBenchOperator(operatorArgs(NS, { cp }, ['--service-address', `${NS}/web=127.0.0.1:${backend.httpPort}`]), RUNTIME);
  results.tunnel_operator_runtime = describeRuntime(RUNTIME);
  await operator.registered();
  const direct = { port: backend.httpPort, host: HOST, agent: new Agent({ keepAlive: true, maxSockets: 64 }) };
  const tunnel = { port: gatewayPort, host: HOST, agent: new Agent({ keepAlive: true, maxSockets: 64 }) };
  await waitFor('the route served through the gateway', () => expectOk(tunnel, '/small').then(() => true, () => false), { timeoutMs: 30_000 });
  for (const endpoint of [direct, tunnel]) await smallRequests(endpoint, 8, 500); // warm-up: JIT, connections

  console.error('bench: small responses, 1 client');
  const direct1 = await smallRequests(direct, 1, 2_000);
  const tunnel1 = await smallRequests(tunnel, 1, 2_000);
  console.error('bench: small responses, 32 clients');
  const direct32 = await smallRequests(direct, 32, 10_000);
  const tunnel32 = await smallRequests(tunnel, 32, 10_000);
  console.error('bench: 10 MiB down and up');
  const directDown = await bulk(direct, 'download', 5);
  const tunnelDown = await bulk(tunnel, 'download', 5);
  const directUp = await bulk(direct, 'upload', 5);
  const tunnelUp = await bulk(tunnel, 'upload', 5);
  console.error('bench: WebSocket round trips');
  await webSocketRoundTrips(gatewayPort, 2_000, 16); // warm-up
  const directWs = await webSocketRoundTrips(backend.httpPort, 20_000, 16);
  const tunnelWs = await webSocketRoundTrips(gatewayPort, 20_000, 16);

  results.tunnel_rps_1 = round(tunnel1.rps, 0);
  results.direct_rps_1 = round(direct1.rps, 0);
  results.tunnel_rps_32 = round(tunnel32.rps, 0);
  results.direct_rps_32 = round(direct32.rps, 0);
  results.tunnel_rps_ratio = round(tunnel32.rps / direct32.rps);
  results.tunnel_added_p50_ms = round(pct(tunnel1.latencies, 50) - pct(direct1.latencies, 50));
  results.tunnel_added_p99_ms = round(pct(tunnel1.latencies, 99) - pct(direct1.latencies, 99));
  results.tunnel_mbps = round(tunnelDown, 1);
  results.direct_mbps = round(directDown, 1);
  results.tunnel_mbps_ratio = round(tunnelDown / directDown);
  results.tunnel_upload_mbps = round(tunnelUp, 1);
  results.direct_upload_mbps = round(directUp, 1);
  results.tunnel_upload_mbps_ratio = round(tunnelUp / directUp);
  results.ws_msgs_per_s = round(tunnelWs, 0);
  results.direct_ws_msgs_per_s = round(directWs, 0);
  results.ws_msgs_ratio = round(tunnelWs / directWs);
} finally {
  await operator?.stop().catch(() => operator?.kill());
  stopChildren();
  await cluster.stop();
}

const TARGETS: Target[] = [
  ['tunnel_rps_ratio', '>=', 0.5],
  ['tunnel_mbps_ratio', '>=', 0.5],
  ['tunnel_added_p50_ms', '<=', 0.3],
];
recordResults(RESULTS_FILE, 'tunnel', results, TARGETS);
process.exit(0);

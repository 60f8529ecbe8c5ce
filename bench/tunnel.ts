// `make bench`, second part: the tunnel side by side with the backend it reaches, in one run on one backend.
// Each figure is measured twice, straight to the loopback backend and through the reference gateway + the
// WebSocket + the operator, and the ratio or the difference is what counts:
//   small responses   requests/s at 1 and 32 concurrent clients (keep-alive), latency p50/p99 at 1
//   bulk              MB/s for a 10 MiB response and for a 10 MiB upload
//   WebSocket         round-trip messages/s over one echo stream, 16 messages in flight
// Figures merge into the results file of `make bench` (bench/results.json for BENCH_N=10000).
import { createServer, request, Agent, type IncomingMessage } from 'node:http';
import { CoreV1Api, NetworkingV1Api } from '@kubernetes/client-node';
import WebSocket, { WebSocketServer } from 'ws';
import { ingressObject, serviceObject } from '../test/support/fixtures.js';
import { heldRoutes } from '../test/support/control-plane.js';
import { benchRuntime, describeRuntime, operatorArgs, OperatorProcess } from '../test/support/operator.js';
import { waitFor } from '../test/support/processes.js';
import { startBenchStack } from './stack.js';
import { recordResults, RESULTS_FILE, type Target } from './results.js';

const TOKEN = 'bench';
const HOST = 'bench.example.com';
const NS = 'tunnel-bench';
const MiB = 1024 * 1024;
const BULK_BYTES = 10 * MiB;
const SMALL_BODY = Buffer.from('{"ok":true}');
const BULK_BODY = Buffer.alloc(BULK_BYTES, 7);

/** The backend: a small JSON answer, a 10 MiB download, and an upload sink. */
const backend = createServer((req, res) => {
  if (req.url === '/big') {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': BULK_BYTES });
    return void res.end(BULK_BODY);
  }
  if (req.url === '/upload') {
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    return void req.on('end', () => res.end(JSON.stringify({ bytes })));
  }
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': SMALL_BODY.length });
  res.end(SMALL_BODY);
});

// A WebSocket echo on the same backend.
const echo = new WebSocketServer({ noServer: true, perMessageDeflate: false });
backend.on('upgrade', (req, socket, head) => echo.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }))));

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

interface Endpoint {
  port: number;
  agent: Agent;
}

/** One request; resolves with the status and the number of body bytes once the body has been read. */
function call(endpoint: Endpoint, path: string, body?: Buffer): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { Host: HOST };
    if (body) headers['Content-Length'] = body.length;
    const req = request({ host: '127.0.0.1', port: endpoint.port, path, method: body ? 'POST' : 'GET', headers, agent: endpoint.agent }, (res: IncomingMessage) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function expectOk(endpoint: Endpoint, path: string, body?: Buffer): Promise<number> {
  const result = await call(endpoint, path, body);
  if (result.status !== 200) throw new Error(`${path} answered ${result.status} on port ${endpoint.port}`);
  return result.bytes;
}

/** Requests/s for `total` small requests from `clients` concurrent keep-alive clients; latencies in ms. */
async function smallRequests(endpoint: Endpoint, clients: number, total: number): Promise<{ rps: number; latencies: number[] }> {
  let next = 0;
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(Array.from({ length: clients }, async () => {
    while (next++ < total) {
      const t = performance.now();
      await expectOk(endpoint, '/small');
      latencies.push(performance.now() - t);
    }
  }));
  return { rps: total / ((performance.now() - started) / 1000), latencies };
}

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

const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};
const round = (n: number, digits = 2) => Number(n.toFixed(digits));

const { cluster, kc, backendPort, cp, gateway, gatewayPort } = await startBenchStack(backend, TOKEN);
// What users run (the image's Node and the bundle) unless BENCH_RUNTIME says otherwise.
const RUNTIME = benchRuntime();
let operator: OperatorProcess | undefined;
const results: Record<string, number | string> = {};
try {
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: NS } } });
  await kc.makeApiClient(CoreV1Api).createNamespacedService({ namespace: NS, body: serviceObject(NS, 'web', [{ name: 'http', port: 8080 }]) });
  await kc.makeApiClient(NetworkingV1Api).createNamespacedIngress({ namespace: NS, body: ingressObject(NS, 'web', [{ host: HOST, paths: [{ service: 'web', port: 'http' }] }]) });
  operator = new OperatorProcess(
    operatorArgs(NS, { cp }, ['--service-address', `${NS}/web=127.0.0.1:${backendPort}`]),
    // OPERATOR_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=prof") profiles the operator during the run.
    { LOG_LEVEL: 'info', ...(process.env.OPERATOR_NODE_ARGS ? { OPERATOR_NODE_ARGS: process.env.OPERATOR_NODE_ARGS } : {}) },
    RUNTIME,
  );
  results.tunnel_operator_runtime = describeRuntime(RUNTIME);
  await operator.registered();
  await waitFor('the route at the gateway', async () => heldRoutes(cp, NS).length === 1, { timeoutMs: 30_000 });

  const direct = { port: backendPort, agent: new Agent({ keepAlive: true, maxSockets: 64 }) };
  const tunnel = { port: gatewayPort, agent: new Agent({ keepAlive: true, maxSockets: 64 }) };
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
  const directWs = await webSocketRoundTrips(backendPort, 20_000, 16);
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
  await gateway.close();
  await cp.close();
  backend.closeAllConnections();
  backend.close();
  await cluster.stop();
}

const TARGETS: Target[] = [
  ['tunnel_rps_ratio', '>=', 0.5],
  ['tunnel_mbps_ratio', '>=', 0.5],
  ['tunnel_added_p50_ms', '<=', 0.3],
];
recordResults(RESULTS_FILE, 'tunnel', results, TARGETS);
process.exit(0);

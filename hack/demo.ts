// `make demo`: the whole thing on this machine. A real kube-apiserver + etcd with the CRDs, the reference
// control plane and its gateway, a sample backend on loopback standing in for the monitoring Services,
// the operator, the seeds' Ingresses and an HTTPRoute; then what a user would look at, and requests through
// the tunnel. Runs until Ctrl-C (or `make demo-down`) and cleans up everything it started.
import * as grpc from '@grpc/grpc-js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createServer, get } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../src/log.js';
import { Gateway } from '../src/reference-control-plane/gateway.js';
import { ReferenceControlPlane } from '../src/reference-control-plane/server.js';
import { REPO_ROOT, TestCluster, freePort } from '../test/support/test-cluster.js';
import { makeCa } from '../test/support/certs.js';
import { kubectl as testKubectl } from '../test/support/kube.js';
import { OperatorProcess } from '../test/support/operator.js';
import { waitFor } from '../test/support/processes.js';
import WebSocket, { WebSocketServer } from 'ws';

const local = join(REPO_ROOT, '.local');
mkdirSync(local, { recursive: true });
const pidFile = join(local, 'demo.pid');
writeFileSync(pidFile, String(process.pid));
const TOKEN = 'demo-token';
const NS = 'pipeops-monitoring';
const SERVICES = ['grafana', 'loki', 'opencost', 'prometheus'];

const step = (text: string) => console.log(`\n==> ${text}`);
const cluster = new TestCluster({ kubeconfigCopy: join(local, 'kubeconfig') });
const cp = new ReferenceControlPlane({ port: Number(process.env.DEMO_CP_PORT ?? 0), token: TOKEN, logger: silentLogger() });
const gateway = new Gateway(cp);
const backend = createServer((req, res) => {
  if (req.url === '/events') {
    // Server-sent events: one a second, five in all, each passed on as it is written.
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    let n = 0;
    const timer = setInterval(() => {
      res.write(`data: event ${++n} from ${req.headers.host}\n\n`);
      if (n === 5) {
        clearInterval(timer);
        res.end();
      }
    }, 1000);
    res.on('close', () => clearInterval(timer));
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.end(`hello from ${req.headers.host}${req.url} (the sample backend behind the tunnel)\n`);
});
// A WebSocket echo on /ws, as a dashboard's live updates would use.
const echo = new WebSocketServer({ noServer: true });
backend.on('upgrade', (req, socket, head) =>
  echo.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `echo: ${data.toString()}`, { binary: isBinary }))),
);
// A gRPC service (HTTP/2 cleartext) whose messages are UTF-8 text, so hack/grpc-call.mjs needs no .proto.
const text = { serialize: (s: string) => Buffer.from(s, 'utf8'), deserialize: (b: Buffer) => b.toString('utf8') };
const GREETER: grpc.ServiceDefinition = {
  sayHello: { path: '/demo.Greeter/SayHello', requestStream: false, responseStream: false, requestSerialize: text.serialize, requestDeserialize: text.deserialize, responseSerialize: text.serialize, responseDeserialize: text.deserialize },
};
const greeter = new grpc.Server();
greeter.addService(GREETER, {
  sayHello: (call: grpc.ServerUnaryCall<string, string>, done: grpc.sendUnaryData<string>) => done(null, `hello ${call.request}, from the gRPC service behind the tunnel (HTTP/2 all the way)`),
});
// An HTTPS-only backend (as Vault or Argo CD's server are), its certificate from a CA the demo makes.
const ca = makeCa('demo CA');
const vaultCert = ca.issue(['vault.pipeops-monitoring.svc']);
const vault = createHttpsServer({ cert: vaultCert.cert, key: vaultCert.key }, (_req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.end('hello from the HTTPS-only backend: the operator spoke TLS to it and verified its certificate against ConfigMap vault-ca\n');
});
let operator: OperatorProcess | undefined;

/** GET through the gateway with this Host, as curl -H 'Host: …' does (fetch() may not set Host). */
function viaGateway(port: number, host: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, headers: { Host: host } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

async function cleanup(code: number): Promise<never> {
  step('stopping the operator, control plane and test cluster');
  await operator?.stop().catch(() => operator?.kill());
  await gateway.close().catch(() => undefined);
  await cp.close().catch(() => undefined);
  backend.closeAllConnections();
  backend.close();
  vault.closeAllConnections();
  vault.close();
  greeter.forceShutdown();
  ca.remove();
  await cluster.stop();
  rmSync(pidFile, { force: true });
  process.exit(code);
}

try {
  step('starting kube-apiserver + etcd (building them first if this machine has not yet)');
  const info = await cluster.start();
  // The test helpers (kubectl, OperatorProcess) find the cluster through this.
  process.env.GATEWAY_TEST_KUBECONFIG = info.kubeconfig;
  const kubectl = (...args: string[]) => {
    const r = testKubectl(args);
    return (r.stdout + r.stderr).trimEnd();
  };
  const cpPort = await cp.listen();
  const gatewayPort = await gateway.listen(Number(process.env.DEMO_GATEWAY_PORT ?? 0) || (await freePort()));
  const backendPort = await new Promise<number>((resolve) => backend.listen(0, '127.0.0.1', () => resolve((backend.address() as AddressInfo).port)));
  const vaultPort = await new Promise<number>((resolve) => vault.listen(0, '127.0.0.1', () => resolve((vault.address() as AddressInfo).port)));
  const greeterPort = await new Promise<number>((resolve, reject) => greeter.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))));
  console.log(`control plane http://127.0.0.1:${cpPort}, gateway http://127.0.0.1:${gatewayPort}, sample backend 127.0.0.1:${backendPort}, gRPC 127.0.0.1:${greeterPort}, HTTPS 127.0.0.1:${vaultPort}`);

  step(`kubectl apply -f config/samples/demo-monitoring.yaml`);
  console.log(kubectl('apply', '-f', join(REPO_ROOT, 'config/samples/demo-monitoring.yaml')));
  kubectl('create', 'namespace', 'gateway-system');

  step('starting the operator');
  operator = new OperatorProcess(
    [
      '--control-plane-url', `http://127.0.0.1:${cpPort}`, '--cluster-name', 'demo',
      ...SERVICES.flatMap((s) => ['--service-address', `${NS}/${s}=127.0.0.1:${backendPort}`]),
      '--service-address', `${NS}/greeter=127.0.0.1:${greeterPort}`, '--service-address', `${NS}/vault=127.0.0.1:${vaultPort}`,
    ],
    { GATEWAY_TOKEN: cp.agentToken('demo'), LOG_LEVEL: 'info' },
  );
  await operator.ready(60_000);
  await waitFor('four routes at the control plane', async () => (cp.store.clusters()[0]?.routes.size ?? 0) === 4, { timeoutMs: 30_000 });

  step('kubectl apply -f config/samples/demo-gateway-api.yaml   (GatewayClass, Gateway, HTTPRoute)');
  console.log(kubectl('apply', '-f', join(REPO_ROOT, 'config/samples/demo-gateway-api.yaml')));
  await waitFor('the HTTPRoute at the control plane', async () => (cp.store.clusters()[0]?.routes.size ?? 0) === 5, { timeoutMs: 30_000 });
  await waitFor('GatewayRoutes Synced', async () => !kubectl('get', 'gwr', '-n', NS, '--no-headers').split('\n').some((l) => !/\sTrue\s/.test(l)), { timeoutMs: 30_000 });

  step('kubectl create configmap vault-ca --from-file=ca.crt=<the demo CA>; kubectl apply -f config/samples/demo-backends.yaml   (GRPCRoute, HTTPS Ingress, BackendTLSPolicy)');
  console.log(kubectl('create', 'configmap', 'vault-ca', '-n', NS, `--from-literal=ca.crt=${ca.cert}`));
  console.log(kubectl('apply', '-f', join(REPO_ROOT, 'config/samples/demo-backends.yaml')));
  await waitFor('the gRPC and HTTPS routes at the control plane', async () => (cp.store.clusters()[0]?.routes.size ?? 0) === 7, { timeoutMs: 30_000 });

  step('kubectl get gatewayroutes -A');
  console.log(kubectl('get', 'gatewayroutes', '-A'));
  step(`kubectl get httproute -n ${NS} dashboards -o jsonpath='{.status.parents[0].conditions}'`);
  await waitFor('HTTPRoute status', async () => kubectl('get', 'httproute', '-n', NS, 'dashboards', '-o', 'jsonpath={.status.parents[0].conditions}').includes('ResolvedRefs'), { timeoutMs: 30_000 });
  const parentConditions = JSON.parse(kubectl('get', 'httproute', '-n', NS, 'dashboards', '-o', 'jsonpath={.status.parents[0].conditions}')) as Array<Record<string, string>>;
  for (const c of parentConditions) console.log(`  ${c.type}=${c.status} ${c.reason}: ${c.message}`);
  step('kubectl get clusterconnectivity');
  console.log(kubectl('get', 'clusterconnectivity'));
  step(`curl -H 'Authorization: Bearer ${TOKEN}' http://127.0.0.1:${cpPort}/api/v1/gateway/routes/cluster/<uuid>`);
  const uuid = cp.store.clusters()[0]!.cluster_uuid;
  const routes = (await (await fetch(`http://127.0.0.1:${cpPort}/api/v1/gateway/routes/cluster/${uuid}`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json()) as { routes: Array<Record<string, unknown>> };
  for (const r of routes.routes) console.log(`  ${r.host}${r.path} → ${r.namespace}/${r.service}:${r.port} tls=${r.tls}`);
  step(`curl -H 'Host: grafana.example.com' http://127.0.0.1:${gatewayPort}/`);
  const answer = await viaGateway(gatewayPort, 'grafana.example.com', '/');
  console.log(`HTTP ${answer.status}: ${answer.body.trimEnd()}`);
  step(`curl -H 'Host: dashboards.example.com' http://127.0.0.1:${gatewayPort}/d/home   (through the HTTPRoute)`);
  const viaRoute = await viaGateway(gatewayPort, 'dashboards.example.com', '/d/home');
  console.log(`HTTP ${viaRoute.status}: ${viaRoute.body.trimEnd()}`);

  step(`node hack/grpc-call.mjs 127.0.0.1:${gatewayPort} Ada   (a gRPC call through the GRPCRoute: HTTP/2 to the gateway, through the tunnel, HTTP/2 to the service)`);
  // Asynchronously: the gateway it calls runs in this process.
  const grpcAnswer = (await promisify(execFile)(process.execPath, [join(REPO_ROOT, 'hack/grpc-call.mjs'), `127.0.0.1:${gatewayPort}`, 'Ada'], { encoding: 'utf8' })).stdout.trimEnd();
  console.log(grpcAnswer);
  step(`curl -H 'Host: vault.example.com' http://127.0.0.1:${gatewayPort}/   (an HTTPS backend, verified by its BackendTLSPolicy)`);
  const viaTls = await viaGateway(gatewayPort, 'vault.example.com', '/');
  console.log(`HTTP ${viaTls.status}: ${viaTls.body.trimEnd()}`);
  step(`kubectl get gatewayroute -n ${NS} vault -o jsonpath='{.status.conditions[?(@.type=="ResolvedRefs")].message}'`);
  console.log(kubectl('get', 'gatewayroute', '-n', NS, 'vault', '-o', 'jsonpath={.status.conditions[?(@.type=="ResolvedRefs")].message}'));

  step(`a WebSocket through the tunnel: ws://127.0.0.1:${gatewayPort}/ws with Host grafana.example.com`);
  const echoed = await new Promise<string>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${gatewayPort}/ws`, { headers: { host: 'grafana.example.com' } });
    ws.once('open', () => ws.send('hello over the tunnel'));
    ws.once('message', (data) => {
      resolve(data.toString());
      ws.close(1000);
    });
    ws.once('error', reject);
  });
  console.log(echoed);

  console.log(`\nRunning. Try:
  KUBECONFIG=.local/kubeconfig kubectl get gwr -A
  KUBECONFIG=.local/kubeconfig kubectl get httproute,gateway,gatewayclass -A
  curl -H 'Host: loki.example.com' http://127.0.0.1:${gatewayPort}/
  curl -H 'Host: dashboards.example.com' http://127.0.0.1:${gatewayPort}/d/x           # through the HTTPRoute
  curl -N -H 'Host: grafana.example.com' http://127.0.0.1:${gatewayPort}/events      # server-sent events, one a second
  node hack/grpc-call.mjs 127.0.0.1:${gatewayPort} Ada                         # gRPC through the GRPCRoute (no grpcurl needed)
  curl -H 'Host: vault.example.com' http://127.0.0.1:${gatewayPort}/              # an HTTPS backend with a BackendTLSPolicy
  node -e "const ws = new (require('ws'))('ws://127.0.0.1:${gatewayPort}/ws', { headers: { host: 'grafana.example.com' } }); ws.on('open', () => ws.send('hi')); ws.on('message', (m) => { console.log(String(m)); ws.close(); })"`);
  console.log('Ctrl-C (or make demo-down) stops everything.');
  if (process.env.DEMO_EXIT === '1') await cleanup(answer.status === 200 && viaRoute.status === 200 && viaTls.status === 200 && grpcAnswer.startsWith('hello Ada') ? 0 : 1);
  process.on('SIGINT', () => void cleanup(0));
  process.on('SIGTERM', () => void cleanup(0));
} catch (err) {
  console.error(`demo failed: ${(err as Error).message}`);
  if (operator) console.error(operator.stderr.join('\n'));
  await cleanup(1);
}

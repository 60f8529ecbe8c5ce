// `make bench`, third part: availability of the tunnel while replicas come and go, as users see it. Two
// operator replicas (leader election, the shipped runtime) behind the reference gateway, 8 keep-alive clients
// sending GETs the whole time, and three events:
//   a rolling replacement (a new replica ready, an old one SIGTERMed, twice)   ha_graceful_failed
//   SIGKILL of the leader (a node lost)                                        ha_crash_failed, ha_crash_outage_s
//   the control plane restarted (its state lost)                               ha_cp_restart_s
// Figures merge into the results file of `make bench`.
import { createServer } from 'node:http';
import { CoreV1Api, NetworkingV1Api } from '@kubernetes/client-node';
import { Gateway } from '../src/reference-control-plane/gateway.js';
import type { ReferenceControlPlane } from '../src/reference-control-plane/server.js';
import { ingressObject, serviceObject } from '../test/support/fixtures.js';
import { heldRoutes, startControlPlane } from '../test/support/control-plane.js';
import { Load } from '../test/support/load.js';
import { benchRuntime, describeRuntime, operatorArgs, OperatorProcess } from '../test/support/operator.js';
import { waitFor } from '../test/support/processes.js';
import { procStat } from './proc.js';
import { startBenchStack } from './stack.js';
import { recordResults, RESULTS_FILE, type Target } from './results.js';

const TOKEN = 'bench';
const HOST = 'ha.example.com';
const NS = 'ha-bench';
/** After a SIGKILL: the Lease (15 s) expires and the standby takes the route sync over; measured past that. */
const CRASH_WATCH_MS = 20_000;
/** Ingresses in the cluster, so the standby's cache (GatewayRoutes, Services) has something to weigh. */
const INGRESSES = Number(process.env.BENCH_HA_INGRESSES ?? 1_000);

const backend = createServer((_req, res) => res.end('{"ok":true}'));
const stack = await startBenchStack(backend, TOKEN, { maxExchangesPerSource: 1_000 });
const { cluster, kc, backendPort, gatewayPort } = stack;
let cp: ReferenceControlPlane = stack.cp;
let gateway = stack.gateway;
const cpPort = new URL(cp.url).port;
const RUNTIME = benchRuntime();
const replicas: OperatorProcess[] = [];
const results: Record<string, number | string> = {};
const targets: Target[] = [
  ['ha_graceful_failed', '=', 0],
  ['ha_crash_outage_s', '=', 0],
  ['ha_cp_restart_s', '<=', 2],
];

function replica(name: string): OperatorProcess {
  const op = new OperatorProcess(
    operatorArgs(NS, { cp }, ['--leader-elect', '--service-address', `${NS}/web=127.0.0.1:${backendPort}`]),
    { LOG_LEVEL: 'info', POD_NAME: name },
    RUNTIME,
  );
  replicas.push(op);
  return op;
}

const isLeader = async (op: OperatorProcess): Promise<boolean> => (await op.get('/api/health/detailed').catch(() => ({ body: {} }))).body.leader === true;

const load = new Load({ port: gatewayPort, host: HOST, path: '/', clients: 8, timeoutMs: 10_000 });
try {
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: NS } } });
  await kc.makeApiClient(CoreV1Api).createNamespacedService({ namespace: NS, body: serviceObject(NS, 'web', [{ port: 8080 }]) });
  const networking = kc.makeApiClient(NetworkingV1Api);
  await networking.createNamespacedIngress({ namespace: NS, body: ingressObject(NS, 'web', [{ host: HOST, paths: [{ service: 'web', port: 8080 }] }]) });
  for (let i = 0; i < INGRESSES; i += 20) {
    const batch = Array.from({ length: Math.min(20, INGRESSES - i) }, (_, j) => i + j);
    await Promise.all(batch.map((n) => networking.createNamespacedIngress({ namespace: NS, body: ingressObject(NS, `app-${n}`, [{ host: `app-${n}.${HOST}`, paths: [{ service: 'web', port: 8080 }] }]) })));
  }
  results.ha_operator_runtime = describeRuntime(RUNTIME);
  const a = replica('replica-a');
  await a.waitForLog('a leads', (l) => l.msg === 'became leader');
  const b = replica('replica-b');
  await Promise.all([a.registered(), b.registered()]);
  await waitFor('every route at the gateway', async () => heldRoutes(cp, NS).length === INGRESSES + 1, { timeoutMs: 120_000 });
  await a.settled();
  // A standby runs no controller: it has settled once its GatewayRoute cache holds every route.
  await waitFor('the standby caches every GatewayRoute', async () => (await b.get('/api/health/detailed')).body.routes.desired === INGRESSES + 1, { timeoutMs: 60_000 });
  // Memory with INGRESSES routes: the leader holds every cache; the standby only what its boundary needs.
  results.ha_ingresses = INGRESSES + 1;
  results.ha_leader_rss_mib = Number(procStat(a.pid).rssMiB.toFixed(1));
  results.ha_standby_rss_mib = Number(procStat(b.pid).rssMiB.toFixed(1));
  load.start();
  await waitFor('load flows', async () => load.successes() > 100, { timeoutMs: 30_000 });

  console.error('bench: rolling replacement of both replicas');
  const graceStart = Date.now();
  const c = replica('replica-c');
  await c.registered();
  await a.stop(60_000);
  const d = replica('replica-d');
  await d.registered();
  await b.stop(60_000);
  await waitFor('a new leader', async () => (await isLeader(c)) || (await isLeader(d)), { timeoutMs: 30_000 });
  results.ha_graceful_failed = load.failures(graceStart).length;
  results.ha_graceful_requests = load.outcomes.filter((o) => o.at >= graceStart).length;

  console.error('bench: SIGKILL of the leader');
  const leader = (await isLeader(c)) ? c : d;
  const survivor = leader === c ? d : c;
  const inFlight = (await leader.get('/api/health/detailed')).body.tunnel.inFlight as number;
  const killedAt = Date.now();
  leader.kill();
  await new Promise((resolve) => setTimeout(resolve, CRASH_WATCH_MS));
  await waitFor('the survivor leads', async () => isLeader(survivor), { timeoutMs: 30_000 });
  results.ha_crash_in_flight = inFlight;
  results.ha_crash_failed = load.failures(killedAt).length;
  results.ha_crash_outage_s = load.outageSeconds(killedAt, Date.now());
  targets.push(['ha_crash_failed', '<=', inFlight]);

  console.error('bench: control plane restart');
  const stoppedAt = Date.now();
  await gateway.close();
  await cp.close();
  cp = await startControlPlane({ token: TOKEN, port: Number(cpPort) });
  // Restarted: from here on, the time to the first request served is the agents' (reconnect, register, snapshot).
  const restartedAt = Date.now();
  results.ha_cp_down_ms = restartedAt - stoppedAt;
  const registered: number[] = [];
  cp.onMessage((m) => void (m.type === 'register' && registered.push(Date.now() - restartedAt)));
  gateway = new Gateway(cp, { maxExchangesPerSource: 1_000 });
  await gateway.listen(gatewayPort);
  // Served after a replica registered again: an answer finishing just after the restart may have been the old
  // gateway's (one run measured 0.01 s with no registration at all).
  const servedAgainSince = () => restartedAt + (registered[0] ?? Infinity);
  await waitFor('a request served after the restart', async () => load.successes(servedAgainSince()) > 0, { timeoutMs: 30_000, intervalMs: 20 });
  const firstSuccess = Math.min(...load.outcomes.filter((o) => o.at >= servedAgainSince() && o.status === 200).map((o) => o.at));
  results.ha_cp_restart_s = Number(((firstSuccess - restartedAt) / 1000).toFixed(2));
  results.ha_cp_restart_registers_ms = registered.join(' ');
} finally {
  await load.stop();
  for (const op of replicas) await op.stop().catch(() => op.kill());
  await gateway.close();
  await cp.close();
  backend.closeAllConnections();
  backend.close();
  await cluster.stop();
}

recordResults(RESULTS_FILE, 'availability', results, targets);
process.exit(0);

// Every replica carries traffic (protocol version 3): the real chain — HTTP clients → reference gateway →
// each replica's socket → its tunnel → a backend on loopback — with two operator replicas under leader
// election on a real apiserver. What a user sees during a rolling update (drain) and a node loss (SIGKILL).
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { createServer, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { envelope } from '../../src/controlplane/protocol.js';
import { Gateway } from '../../src/reference-control-plane/gateway.js';
import type { ReferenceControlPlane } from '../../src/reference-control-plane/server.js';
import { eventually, TestNamespaces } from '../support/kube.js';
import { createIngress, createService, ingressObject, serviceObject } from '../support/fixtures.js';
import { clusterByName, describeRoute, heldRoutes, startControlPlane, waitForRoutes } from '../support/control-plane.js';
import { Load } from '../support/load.js';
import { operatorArgs, OperatorPool, type OperatorProcess } from '../support/operator.js';
import { withRandom } from '../support/random.js';

const operators = new OperatorPool();
const namespaces = new TestNamespaces();
let cp: ReferenceControlPlane;
let gateway: Gateway;
let gatewayPort: number;
let backend: Server;
let backendPort: number;
/** Requests to /hold/<id> wait here until the test releases them. */
const held = new Map<string, ServerResponse>();

function startBackend(): Promise<Server> {
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith('/hold/')) return void held.set(url.slice('/hold/'.length), res);
    req.resume();
    req.on('end', () => res.end(JSON.stringify({ url })));
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data, binary) => ws.send(data, { binary }))));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function call(host: string, path: string, method = 'GET'): Promise<number> {
  return answer(host, path, method).then((a) => a.status);
}

function answer(host: string, path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: gatewayPort, path, method, headers: { Host: host }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', (err) => resolve({ status: 0, body: err.message }));
    req.end();
  });
}

interface Cluster {
  ns: string;
  host: string;
  start(name: string): OperatorProcess;
}

/** A namespace of its own with one Ingress for a backend Service, and how to start a replica for it. */
async function cluster(prefix: string, drainTimeoutMs = 15_000): Promise<Cluster> {
  const ns = await namespaces.create(prefix);
  const host = `${ns}.example.com`;
  await createService(serviceObject(ns, 'web', [{ port: 8080 }]));
  await createIngress(ingressObject(ns, 'web', [{ host, paths: [{ service: 'web', port: 8080 }] }]));
  const args = operatorArgs(ns, { cp }, ['--leader-elect', '--service-address', `${ns}/web=127.0.0.1:${backendPort}`, '--drain-timeout-ms', String(drainTimeoutMs), '--reconnect-max-ms', '1000']);
  return { ns, host, start: (name) => operators.start(args, { POD_NAME: name }) };
}

const isLeader = async (op: OperatorProcess): Promise<boolean> => (await op.get('/api/health/detailed')).body.leader === true;
const carried = (op: OperatorProcess): Promise<number> => op.metric('gateway_operator_tunnel_requests_total');
const connectionsOf = (ns: string) => cp.connections(clusterByName(cp, ns)!.cluster_uuid);

/** Two replicas, the first leading, both registered, and the cluster's route served through the gateway. */
async function twoReplicas(c: Cluster): Promise<[OperatorProcess, OperatorProcess]> {
  const first = c.start(`${c.ns}-a`);
  await first.waitForLog('first leads', (l) => l.msg === 'became leader');
  const second = c.start(`${c.ns}-b`);
  await Promise.all([first.registered(), second.registered()]);
  await waitForRoutes(cp, c.ns, [describeRoute({ host: c.host, path: '/', service: 'web', port: 8080 })]);
  await eventually('both connections held by the control plane', async () => connectionsOf(c.ns).length === 2);
  return [first, second];
}

beforeAll(async () => {
  backend = await startBackend();
  backendPort = (backend.address() as AddressInfo).port;
  cp = await startControlPlane({ token: 'ha' });
  gateway = new Gateway(cp, { maxExchangesPerSource: 1_000 });
  gatewayPort = await gateway.listen();
});

afterAll(async () => {
  for (const res of held.values()) res.end();
  await operators.stopAll();
  await gateway.close();
  await cp.close();
  await new Promise((resolve) => backend.close(resolve));
  await namespaces.deleteAll();
}, 60_000);

it('both replicas carry requests, and the standby refuses a target no route exposes', async () => {
  const c = await cluster('ha-spread');
  const [leader, standby] = await twoReplicas(c);
  expect(await isLeader(leader)).toBe(true);
  expect(await isLeader(standby)).toBe(false);
  expect(await leader.metric('gateway_operator_controlplane_route_sync')).toBe(1);
  expect(await standby.metric('gateway_operator_controlplane_route_sync')).toBe(0);
  expect(await leader.metric('gateway_operator_leader')).toBe(1);
  expect(await standby.metric('gateway_operator_leader')).toBe(0);
  // Held requests spread by least in flight: 8 at once land 4 and 4.
  const ids = Array.from({ length: 8 }, () => randomUUID());
  const answers = Promise.all(ids.map((id) => call(c.host, `/hold/${id}`)));
  await eventually('every request reached the backend', async () => ids.every((id) => held.has(id)));
  expect((await leader.get('/api/health/detailed')).body.tunnel.inFlight).toBe(4);
  expect((await standby.get('/api/health/detailed')).body.tunnel.inFlight).toBe(4);
  for (const id of ids) held.get(id)!.end('ok');
  expect(await answers).toEqual(Array(8).fill(200));

  // The standby sent no route, yet it knows the boundary from its own caches: an explicit target outside it is refused.
  const uuid = clusterByName(cp, c.ns)!.cluster_uuid;
  const ask = (target: Record<string, unknown>) => {
    const id = randomUUID();
    expect(cp.sendRawTo(uuid, `${c.ns}-b`, JSON.stringify(envelope('proxy_request', { method: 'GET', path: '/', headers: {}, host: c.host, ...target }, id)))).toBe(true);
    return eventually('the standby answered', async () => cp.received.find((m) => m.request_id === id && (m.type === 'proxy_error' || m.type.startsWith('proxy_response'))));
  };
  expect((await ask({ namespace: c.ns, service_name: 'web', service_port: 8080 })).payload.status).toBe(200);
  expect(await ask({ namespace: 'default', service_name: 'kubernetes', service_port: 443 })).toMatchObject({ type: 'proxy_error', payload: { status: 403 } });
  expect(await ask({ namespace: c.ns, service_name: 'web', service_port: 9999 })).toMatchObject({ type: 'proxy_error', payload: { status: 403 } });
  // The leader knows how many connections the control plane holds (ClusterConnectivity shows the number).
  await eventually('the leader was told of 2 connections', async () => (await leader.get('/api/health/detailed')).body.connection.clusterConnections?.count === 2);
}, 90_000);

it('a draining replica gets no new request, finishes those in flight, and ends its WebSocket streams with 1001', async () => {
  const c = await cluster('ha-drain', 20_000);
  const [first, second] = await twoReplicas(c);
  const ids = [randomUUID(), randomUUID()];
  const answers = Promise.all(ids.map((id) => call(c.host, `/hold/${id}`)));
  await eventually('both held requests reached the backend', async () => ids.every((id) => held.has(id)));
  expect((await first.get('/api/health/detailed')).body.tunnel.inFlight).toBe(1);
  const streams = await Promise.all([0, 1].map(() => openStream(c.host)));
  const exited = first.stop(40_000);
  await eventually('the first replica is draining', async () => connectionsOf(c.ns).some((x) => x.agent_id === `${c.ns}-a` && x.draining));
  expect((await first.get('/readyz')).status).toBe(503);
  const before = await carried(first);
  expect(await Promise.all(Array.from({ length: 20 }, () => call(c.host, '/')))).toEqual(Array(20).fill(200));
  expect(await carried(first)).toBe(before); // all 20 went to the other replica
  for (const id of ids) held.get(id)!.end('ok');
  expect(await answers).toEqual([200, 200]); // the draining replica's held request finished
  // Its stream is closed with 1001 at the end of the drain; the other replica's stays open.
  const firstClosed = await Promise.race(streams.map((s) => s.closed));
  expect(firstClosed.code).toBe(1001);
  expect(await exited).toBe(0);
  const open = streams.filter((s) => s.ws.readyState === WebSocket.OPEN);
  expect(open).toHaveLength(1);
  open[0]!.ws.send('still here');
  await eventually('the other stream still echoes', async () => open[0]!.messages.includes('still here'));
  open[0]!.ws.close();
  await second.stop();
}, 90_000);

it('a rolling replacement of both replicas under load fails no request', async () => {
  const c = await cluster('ha-roll');
  const [a, b] = await twoReplicas(c);
  const load = new Load({ port: gatewayPort, host: c.host, path: '/', clients: 8 });
  load.start();
  await eventually('load flows', async () => load.successes() > 50);
  // As a Deployment's rolling update does it: a new pod ready, then an old one terminated, twice.
  const c1 = c.start(`${c.ns}-c`);
  await c1.registered();
  expect(await a.stop(30_000)).toBe(0);
  const d = c.start(`${c.ns}-d`);
  await d.registered();
  expect(await b.stop(30_000)).toBe(0);
  await eventually('the new leader holds the route sync', async () => (await isLeader(c1)) || (await isLeader(d)));
  const mark = Date.now();
  await eventually('load flows through the new replicas', async () => load.successes(mark) > 50);
  await load.stop();
  expect(load.failures()).toEqual([]);
  expect(load.successes()).toBeGreaterThan(100);
}, 120_000);

it('a GET in flight on a killed replica is retried on the other and answered; a POST is not (502, with the reason)', async () => {
  const c = await cluster('ha-retry');
  const [first] = await twoReplicas(c);
  // One at a time, so least-in-flight places them alternately: GET and POST on each replica.
  const sent: Array<{ id: string; method: string; done: Promise<{ status: number; body: string }> }> = [];
  for (const method of ['GET', 'GET', 'POST', 'POST']) {
    const id = randomUUID();
    sent.push({ id, method, done: answer(c.host, `/hold/${id}`, method) });
    await eventually(`${method} ${id} at the backend`, async () => held.has(id));
  }
  expect(connectionsOf(c.ns).map((x) => x.in_flight)).toEqual([2, 2]);
  const onFirst = sent.filter((_, i) => i % 2 === 0); // the first replica registered first: it takes ties
  const retried = onFirst[0]!;
  const firstArrival = held.get(retried.id);
  first.kill();
  // The GET reaches the backend again, through the other replica; then release everything held.
  await eventually('the GET arrives again', async () => held.get(retried.id) !== firstArrival);
  for (const s of sent) held.get(s.id)?.end('ok');
  const answers = await Promise.all(sent.map((s) => s.done));
  expect(answers[0]).toMatchObject({ status: 200, body: 'ok' }); // retried
  expect(answers[1]).toMatchObject({ status: 200 });
  expect(answers[2]!.status).toBe(502);
  expect(answers[2]!.body).toContain('POST');
  expect(answers[3]).toMatchObject({ status: 200 });
}, 90_000);

it('SIGKILL of the leader fails at most the requests in flight, leaves no second without a success, and loses no change', async () => {
  await withRandom(async (random) => {
    const c = await cluster('ha-kill');
    const [leader, standby] = await twoReplicas(c);
    const load = new Load({ port: gatewayPort, host: c.host, path: '/', clients: 8 });
    load.start();
    await eventually('load flows', async () => load.successes() > 50);
    const inFlightAtKill = (await leader.get('/api/health/detailed')).body.tunnel.inFlight as number;
    const killedAt = Date.now();
    leader.kill();
    // Changes while nobody leads (the Lease has not expired yet): all must reach the control plane.
    const expected = new Set([describeRoute({ host: c.host, path: '/', service: 'web', port: 8080 })]);
    for (let i = 0; i < 10; i++) {
      const host = `r${i}-${random.int(1_000_000)}.${c.host}`;
      await createIngress(ingressObject(c.ns, `r${i}`, [{ host, paths: [{ service: 'web', port: 8080 }] }]));
      expected.add(describeRoute({ host, path: '/', service: 'web', port: 8080 }));
    }
    await standby.waitForLog('the standby takes over', (l) => l.msg === 'became leader', 30_000);
    await waitForRoutes(cp, c.ns, [...expected], 30_000);
    const end = Date.now();
    await load.stop();
    expect(load.failures(killedAt).length).toBeLessThanOrEqual(inFlightAtKill);
    expect(load.outageSeconds(killedAt, end)).toBe(0);
    expect(heldRoutes(cp, c.ns)).toHaveLength(11);
  });
}, 120_000);

/** A WebSocket client through the gateway, with the text messages it received. */
async function openStream(host: string): Promise<{ ws: WebSocket; messages: string[]; closed: Promise<{ code: number }> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${gatewayPort}/ws`, { headers: { host } });
  const messages: string[] = [];
  ws.on('message', (data) => messages.push(data.toString()));
  const closed = new Promise<{ code: number }>((resolve) => ws.once('close', (code) => resolve({ code })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, messages, closed };
}

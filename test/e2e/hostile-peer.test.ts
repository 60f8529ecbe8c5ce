// The operator against a hostile control plane: crafted frames injected on a real agent socket (the
// reference control plane's sendRaw / sendBody / pauseReading hooks), a real apiserver and real backends on
// loopback. One test per finding of the hostile review, each with its near variants; each asserts what is
// refused, that nothing outside the exposed routes was reached, and that the process lives on.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { WebSocketServer } from 'ws';
import { encodeBinaryFrame, envelope } from '../../src/controlplane/protocol.js';
import type { ReceivedMessage, ReferenceControlPlane } from '../../src/reference-control-plane/server.js';
import { clients, eventually, TestNamespaces } from '../support/kube.js';
import { createIngress, createService, ingressObject, serviceObject } from '../support/fixtures.js';
import { clusterByName, heldRoutes, startControlPlane } from '../support/control-plane.js';
import { operatorArgs, OperatorPool, type OperatorProcess } from '../support/operator.js';
import { startRefusingServer, type RefusingServer } from '../support/refusing-server.js';

const operators = new OperatorPool();
const namespaces = new TestNamespaces();
const kube = clients();
let operator: OperatorProcess;
let ns: string;
let otherNs: string;
let cp: ReferenceControlPlane;
let backend: Server;
let backendSockets: WebSocketServer;
let backendHits: string[] = [];
/** Stands for anything outside the exposed routes: counts every connection made to it. */
let forbidden: RefusingServer | undefined;
let forbiddenPort: number;

const uuid = (): string => clusterByName(cp, ns)!.cluster_uuid;

function startBackend(): Promise<Server> {
  const server = createServer((req, res) => {
    backendHits.push(req.url ?? '');
    if (req.url === '/slow-sink') return; // never reads the body, never answers: uploads back up here
    if (req.url === '/hang') return; // holds the request until the client goes
    if (req.url === '/inline') return void res.end(Buffer.alloc(200 * 1024, 1)); // answered in one proxy_response
    res.end('ok');
  });
  const wss = new WebSocketServer({ server });
  backendSockets = wss;
  wss.on('connection', (ws, req) => {
    // /stall reads nothing: what the tunnel sends it backs up in the tunnel.
    if (req.url === '/stall') return void (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    ws.on('message', (data, binary) => ws.send(data, { binary }));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Sends a crafted text frame to the operator and waits for the answer carrying `id` of one of `types`. */
async function answerTo(frame: object | string, id: string, types: string[], timeoutMs = 10_000): Promise<ReceivedMessage> {
  cp.sendRaw(uuid(), typeof frame === 'string' ? frame : JSON.stringify(frame));
  return eventually(`an answer to ${id}`, async () => cp.received.find((m) => m.request_id === id && types.some((t) => m.type.startsWith(t))), timeoutMs);
}

const request = (payload: Record<string, unknown>, id = randomUUID()) => ({ id, frame: envelope('proxy_request', { method: 'GET', headers: {}, host: 'web.example.com', ...payload }, id) });
const wsOpen = (payload: Record<string, unknown>, id = randomUUID()) => ({ id, frame: envelope('ws_open', { headers: {}, host: 'web.example.com', ...payload }, id) });

/** The operator still answers a normal request through the tunnel. */
async function stillServes(): Promise<void> {
  const { id, frame } = request({ path: '/alive' });
  const answer = await answerTo(frame, id, ['proxy_response', 'proxy_error']);
  expect(answer.payload.status).toBe(200);
  expect(operator.running).toBe(true);
}

function operatorRssMiB(): number {
  const status = readFileSync(`/proc/${operator.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

beforeAll(async () => {
  backend = await startBackend();
  const backendPort = (backend.address() as AddressInfo).port;
  forbidden = await startRefusingServer();
  forbiddenPort = forbidden.port;
  cp = await startControlPlane();
  ns = await namespaces.create('hostile');
  otherNs = await namespaces.create('hostile-other');
  await createService(serviceObject(ns, 'web', [{ name: 'http', port: 8080 }]));
  await createService(serviceObject(otherNs, 'admin', [{ port: 8080 }]));
  await createIngress(ingressObject(ns, 'web', [{ host: 'web.example.com', paths: [{ service: 'web', port: 'http' }] }]));
  await createIngress(ingressObject(ns, 'narrow', [{ host: 'narrow.example.com', paths: [{ path: '/api', service: 'web', port: 'http' }] }]));
  operator = operators.start(operatorArgs([ns, otherNs], { cp, reconnectMaxMs: 1000 }, [
    '--service-address', `${ns}/web=127.0.0.1:${backendPort}`, '--service-address', `${otherNs}/admin=127.0.0.1:${forbiddenPort}`,
    '--service-address', `${ns}/ext=127.0.0.1:${forbiddenPort}`,
  ]));
  await operator.registered();
  await eventually('routes at the gateway', async () => heldRoutes(cp, ns).length === 2);
});

afterAll(async () => {
  await operators.stopAll();
  await cp?.close();
  // Upgraded sockets (the stalled one included) are not the HTTP server's to close: end them first.
  for (const client of backendSockets?.clients ?? []) client.terminate();
  backend?.closeAllConnections();
  await new Promise((r) => backend?.close(r));
  await forbidden?.close();
  await namespaces.deleteAll();
}, 60_000);

// Finding 1: the backend address must not be steerable through the path (ws://address + "@host:port/x").
it.each([
  { name: 'ws_open path starting with @', open: true, path: () => `@127.0.0.1:${forbiddenPort}/x` },
  { name: 'ws_open path that is an absolute URL', open: true, path: () => `ws://127.0.0.1:${forbiddenPort}/x` },
  { name: 'ws_open path with a backslash', open: true, path: () => `\\@127.0.0.1:${forbiddenPort}/x` },
  { name: 'proxy_request path starting with @', open: false, path: () => `@127.0.0.1:${forbiddenPort}/x` },
  { name: 'proxy_request path with a space and a request line', open: false, path: () => `/x HTTP/1.1\r\nHost: 127.0.0.1:${forbiddenPort}\r\n\r\nGET /` },
])('$name is refused with 400 and reaches nothing', async ({ open, path }) => {
  const before = forbidden!.connections;
  const { id, frame } = open ? wsOpen({ path: path() }) : request({ path: path() });
  const answer = await answerTo(frame, id, open ? ['ws_error', 'ws_opened'] : ['proxy_error', 'proxy_response']);
  expect(answer.type).toBe(open ? 'ws_error' : 'proxy_error');
  expect(answer.payload.status).toBe(400);
  expect(forbidden!.connections).toBe(before);
});

it('a WebSocket with a normal path still opens and echoes', async () => {
  const { id, frame } = wsOpen({ path: '/echo' });
  const answer = await answerTo(frame, id, ['ws_error', 'ws_opened']);
  expect(answer.type).toBe('ws_opened');
  cp.sendRaw(uuid(), JSON.stringify(envelope('ws_close', { code: 1000 }, id)));
});

// Finding 3: paths are refused in every spelling of a dot segment or an encoded separator.
it.each(['/api/..;/admin', '/api/%2e%2e/admin', '/api/.%2E;x/admin', '/api%2fadmin', '/api/%5cadmin', '/api/%zz', '/api/..'])('path %s to a route for /api is refused with 400, the backend never sees it', async (path) => {
  backendHits = [];
  const { id, frame } = request({ host: 'narrow.example.com', path });
  const answer = await answerTo(frame, id, ['proxy_error', 'proxy_response']);
  expect(answer).toMatchObject({ type: 'proxy_error', payload: { status: 400 } });
  expect(backendHits).toEqual([]);
});

it('an ExternalName Service is never a backend: ResolvedRefs says why and no route reaches the control plane', async () => {
  await createService({ metadata: { name: 'ext', namespace: ns }, spec: { type: 'ExternalName', externalName: 'localhost', ports: [{ port: 8080 }] } } as never);
  await createIngress(ingressObject(ns, 'ext', [{ host: 'ext.example.com', paths: [{ service: 'ext', port: 8080 }] }]));
  const resolvedRefs = await eventually('ResolvedRefs of the ExternalName route', async () => {
    const route = (await kube.custom.getNamespacedCustomObject({ group: 'gateway.pipeops.io', version: 'v1alpha1', plural: 'gatewayroutes', namespace: ns, name: 'ext' }).catch(() => undefined)) as
      | { status?: { conditions?: Array<{ type: string; status: string; reason: string; message: string }> } }
      | undefined;
    return route?.status?.conditions?.find((c) => c.type === 'ResolvedRefs' && c.status === 'False');
  });
  expect(resolvedRefs).toMatchObject({ reason: 'UnsupportedBackend', message: expect.stringContaining('ExternalName') });
  expect(heldRoutes(cp, ns).some((r) => r.startsWith('ext.example.com'))).toBe(false);
  const before = forbidden!.connections;
  const { id, frame } = request({ host: 'ext.example.com', path: '/' });
  expect((await answerTo(frame, id, ['proxy_error', 'proxy_response'])).payload.status).toBe(404);
  expect(forbidden!.connections).toBe(before);
});

// Finding 2: an ownerReference naming an HTTPRoute does not let a hand-written GatewayRoute reach another namespace.
it('a GatewayRoute claiming an HTTPRoute owner cannot use another namespace without a ReferenceGrant there; with one it can', async () => {
  const httpRoute = (await kube.custom.createNamespacedCustomObject({
    group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes', namespace: ns,
    body: { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'decoy', namespace: ns }, spec: { hostnames: ['decoy.example.com'] } },
  })) as { metadata: { uid: string } };
  const ref = { group: 'gateway.pipeops.io', version: 'v1alpha1', plural: 'gatewayroutes', namespace: ns, name: 'steal' };
  await kube.custom.createNamespacedCustomObject({
    ...ref,
    body: {
      apiVersion: 'gateway.pipeops.io/v1alpha1', kind: 'GatewayRoute',
      metadata: { name: 'steal', namespace: ns, ownerReferences: [{ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', name: 'decoy', uid: httpRoute.metadata.uid, controller: true }] },
      spec: { routes: [{ host: 'steal.example.com', path: '/', pathType: 'Prefix', backend: { service: 'admin', namespace: otherNs, port: { number: 8080 } } }] },
    },
  });
  const synced = async () => {
    const route = (await kube.custom.getNamespacedCustomObject(ref)) as { metadata: { generation: number }; status?: { conditions?: Array<{ type: string; status: string; reason: string; message: string; observedGeneration?: number }> } };
    return route.status?.conditions?.find((c) => c.type === 'Synced');
  };
  const refused = await eventually('Synced=False without a ReferenceGrant', async () => {
    const condition = await synced();
    return condition?.status === 'False' && condition.reason === 'BackendUnresolved' ? condition : undefined;
  });
  expect(refused.message).toContain(`no ReferenceGrant in namespace ${otherNs} allows routes from ${ns} to use Service admin`);
  expect(heldRoutes(cp, ns).some((r) => r.startsWith('steal.example.com'))).toBe(false);

  await kube.custom.createNamespacedCustomObject({
    group: 'gateway.networking.k8s.io', version: 'v1beta1', plural: 'referencegrants', namespace: otherNs,
    body: {
      apiVersion: 'gateway.networking.k8s.io/v1beta1', kind: 'ReferenceGrant', metadata: { name: 'allow', namespace: otherNs },
      spec: { from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: ns }], to: [{ group: '', kind: 'Service', name: 'admin' }] },
    },
  });
  await eventually('Synced=True once the grant exists', async () => (await synced())?.status === 'True');
  expect(heldRoutes(cp, ns)).toContain('steal.example.com/ → admin:8080');
});

// Finding 5 and its near variants: oversized or malformed fields are refused at parse time; the process lives.
// A frame whose request_id is unusable is answered `error`; one with a usable id, as the request it is (400).
it.each([
  { name: 'proxy_request id of 300 bytes', id: 'x'.repeat(300), fields: {}, answer: { type: 'error', code: 'bad_envelope' } },
  { name: 'ws_open id of 256 bytes', id: 'y'.repeat(256), type: 'ws_open', fields: {}, answer: { type: 'error', code: 'bad_envelope' } },
  { name: 'request_id with control characters', id: 'a\nb', fields: {}, answer: { type: 'error', code: 'bad_envelope' } },
  { name: 'header value with CR LF', id: 'crlf', fields: { headers: { x: 'a\r\nInjected: 1' } }, answer: { type: 'proxy_error', status: 400 } },
  { name: 'method that is no token', id: 'method', fields: { method: 'GET /' }, answer: { type: 'proxy_error', status: 400 } },
  { name: 'host with userinfo', id: 'userinfo', fields: { host: 'x@127.0.0.1:1' }, answer: { type: 'proxy_error', status: 400 } },
  { name: 'explicit target namespace that is no DNS label', id: 'target', fields: { namespace: '../x', service_name: 'web', service_port: 8080 }, answer: { type: 'proxy_error', status: 400 } },
])('$name: refused at parse time, the process lives on', async ({ id, type, fields, answer }) => {
  const before = forbidden!.connections;
  const mark = cp.receivedCount;
  const payload = type === 'ws_open' ? { path: '/echo', headers: {}, host: 'web.example.com', ...fields } : { method: 'GET', path: '/', headers: {}, host: 'web.example.com', ...fields };
  cp.sendRaw(uuid(), JSON.stringify(envelope(type ?? 'proxy_request', payload, id)));
  const reply = await eventually('the refusal', async () => cp.receivedSince(mark).find((m) => m.type === answer.type));
  if (answer.type === 'error') expect(reply.payload).toMatchObject({ code: answer.code });
  else expect(reply).toMatchObject({ request_id: id, payload: { status: answer.status, error: expect.stringContaining('proxy_request: field') } });
  expect(forbidden!.connections).toBe(before);
  await stillServes();
});

it('a binary chunk frame with a request_id that is not printable is refused; the process lives on', async () => {
  const errorsBefore = cp.received.filter((m) => m.type === 'error').length;
  const frame = encodeBinaryFrame('proxy_request_chunk', 'ok', Buffer.from('x'));
  frame.write('\n\u0001', 2, 'latin1');
  cp.socketOf(uuid())!.send(frame);
  await eventually('the refusal', async () => cp.received.filter((m) => m.type === 'error').length > errorsBefore);
  await stillServes();
});

// Request smuggling: a body longer than its Content-Length must not reach the kept-alive backend connection
// as a request of its own (it would skip the path rule and answer the next client).
it.each([
  { name: 'an inline body longer than its Content-Length', inline: true },
  { name: 'a streamed body longer than its Content-Length', inline: false },
])('$name never reaches the backend as a second request', async ({ inline }) => {
  backendHits = [];
  const smuggled = Buffer.from('hello' + 'GET /smuggled HTTP/1.1\r\nHost: web.example.com\r\n\r\n');
  const id = randomUUID();
  const payload = { method: 'POST', path: '/upload', headers: { 'content-length': '5' }, host: 'web.example.com', ...(inline ? { body: smuggled.toString('base64') } : {}) };
  cp.sendRaw(uuid(), JSON.stringify(envelope('proxy_request', payload, id)));
  if (!inline) {
    cp.sendBody(uuid(), 'proxy_request_chunk', id, smuggled);
    cp.sendRaw(uuid(), JSON.stringify(envelope('proxy_request_end', {}, id)));
  }
  const answer = await eventually('the answer', async () => cp.received.find((m) => m.request_id === id && (m.type === 'proxy_error' || m.type.startsWith('proxy_response'))));
  if (!inline) expect(answer).toMatchObject({ type: 'proxy_error', payload: { status: 400, error: expect.stringContaining('longer than its Content-Length') } });
  for (let i = 0; i < 3; i++) await stillServes(); // over the same kept-alive connections
  expect(backendHits.filter((h) => h === '/smuggled')).toEqual([]);
});

it.each([
  { name: 'two Content-Length values', headers: { 'content-length': ['5', '40'] } },
  { name: 'Content-Length in two spellings', headers: { 'content-length': '5', 'Content-Length': '40' } },
  { name: 'Content-Length and chunked', headers: { 'content-length': '5', 'transfer-encoding': 'chunked' } },
])('a request with $name is refused with 400', async ({ headers }) => {
  const { id, frame } = request({ method: 'POST', path: '/upload', headers });
  const answer = await answerTo(frame, id, ['proxy_error', 'proxy_response']);
  expect(answer).toMatchObject({ type: 'proxy_error', payload: { status: 400 } });
});

it('an empty POST (Content-Length: 0, no chunks, no end) is answered at once, not after the timeout', async () => {
  const { id, frame } = request({ method: 'POST', path: '/logout', headers: { 'content-length': '0' } });
  const answer = await answerTo(frame, id, ['proxy_error', 'proxy_response'], 5_000);
  expect(answer.payload.status).toBe(200);
});

// Findings 6, 7, 8: a huge close reason, a ws_open ws would throw on, and a timeout past setTimeout's range.
it('a ws_close reason of 400,000 characters is refused at once', async () => {
  const { id, frame } = wsOpen({ path: '/echo' });
  await answerTo(frame, id, ['ws_opened']);
  const errorsBefore = cp.received.filter((m) => m.type === 'error').length;
  cp.sendRaw(uuid(), JSON.stringify(envelope('ws_close', { code: 1000, reason: 'r'.repeat(400_000) }, id)));
  const refusal = await eventually('the refusal', async () => cp.received.filter((m) => m.type === 'error').slice(errorsBefore)[0], 5_000);
  expect(refusal.payload).toMatchObject({ code: 'bad_payload', type: 'ws_close' });
  await stillServes();
  cp.sendRaw(uuid(), JSON.stringify(envelope('ws_close', { code: 1000, reason: 'bye' }, id)));
});

it.each([
  { name: 'duplicate subprotocols', payload: { path: '/echo', protocols: ['chat', 'chat'] } },
  { name: 'a subprotocol with a space', payload: { path: '/echo', protocols: ['a b'] } },
])('ws_open with $name is answered ws_error 400 at once, not a 504 after the handshake timeout', async ({ payload }) => {
  const { id, frame } = wsOpen(payload);
  const answer = await answerTo(frame, id, ['ws_error', 'ws_opened'], 5_000);
  expect(answer).toMatchObject({ type: 'ws_error', payload: { status: 400 } });
});

it.each([2 ** 31, 2 ** 53, 1.5, -1])('timeout_ms %d is refused with 400 (it overflowed to ~1 ms)', async (timeout) => {
  const { id, frame } = request({ path: '/alive', timeout_ms: timeout });
  const answer = await answerTo(frame, id, ['proxy_error', 'proxy_response']);
  expect(answer).toMatchObject({ type: 'proxy_error', payload: { status: 400 } });
});

// Finding 10: a peer that ignores proxy_flow is cut off; one client cannot take every slot.
it('a request body sent on 16 MiB past proxy_flow paused is cut off with 503, not buffered up to 100 MiB', async () => {
  const id = randomUUID();
  cp.sendRaw(uuid(), JSON.stringify(envelope('proxy_request', { method: 'POST', path: '/slow-sink', headers: { 'content-length': String(64 * 1024 * 1024) }, host: 'web.example.com' }, id)));
  const chunk = Buffer.alloc(256 * 1024, 9);
  let sent = 0;
  for (; sent < 64 * 1024 * 1024; sent += chunk.length) {
    if (cp.received.some((m) => m.request_id === id && m.type === 'proxy_error')) break;
    cp.sendBody(uuid(), 'proxy_request_chunk', id, chunk);
    await new Promise((r) => setImmediate(r));
  }
  const answer = await eventually('the cut-off', async () => cp.received.find((m) => m.request_id === id && m.type === 'proxy_error'));
  expect(cp.received.some((m) => m.request_id === id && m.type === 'proxy_flow' && m.payload.paused === true)).toBe(true);
  expect(answer.payload).toMatchObject({ status: 503, error: expect.stringContaining('past proxy_flow paused') });
  await stillServes();
});

it('a WebSocket stream sent on 16 MiB past ws_flow paused is closed (1008), not buffered without bound', async () => {
  const { id, frame } = wsOpen({ path: '/stall' });
  await answerTo(frame, id, ['ws_opened']);
  const message = Buffer.alloc(256 * 1024, 5);
  for (let sent = 0; sent < 64 * 1024 * 1024; sent += message.length) {
    if (cp.received.some((m) => m.request_id === id && m.type === 'ws_close')) break;
    cp.sendBody(uuid(), 'ws_message_binary', id, message);
    await new Promise((r) => setImmediate(r));
  }
  const closed = await eventually('the stream closed by the operator', async () => cp.received.find((m) => m.request_id === id && m.type === 'ws_close'));
  expect(cp.received.some((m) => m.request_id === id && m.type === 'ws_flow' && m.payload.paused === true)).toBe(true);
  expect(closed.payload).toMatchObject({ code: 1008, reason: 'sent past ws_flow paused' });
  await stillServes();
});

it('held WebSocket streams, each within its own grace, cannot together queue more than 64 MiB: the stream adding more is closed (1013)', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 8; i++) {
    const { id, frame } = wsOpen({ path: '/stall' });
    await answerTo(frame, id, ['ws_opened']);
    ids.push(id);
  }
  const message = Buffer.alloc(256 * 1024, 6);
  const closedOne = () => cp.received.find((m) => ids.includes(m.request_id ?? '') && m.type === 'ws_close');
  // 15 MiB per stream, round robin: under each stream's 17 MiB (1 MiB high-water mark + 16 MiB grace), 120 MiB in all.
  for (let sent = 0; sent < 15 * 1024 * 1024 && !closedOne(); sent += message.length) {
    for (const id of ids) cp.sendBody(uuid(), 'ws_message_binary', id, message);
    await new Promise((r) => setImmediate(r));
  }
  const closed = await eventually('a stream closed by the operator', async () => closedOne());
  expect(closed.payload).toMatchObject({ code: 1013, reason: 'too much WebSocket data waiting for backends' });
  // The stalled backends never read the close either: drop them, so the streams and their queued data go.
  for (const ws of backendSockets.clients) if ((ws as unknown as { _socket: { isPaused(): boolean } })._socket.isPaused()) ws.terminate();
  for (const id of ids) cp.sendRaw(uuid(), JSON.stringify(envelope('ws_close', { code: 1000 }, id)));
  await eventually('no stream left at the operator', async () => (await operator.get('/api/health/detailed')).body.tunnel.streams === 0);
  await stillServes();
});

it('one client holds at most 128 requests: the 129th is answered 429, another client is still served', async () => {
  const ids = Array.from({ length: 128 }, () => randomUUID());
  for (const id of ids) cp.sendRaw(uuid(), JSON.stringify(request({ path: '/hang', client: '203.0.113.9', timeout_ms: 60_000 }, id).frame));
  await eventually('128 requests at the backend', async () => backendHits.filter((h) => h === '/hang').length >= 128);
  const { id, frame } = request({ path: '/hang', client: '203.0.113.9' });
  const refused = await answerTo(frame, id, ['proxy_error', 'proxy_response']);
  expect(refused.payload).toMatchObject({ status: 429 });
  const other = request({ path: '/alive', client: '198.51.100.7' });
  expect((await answerTo(other.frame, other.id, ['proxy_error', 'proxy_response'])).payload.status).toBe(200);
  for (const held of ids) cp.sendRaw(uuid(), JSON.stringify(envelope('proxy_cancel', {}, held)));
  // Slots come back: the same client is served again.
  await eventually('the client is served again', async () => {
    const again = request({ path: '/alive', client: '203.0.113.9' });
    return (await answerTo(again.frame, again.id, ['proxy_error', 'proxy_response'])).payload.status === 200;
  });
});

// Finding 9: a control plane that stops reading cannot grow the operator: new requests are refused past 16 MiB
// of unread answers, and past 64 MiB the socket is dropped; either way memory stays bounded.
it('answers left unread by the control plane are bounded: new requests refused or the socket dropped, then served again', async () => {
  const MiB = 1024 * 1024;
  const cutoffsBefore = await operator.metric('gateway_operator_controlplane_backlog_cutoffs_total');
  const rssBefore = operatorRssMiB();
  const first = uuid();
  // Counted as they arrive, not read back from the control plane's record of messages: that record is bounded
  // (32 MiB of frames), and the refusals, sent ahead of the answers queued in the operator, arrive before some
  // 20 MiB of answers that can push them out of it.
  let unreadRefusals = 0;
  const stopCounting = cp.onMessage((m) => {
    if (m.type === 'proxy_error' && m.payload.status === 503 && String(m.payload.error).includes('unread')) unreadRefusals++;
  });
  let rssPeak = rssBefore;
  let backlogPeak = 0;
  const cut = async () => (await operator.metric('gateway_operator_controlplane_backlog_cutoffs_total')) > cutoffsBefore;
  cp.pauseReading(first, true);
  try {
    for (let i = 0; i < 1_200; i++) {
      cp.sendRaw(first, JSON.stringify(request({ path: '/inline' }).frame));
      if (i % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    // Every request answered (queued behind the unread ones) or refused, or the socket dropped.
    await eventually('every request handled while the control plane does not read', async () => {
      rssPeak = Math.max(rssPeak, operatorRssMiB());
      const detailed = (await operator.get('/api/health/detailed')).body as { tunnel: { inFlight: number }; connection: { backlogBytes: number } };
      backlogPeak = Math.max(backlogPeak, detailed.connection.backlogBytes);
      return (await cut()) || (detailed.tunnel.inFlight === 0 && detailed.connection.backlogBytes > 16 * MiB);
    }, 60_000);
    expect(backlogPeak).toBeLessThanOrEqual(64 * MiB + MiB);
    if (!(await cut())) {
      // Past 16 MiB unread (whether or not one of the 1,200 came after that): ten more are refused, each
      // counted before the control plane reads again, so the refusals below do not depend on timing.
      const refusedBefore = await operator.metric('gateway_operator_tunnel_refused_total');
      for (let i = 0; i < 10; i++) cp.sendRaw(first, JSON.stringify(request({ path: '/inline' }).frame));
      await eventually('ten more requests refused while unread', async () => (await cut()) || (await operator.metric('gateway_operator_tunnel_refused_total')) >= refusedBefore + 10);
    }
  } finally {
    cp.pauseReading(first, false);
  }
  await operator.registered();
  // Once the backlog drains (or on the new socket), requests are taken again.
  await eventually('served again once it reads', async () => {
    const { id, frame } = request({ path: '/alive' });
    return (await answerTo(frame, id, ['proxy_response', 'proxy_error'])).payload.status === 200;
  }, 30_000);
  if (!(await cut())) {
    // Not dropped: the requests past the limit were refused, and the refusals arrive once it reads again.
    await eventually('refusals for unread answers', async () => unreadRefusals > 0);
  }
  stopCounting();
  // For the record (not a timed assertion): the RSS while the peer did not read.
  process.stdout.write(`operator RSS while the control plane did not read: ${rssBefore.toFixed(0)} MiB before, ${rssPeak.toFixed(0)} MiB at most; unread backlog at most ${(backlogPeak / MiB).toFixed(1)} MiB\n`);
  expect(rssPeak).toBeLessThan(rssBefore + 200);
}, 120_000);

// Finding 12: a resume_revision the revision clock could never pass is refused; the operator does not pretend.
it('a resume_revision of 2^53-1 is refused: the operator does not register on it, and registers again once it is sane', async () => {
  const cluster = clusterByName(cp, ns)!;
  const sane = cluster.lastRevision;
  cluster.lastRevision = Number.MAX_SAFE_INTEGER;
  cp.dropConnections(cluster.cluster_uuid);
  await eventually('the operator refused the registration', async () => {
    const connection = (await operator.get('/api/health/detailed')).body.connection as { state: string; lastError?: string };
    return connection.state !== 'ready' && (connection.lastError ?? '').includes('resume_revision');
  }, 20_000);
  cluster.lastRevision = sane;
  await operator.registered();
  await stillServes();
});

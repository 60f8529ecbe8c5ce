// End to end: HTTP client → reference gateway → control-plane socket → operator's tunnel → backend on
// loopback (mapped with --service-address, as there is no cluster DNS here).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { envelope } from '../../src/controlplane/protocol.js';
import { Gateway } from '../../src/reference-control-plane/gateway.js';
import type { ReferenceControlPlane } from '../../src/reference-control-plane/server.js';
import { eventually, TestNamespaces } from '../support/kube.js';
import { createIngress, createService, ingressObject, serviceObject } from '../support/fixtures.js';
import { clusterByName, heldRoutes, startControlPlane } from '../support/control-plane.js';
import { operatorArgs, OperatorPool, type OperatorProcess } from '../support/operator.js';
import { freePort } from '../support/test-cluster.js';
import { startRefusingServer, type RefusingServer } from '../support/refusing-server.js';

const operators = new OperatorPool();
const namespaces = new TestNamespaces();
let operator: OperatorProcess;
let ns: string;
let cp: ReferenceControlPlane;
let gateway: Gateway;
let gatewayPort: number;
let backend: Server;
/** Stands in for backends no route names (an unexposed Service, the apiserver): counts every connection. */
let forbidden: RefusingServer | undefined;
const aborted: string[] = [];
let backendConnections = 0;
let sseRelease: (() => void) | undefined;
const backendCloses: Array<{ code: number; reason: string }> = [];
const backendWebSocketHosts: string[] = [];

/** Writes 50 MiB to `out` as fast as it takes them (honouring backpressure), then ends it. */
function writeFifty(out: Writable): void {
  const chunk = Buffer.alloc(256 * 1024, 3);
  let left = 200;
  const pump = (): void => {
    while (left > 0) {
      left--;
      if (!out.write(chunk)) return void out.once('drain', pump);
    }
    out.end();
  };
  pump();
}

function startBackend(): Promise<Server> {
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/big') {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 7);
      for (let i = 0; i < 80; i++) res.write(chunk); // 5 MiB, no Content-Length: streamed
      return void res.end();
    }
    if (url === '/slow') return void req.on('close', () => undefined);
    if (url === '/huge') {
      // 50 MiB, written as fast as the tunnel takes it (write() honours backpressure).
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      return writeFifty(res);
    }
    if (url === '/slow-sink') {
      // Reads an upload at about 25 MB/s: slower than the tunnel can carry it.
      let bytes = 0;
      req.on('data', (c: Buffer) => {
        bytes += c.length;
        req.pause();
        setTimeout(() => req.resume(), Math.ceil(c.length / 25_000));
      });
      req.on('end', () => res.end(JSON.stringify({ bytes })));
      return;
    }
    if (url === '/sse') {
      // One event, then the stream stays open until the test has seen that event arrive through the tunnel.
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      res.write('data: first\n\n');
      sseRelease = () => res.end('data: last\n\n');
      return;
    }
    if (url === '/drip') {
      res.writeHead(200);
      const timer = setInterval(() => res.write('.'), 20);
      res.on('close', () => {
        clearInterval(timer);
        aborted.push('/drip');
      });
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'X-Backend': 'web' });
      res.end(JSON.stringify({ method: req.method, url, host: req.headers.host, body: Buffer.concat(chunks).toString(), connection: req.headers['proxy-connection'] ?? null }));
    });
  });
  server.on('connection', () => backendConnections++);
  serveWebSockets(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const refusalLogs = (): number => operator.logs.filter((l) => l.msg === 'tunnel request refused: explicit target outside the exposed routes').length;

/** WebSocket backend behaviour by path: /echo echoes (and picks the subprotocol "chat" when offered), /bye closes with 4001 after one message. */
function serveWebSockets(server: Server): void {
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (offered) => (offered.has('chat') ? 'chat' : false) });
  server.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      backendWebSocketHosts.push(req.headers.host ?? '');
      ws.on('close', (code, reason) => backendCloses.push({ code, reason: reason.toString() }));
      ws.on('message', (data, isBinary) => {
        if (req.url === '/bye') return void ws.close(4001, 'bye');
        ws.send(data, { binary: isBinary });
      });
    });
  });
}

/** A WebSocket client through the gateway, with everything it received. */
async function openWebSocket(path: string, options: { host?: string; protocols?: string[] } = {}): Promise<{ ws: WebSocket; messages: Array<{ data: Buffer; binary: boolean }>; closed: Promise<{ code: number; reason: string }> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${gatewayPort}${path}`, options.protocols ?? [], { headers: { host: options.host ?? 'web.example.com' }, maxPayload: 64 * 1024 * 1024 });
  const messages: Array<{ data: Buffer; binary: boolean }> = [];
  ws.on('message', (data, isBinary) => messages.push({ data: data as Buffer, binary: isBinary }));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade answered HTTP ${res.statusCode}`)));
  });
  return { ws, messages, closed };
}

function call(path: string, options: { host?: string; method?: string; body?: string | Buffer[] } = {}): Promise<{ status: number; body: Buffer; headers: IncomingMessage['headers'] }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: gatewayPort, path, method: options.method ?? 'GET', headers: { Host: options.host ?? 'web.example.com' }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (Array.isArray(options.body)) {
      for (const part of options.body) req.write(part); // chunked transfer encoding
      req.end();
    } else req.end(options.body);
  });
}

beforeAll(async () => {
  backend = await startBackend();
  const backendPort = (backend.address() as AddressInfo).port;
  const closedPort = await freePort();
  forbidden = await startRefusingServer();
  const forbiddenPort = forbidden.port;
  cp = await startControlPlane({ token: 'e2e' });
  // Every client of this file is one address (127.0.0.1), and one test opens 100 streams at once.
  gateway = new Gateway(cp, { maxExchangesPerSource: 1_000 });
  gatewayPort = await gateway.listen();
  ns = await namespaces.create('tunnel');
  await createService(serviceObject(ns, 'web', [{ name: 'http', port: 8080 }]));
  await createService(serviceObject(ns, 'down', [{ port: 8080 }]));
  await createService(serviceObject(ns, 'secret', [{ port: 8080 }])); // no route names it
  await createIngress(ingressObject(ns, 'web', [{ host: 'web.example.com', paths: [{ service: 'web', port: 'http' }] }]));
  await createIngress(ingressObject(ns, 'down', [{ host: 'down.example.com', paths: [{ service: 'down', port: 8080 }] }]));
  await createIngress(ingressObject(ns, 'narrow', [{ host: 'narrow.example.com', paths: [{ path: '/api', service: 'web', port: 'http' }] }]));
  operator = operators.start(operatorArgs(ns, { cp }, [
    '--service-address', `${ns}/web=127.0.0.1:${backendPort}`, '--service-address', `${ns}/down=127.0.0.1:${closedPort}`,
    '--service-address', `${ns}/secret=127.0.0.1:${forbiddenPort}`, '--service-address', `default/kubernetes=127.0.0.1:${forbiddenPort}`,
    '--tunnel-timeout-ms', '1500',
  ]));
  await operator.registered();
  await eventually('routes at the gateway', async () => heldRoutes(cp, ns).length === 3);
});

afterAll(async () => {
  await operators.stopAll();
  await gateway?.close();
  await cp?.close();
  backend?.closeAllConnections();
  await new Promise((r) => backend?.close(r));
  await forbidden?.close();
  await namespaces.deleteAll();
});

it('GET reaches the backend with the original Host', async () => {
  const res = await call('/hello?x=1');
  expect(res.status).toBe(200);
  expect(res.headers['x-backend']).toBe('web');
  expect(JSON.parse(res.body.toString())).toMatchObject({ method: 'GET', url: '/hello?x=1', host: 'web.example.com' });
});

it('POST carries the body through the tunnel as a stream of chunks, also when the client sends it chunked', async () => {
  const before = gateway.requestChunksSent;
  const plain = JSON.parse((await call('/echo', { method: 'POST', body: 'payload-123' })).body.toString());
  expect(plain).toMatchObject({ method: 'POST', body: 'payload-123' });
  const chunked = JSON.parse((await call('/echo', { method: 'POST', body: [Buffer.from('part-1;'), Buffer.from('part-2')] })).body.toString());
  expect(chunked.body).toBe('part-1;part-2');
  // The gateway sent the bodies as proxy_request_chunk frames: the operator's streamed path carried them.
  expect(gateway.requestChunksSent - before).toBeGreaterThanOrEqual(2);
});

it('streams a 5 MiB response', async () => {
  const res = await call('/big');
  expect(res.status).toBe(200);
  expect(res.body.length).toBe(5 * 1024 * 1024);
  expect(res.body.every((b) => b === 7)).toBe(true);
});

it('answers 100 concurrent requests', async () => {
  const results = await Promise.all(Array.from({ length: 100 }, (_, i) => call(`/n/${i}`)));
  expect(results.map((r) => r.status)).toEqual(Array(100).fill(200));
  expect(results.map((r) => JSON.parse(r.body.toString()).url)).toEqual(Array.from({ length: 100 }, (_, i) => `/n/${i}`));
});

it('a slow backend past the timeout → 504; backend down → 502; unknown host → 404', async () => {
  expect((await call('/slow')).status).toBe(504);
  expect((await call('/', { host: 'down.example.com' })).status).toBe(502);
  expect((await call('/', { host: 'nobody.example.com' })).status).toBe(404);
});

it("a served host's unrouted path → 404 from the operator's own route matching", async () => {
  const routed = await call('/api/items', { host: 'narrow.example.com' });
  expect(routed.status).toBe(200);
  expect(JSON.parse(routed.body.toString())).toMatchObject({ url: '/api/items', host: 'narrow.example.com' });
  const unrouted = await call('/other', { host: 'narrow.example.com' });
  expect(unrouted.status).toBe(404);
  // The gateway forwards by host only; this message is the operator's.
  expect(JSON.parse(unrouted.body.toString()).error).toBe('no route for narrow.example.com/other');
});

it('a request cancelled mid-stream aborts the backend request', async () => {
  await new Promise<void>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: gatewayPort, path: '/drip', headers: { Host: 'web.example.com' }, agent: false }, (res) => {
      res.once('data', () => req.destroy()); // the client goes away after the first bytes
      res.on('error', () => undefined);
      resolve();
    });
    req.on('error', () => undefined);
    req.on('timeout', () => reject(new Error('no response')));
    req.end();
  });
  await eventually('backend saw the abort', async () => aborted.includes('/drip'), 10_000);
});

it('an explicit target reaches only the backend of an exposed route: 403 for another Service and for the apiserver, no connection opened', async () => {
  const uuid = clusterByName(cp, ns)!.cluster_uuid;
  const refusedBefore = await operator.metric('gateway_operator_tunnel_refused_total');
  const logsBefore = refusalLogs();
  const connectionsBefore = forbidden!.connections;
  const send = (target: { namespace: string; service_name: string; service_port: number }) => {
    const id = randomUUID();
    cp.sendRaw(uuid, JSON.stringify(envelope('proxy_request', { method: 'GET', path: '/', headers: {}, host: 'web.example.com', ...target }, id)));
    return eventually(`the answer to ${target.namespace}/${target.service_name}`, async () =>
      cp.received.find((m) => m.request_id === id && (m.type === 'proxy_error' || m.type.startsWith('proxy_response'))));
  };
  const exposed = await send({ namespace: ns, service_name: 'web', service_port: 8080 });
  expect(exposed.type).toMatch(/^proxy_response/);
  expect(exposed.payload.status).toBe(200);

  for (const target of [
    { namespace: ns, service_name: 'secret', service_port: 8080 },
    { namespace: 'default', service_name: 'kubernetes', service_port: 443 },
    { namespace: ns, service_name: 'web', service_port: 9999 }, // an exposed Service on a port no route names
  ]) {
    const refused = await send(target);
    expect(refused).toMatchObject({ type: 'proxy_error', payload: { status: 403, error: `backend ${target.namespace}/${target.service_name}:${target.service_port} is not exposed by any route of this cluster` } });
  }
  expect(forbidden!.connections).toBe(connectionsBefore);
  expect(await operator.metric('gateway_operator_tunnel_refused_total')).toBe(refusedBefore + 3);
  expect(refusalLogs()).toBe(logsBefore + 3);
});

it('reuses kept-alive connections to the backend: 20 requests one after another, not 20 connections', async () => {
  await call('/warm');
  const before = backendConnections;
  for (let i = 0; i < 20; i++) expect((await call(`/seq/${i}`)).status).toBe(200);
  expect(backendConnections - before).toBeLessThanOrEqual(1);
});

it('server-sent events arrive event by event: the first before the backend has finished', async () => {
  const received: string[] = [];
  const done = new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: gatewayPort, path: '/sse', headers: { Host: 'web.example.com', Accept: 'text/event-stream' }, agent: false }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (text: string) => received.push(text));
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
  // The backend holds the stream open until released: the first event can only have come through as it was written.
  await eventually('the first event, while the stream is still open', async () => received.join('').includes('data: first\n\n'));
  expect(received.join('')).not.toContain('last');
  sseRelease?.();
  expect(await done).toBe(200);
  expect(received.join('')).toBe('data: first\n\ndata: last\n\n');
});

/** Samples the RSS of the operator and of this process (the gateway and control plane) while `work` runs. */
async function peakRss(work: () => Promise<void>): Promise<{ operator: number; gateway: number }> {
  gateway.peakBacklogBytes = 0;
  const rssOf = (pid: number): number => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  const base = { operator: rssOf(operator.pid), gateway: process.memoryUsage().rss / MiB };
  const peak = { ...base };
  const sampler = setInterval(() => {
    peak.operator = Math.max(peak.operator, rssOf(operator.pid));
    peak.gateway = Math.max(peak.gateway, process.memoryUsage().rss / MiB);
  }, 20);
  try {
    await work();
  } finally {
    clearInterval(sampler);
  }
  return { operator: peak.operator - base.operator, gateway: peak.gateway - base.gateway };
}
const MiB = 1024 * 1024;

describe('large bodies, memory bounded by backpressure', () => {
  it('a 50 MiB upload to a backend that reads slowly: the body arrives whole and neither side buffers it', async () => {
    let answer = { status: 0, body: '' };
    const growth = await peakRss(async () => {
      answer = await new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: gatewayPort, path: '/slow-sink', method: 'POST', headers: { Host: 'web.example.com' }, agent: false }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        writeFifty(req);
      });
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ bytes: 50 * MiB });
    // Stated bounds: the operator's RSS grows by less than 40 MiB (it runs with the image's flags), and the
    // gateway never holds more than 8 MiB of the body (high-water marks of 1 MiB, plus what is in flight on the sockets). The gateway shares this
    // test process, whose RSS says more about its garbage collector than about what it holds.
    expect(growth.operator).toBeLessThan(40);
    expect(gateway.peakBacklogBytes).toBeLessThan(8 * MiB);
  }, 60_000);

  it('a 50 MiB download to a client that reads slowly: arrives whole, and neither side buffers it', async () => {
    let received = 0;
    let status = 0;
    const growth = await peakRss(
      () =>
        new Promise<void>((resolve, reject) => {
          request({ host: '127.0.0.1', port: gatewayPort, path: '/huge', headers: { Host: 'web.example.com' }, agent: false }, (res) => {
            status = res.statusCode ?? 0;
            res.on('data', (c: Buffer) => {
              received += c.length;
              res.pause(); // about 25 MB/s
              setTimeout(() => res.resume(), Math.ceil(c.length / 25_000));
            });
            res.on('end', () => resolve());
            res.on('error', reject);
          })
            .on('error', reject)
            .end();
        }),
    );
    expect(status).toBe(200);
    expect(received).toBe(50 * MiB);
    expect(growth.operator).toBeLessThan(40);
    expect(gateway.peakBacklogBytes).toBeLessThan(8 * MiB);
  }, 60_000);
});

describe('WebSocket streams', () => {
  it('echo through the tunnel: text, binary, a 1 MiB and a fragmented message, with the subprotocol the backend chose and the original Host', async () => {
    const { ws, messages, closed } = await openWebSocket('/echo', { protocols: ['superchat', 'chat'] });
    expect(ws.protocol).toBe('chat');
    const big = Buffer.alloc(1024 * 1024, 0xab);
    ws.send('hello');
    ws.send(Buffer.from([0, 1, 2, 255]), { binary: true });
    ws.send(big, { binary: true });
    // A message sent in fragments arrives whole.
    ws.send('frag', { fin: false });
    ws.send('-ment', { fin: true });
    await eventually('four echoes', async () => messages.length === 4);
    expect(messages[0]).toEqual({ data: Buffer.from('hello'), binary: false });
    expect(messages[1]).toEqual({ data: Buffer.from([0, 1, 2, 255]), binary: true });
    expect(messages[2]!.binary).toBe(true);
    expect(messages[2]!.data.equals(big)).toBe(true);
    expect(messages[3]).toEqual({ data: Buffer.from('frag-ment'), binary: false });
    expect(backendWebSocketHosts).toContain('web.example.com');
    ws.close(4000, 'done');
    expect(await closed).toEqual({ code: 4000, reason: 'done' });
    // The client's close code and reason reached the backend.
    await eventually('the backend saw the close', async () => backendCloses.some((c) => c.code === 4000 && c.reason === 'done'));
  });

  it("a close from the backend reaches the client with its code and reason, and the stream is gone on both sides", async () => {
    const { ws, closed } = await openWebSocket('/bye');
    ws.send('anything');
    expect(await closed).toEqual({ code: 4001, reason: 'bye' });
    await eventually('no stream left at the gateway', async () => gateway.websockets.open === 0);
  });

  it('100 concurrent streams each get their own echoes', async () => {
    const streams = await Promise.all(Array.from({ length: 100 }, () => openWebSocket('/echo')));
    streams.forEach(({ ws }, i) => {
      ws.send(`stream-${i}-a`);
      ws.send(`stream-${i}-b`);
    });
    await eventually('every stream echoed twice', async () => streams.every((s) => s.messages.length === 2), 20_000);
    streams.forEach(({ messages }, i) => expect(messages.map((m) => m.data.toString())).toEqual([`stream-${i}-a`, `stream-${i}-b`]));
    await Promise.all(streams.map(async ({ ws, closed }) => {
      ws.close(1000);
      await closed;
    }));
    await eventually('no stream left at the gateway', async () => gateway.websockets.open === 0);
  });

  it('an upgrade for an unrouted path is refused (404), and an explicit target outside the exposed routes gets 403 without a connection', async () => {
    await expect(openWebSocket('/elsewhere', { host: 'narrow.example.com' })).rejects.toThrow('upgrade answered HTTP 404');
    const uuid = clusterByName(cp, ns)!.cluster_uuid;
    const connectionsBefore = forbidden!.connections;
    const id = randomUUID();
    cp.sendRaw(uuid, JSON.stringify(envelope('ws_open', { path: '/', headers: {}, host: 'web.example.com', namespace: ns, service_name: 'secret', service_port: 8080 }, id)));
    const refused = await eventually('the refusal', async () => cp.received.find((m) => m.request_id === id));
    expect(refused).toMatchObject({ type: 'ws_error', payload: { status: 403, error: `backend ${ns}/secret:8080 is not exposed by any route of this cluster` } });
    expect(forbidden!.connections).toBe(connectionsBefore);
  });
});

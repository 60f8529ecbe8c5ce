// Hostile peers against the reference control plane and its gateway (the model for a hosted gateway, which
// serves every cluster from one process): an agent that sends crafted frames, a client that aborts, an
// agent that registers as another cluster. Whatever they send, the process keeps serving everyone else,
// no rejection or exception goes unhandled, and the client gets an error status instead of a hang.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { connect as http2Connect, constants as h2, type ClientHttp2Session } from 'node:http2';
import { connect, type Socket } from 'node:net';
import WebSocket from 'ws';
import { encodeBinaryFrame } from '../../src/controlplane/protocol.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { Gateway, MAX_CLIENT_BACKLOG, type GatewayOptions } from '../../src/reference-control-plane/gateway.js';
import { MAX_STREAM_BACKLOG } from '../../src/reference-control-plane/gateway-websocket.js';
import { ReferenceControlPlane } from '../../src/reference-control-plane/server.js';
import { call, callHttp2, FakeAgent, within, type Answer, type ServeOptions } from '../support/fake-agent.js';
import { waitFor } from '../support/processes.js';

const SECRET = 'hostile-admin-secret';
const HOST = 'shop.example.com';
const MiB = 1024 * 1024;

let cp: ReferenceControlPlane;
let gateway: Gateway;
let gatewayPort: number;
let agent: FakeAgent;
/** The cluster every test's agent resumes (a new one each time would find HOST claimed by the last). */
let shopClusterId: string | undefined;
const crashes: unknown[] = [];
const recordCrash = (err: unknown): void => void crashes.push(err);

/** What every crash test ends with: both servers answer, and nothing went unhandled. */
async function stillServes(): Promise<void> {
  expect((await call(cp.port, '127.0.0.1', '/healthz')).status).toBe(200);
  expect(await call(gatewayPort, HOST, '/ok')).toMatchObject({ status: 200, body: 'ok' });
  expect(crashes).toEqual([]);
}

/** A GET through the gateway that the agent does not answer itself: the test answers it from `agent`. */
async function proxied(path: string): Promise<{ answer: Promise<Answer>; id: string; began: Promise<void> }> {
  let begin = (): void => undefined;
  const began = new Promise<void>((resolve) => (begin = resolve));
  const answer = call(gatewayPort, HOST, path, { onResponse: () => begin() });
  answer.catch(() => undefined); // awaited by the test; a failure there is the test's
  const requested = await agent.next((f) => f.type === 'proxy_request' && f.payload.path === path, `proxy_request ${path}`);
  return { answer, id: requested.request_id!, began };
}

beforeAll(async () => {
  process.on('unhandledRejection', recordCrash);
  process.on('uncaughtException', recordCrash);
  cp = new ReferenceControlPlane({ token: SECRET, logger: silentLogger() });
  await cp.listen();
  gateway = new Gateway(cp, { timeoutMs: 5_000, maxExchangesPerSource: 8 });
  gatewayPort = await gateway.listen();
});

beforeEach(async () => {
  agent = new FakeAgent(cp.url, cp.agentToken('shop'));
  expect(await agent.opened()).toBe(true);
  shopClusterId = await agent.serve('shop', [HOST], { clusterId: shopClusterId });
});

/**
 * A control plane and gateway of the test's own (a control plane feeds one gateway), with an agent serving
 * HOST: for tests of the gateway's options.
 */
async function ownGateway(options: GatewayOptions, serve: ServeOptions = {}): Promise<{ port: number; agent: FakeAgent; gateway: Gateway; close: () => Promise<void> }> {
  const own = new ReferenceControlPlane({ token: SECRET, logger: silentLogger() });
  await own.listen();
  const ownGatewayServer = new Gateway(own, options);
  const port = await ownGatewayServer.listen();
  const ownAgent = new FakeAgent(own.url, own.agentToken('shop'));
  expect(await ownAgent.opened()).toBe(true);
  await ownAgent.serve('shop', [HOST], serve);
  return {
    port,
    agent: ownAgent,
    gateway: ownGatewayServer,
    close: async () => {
      ownAgent.close();
      await ownGatewayServer.close();
      await own.close();
    },
  };
}

afterEach(() => {
  agent.close();
  crashes.length = 0;
});

afterAll(async () => {
  await gateway?.close();
  await cp?.close();
  process.off('unhandledRejection', recordCrash);
  process.off('uncaughtException', recordCrash);
});

describe('inputs that used to end the process', () => {
  it('a client that aborts its upload midway', async () => {
    const client: Socket = connect(gatewayPort, '127.0.0.1');
    client.on('error', () => undefined);
    client.write(`POST /upload HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 100000\r\n\r\n${'x'.repeat(1000)}`);
    const chunksBefore = gateway.requestChunksSent;
    const requested = await agent.next((f) => f.type === 'proxy_request' && f.payload.path === '/upload', 'the upload');
    // The body is being forwarded (as binary frames), so the gateway is inside its read loop when the client goes.
    await waitFor('the first body chunk forwarded', async () => gateway.requestChunksSent > chunksBefore, { timeoutMs: 5_000, intervalMs: 10 });
    client.destroy();
    await agent.nextOf('proxy_cancel', requested.request_id);
    await stillServes();
  });

  it.each([
    { name: 'proxy_response with status 1000', frames: [['proxy_response', { status: 1000, headers: {}, body: '' }]] },
    { name: 'proxy_response_header with status 1000', frames: [['proxy_response_header', { status: 1000, headers: {} }]] },
    { name: 'proxy_error with status 1000', frames: [['proxy_error', { status: 1000, error: 'x' }]] },
    { name: 'proxy_response with status 101', frames: [['proxy_response', { status: 101, headers: {}, body: '' }]] },
    { name: 'proxy_response with a header name Node will not write', frames: [['proxy_response', { status: 200, headers: { 'bad header': 'x' }, body: '' }]] },
    { name: 'proxy_response_header with CR LF in a value', frames: [['proxy_response_header', { status: 200, headers: { 'x-a': 'v\r\nset-cookie: stolen=1' } }]] },
    { name: 'proxy_response_chunk before any header', frames: [['proxy_response_chunk', { data: 'aGk=' }]] },
  ])('an agent answering with $name: the client gets 502', async ({ frames }) => {
    const { answer, id } = await proxied('/hostile');
    for (const [type, payload] of frames) agent.send(type as string, payload, id);
    const got = await answer;
    expect(got.status).toBe(502);
    expect(got.body).toContain("the cluster's answer was refused");
    await agent.nextOf('proxy_cancel', id);
    await stillServes();
  });

  it.each([
    { name: 'a second proxy_response_header', frame: ['proxy_response_header', { status: 200, headers: {} }] },
    { name: 'a proxy_response_chunk whose data is a number', frame: ['proxy_response_chunk', { data: 5 }] },
    { name: 'a proxy_response_chunk whose data is an object', frame: ['proxy_response_chunk', { data: { length: 3 } }] },
    { name: 'a proxy_response after the header', frame: ['proxy_response', { status: 200, headers: {}, body: '' }] },
  ])('an agent sending $name once its answer began: the response is cut', async ({ frame }) => {
    const { answer, id, began } = await proxied('/hostile-stream');
    agent.send('proxy_response_header', { status: 200, headers: { 'content-type': 'text/plain' } }, id);
    agent.send('proxy_response_chunk', { data: Buffer.from('first ').toString('base64') }, id);
    await within('the response to begin', began);
    agent.send(frame[0] as string, frame[1], id);
    const got = await answer;
    expect(got).toMatchObject({ status: 200, cut: true });
    await agent.nextOf('proxy_cancel', id);
    await stillServes();
  });

  it('a malformed percent-encoding on the admin API is a 400', async () => {
    const got = await call(cp.port, '127.0.0.1', '/api/v1/gateway/routes/cluster/%E0%A4%A', { headers: { Authorization: `Bearer ${SECRET}` } });
    expect(got.status).toBe(400);
    expect(JSON.parse(got.body).error).toContain('percent-encoding');
    const drop = await call(cp.port, '127.0.0.1', '/api/v1/test/clusters/%E0%A4%A/drop', { method: 'POST', headers: { Authorization: `Bearer ${SECRET}` } });
    expect(drop.status).toBe(400);
    await stillServes();
  });

  describe('WebSocket streams', () => {
    /** A client upgrade through the gateway; resolves with the agent's ws_open and the client's outcome. */
    async function openStream(): Promise<{ client: WebSocket; id: string; outcome: Promise<string> }> {
      const client = new WebSocket(`ws://127.0.0.1:${gatewayPort}/live`, { headers: { Host: HOST } });
      const outcome = new Promise<string>((resolve) => {
        client.once('unexpected-response', (_req, res) => resolve(`refused ${res.statusCode}`));
        client.once('close', (code) => resolve(`closed ${code}`));
        client.once('error', () => undefined);
      });
      const open = await agent.nextOf('ws_open');
      return { client, id: open.request_id!, outcome };
    }

    it('a second ws_opened drops the stream, not the process', async () => {
      const { client, id, outcome } = await openStream();
      const upgraded = new Promise((resolve) => client.once('open', resolve));
      agent.send('ws_opened', {}, id);
      await within('the client upgrade', upgraded);
      agent.send('ws_opened', {}, id);
      expect(await within('the stream to end', outcome)).toMatch(/^closed/);
      expect((await agent.nextOf('ws_close', id)).payload.code).toBe(1011);
      await stillServes();
    });

    it('a ws_message whose data is not a string ends the stream', async () => {
      const { client, id, outcome } = await openStream();
      const upgraded = new Promise((resolve) => client.once('open', resolve));
      agent.send('ws_opened', {}, id);
      await within('the client upgrade', upgraded);
      agent.send('ws_message', { data: 42, binary: false }, id);
      expect(await within('the stream to end', outcome)).toMatch(/^closed/);
      await agent.nextOf('ws_close', id);
      await stillServes();
    });

    it('a subprotocol the client did not offer is refused with 502', async () => {
      const { id, outcome } = await openStream();
      agent.send('ws_opened', { protocol: 'x\r\nSet-Cookie: stolen=1' }, id);
      expect(await within('the refusal', outcome)).toBe('refused 502');
      await stillServes();
    });

    it(`an agent that ignores ws_flow towards a client that does not read is cut past ${MAX_STREAM_BACKLOG / MiB} MiB`, async () => {
      const { client, id } = await openStream();
      const upgraded = new Promise((resolve) => client.once('open', resolve));
      agent.send('ws_opened', {}, id);
      await within('the client upgrade', upgraded);
      client.pause(); // reads nothing more: everything sent to it is held at the gateway
      const message = encodeBinaryFrame('ws_message_binary', id, Buffer.alloc(MiB));
      // Past the limit by more than the kernel's socket buffers can take off the gateway's hands.
      for (let i = 0; i < MAX_STREAM_BACKLOG / MiB + 24; i++) agent.sendBinary(message);
      expect((await agent.nextOf('ws_flow', id)).payload).toEqual({ paused: true });
      expect((await agent.nextOf('ws_close', id)).payload.code).toBe(1011);
      await stillServes();
    }, 60_000);
  });
});

describe('agent credentials', () => {
  it('the admin secret does not open an agent socket: 401, counted', async () => {
    const before = cp.refusedHandshakes;
    const impostor = new FakeAgent(cp.url, SECRET);
    expect(await impostor.opened()).toBe(401);
    expect(cp.refusedHandshakes - before).toBe(1);
  });

  it('an agent token does not open the admin API', async () => {
    expect((await call(cp.port, '127.0.0.1', '/api/v1/clusters', { headers: { Authorization: `Bearer ${cp.agentToken('shop')}` } })).status).toBe(401);
    expect((await call(cp.port, '127.0.0.1', '/api/v1/clusters', { headers: { Authorization: `Bearer ${SECRET}` } })).status).toBe(200);
  });

  it("an agent that learnt another cluster's id cannot register as it, nor take its socket or its users' requests", async () => {
    const victim = cp.store.clusters().find((c) => c.name === 'shop' && c.connected)!;
    let replaced = false;
    void agent.closed.then(() => (replaced = true));
    const attacker = new FakeAgent(cp.url, cp.agentToken('attacker'));
    expect(await attacker.opened()).toBe(true);
    // Under the victim's name (with or without its id): refused, whatever the id.
    for (const extra of [{ cluster_id: victim.cluster_id }, {}]) {
      const answer = await attacker.register('shop', extra);
      expect(answer).toMatchObject({ type: 'error', payload: { code: 'identity_mismatch' } });
      expect(answer.payload.message).toContain('"attacker"');
    }
    // Under its own name with the victim's id: a cluster of its own credential (ids are per credential), not the victim's.
    const own = await attacker.register('attacker', { cluster_id: victim.cluster_id });
    expect(own).toMatchObject({ type: 'register_success' });
    expect(own.payload.cluster_uuid).not.toBe(victim.cluster_uuid);
    expect(cp.store.cluster(own.payload.cluster_uuid as string)).toMatchObject({ name: 'attacker', credential: expect.not.stringMatching(victim.credential) });
    // The victim kept its socket, and its users' requests still go to it.
    expect(await call(gatewayPort, HOST, '/ok')).toMatchObject({ status: 200, body: 'ok' });
    expect(replaced).toBe(false);
    attacker.close();
  });

  it('an agent resuming its own cluster with its own token is taken, and replaces its older socket (4000)', async () => {
    const own = cp.store.clusters().find((c) => c.name === 'shop' && c.connected)!;
    const again = new FakeAgent(cp.url, cp.agentToken('shop'));
    expect(await again.opened()).toBe(true);
    expect(await again.register('shop', { cluster_id: own.cluster_id })).toMatchObject({ type: 'register_success', payload: { cluster_id: own.cluster_id } });
    expect(await within('the older socket to close', agent.closed)).toBe(4000);
    again.close();
  });

  it('without a secret nothing is authenticated, and the start says so in the log', async () => {
    const warnings: string[] = [];
    const ignore = (): void => undefined;
    const logger = { warn: (message: string) => void warnings.push(message), info: ignore, error: ignore, debug: ignore } as unknown as Logger;
    const open = new ReferenceControlPlane({ logger });
    await open.listen();
    try {
      expect(open.agentToken('any')).toBe('');
      expect(warnings.join('\n')).toContain('agents are not authenticated');
      const anyone = new FakeAgent(open.url, '');
      expect(await anyone.opened()).toBe(true);
      expect((await anyone.register('any')).type).toBe('register_success');
      anyone.close();
    } finally {
      await open.close();
    }
  });
});

describe('the gateway', () => {
  it('routes a Host given in upper case and with a port', async () => {
    expect(await call(gatewayPort, `SHOP.Example.COM:${gatewayPort}`, '/ok')).toMatchObject({ status: 200, body: 'ok' });
  });

  it('does not cut a streamed response that began before the timeout', async () => {
    const quick = await ownGateway({ timeoutMs: 300 });
    try {
      const answer = call(quick.port, HOST, '/events');
      const requested = await quick.agent.next((f) => f.type === 'proxy_request' && f.payload.path === '/events', 'proxy_request /events');
      const id = requested.request_id!;
      quick.agent.send('proxy_response_header', { status: 200, headers: { 'content-type': 'text/event-stream' } }, id);
      quick.agent.send('proxy_response_chunk', { data: Buffer.from('data: first\n\n').toString('base64') }, id);
      // Outlasts the begin-timeout three times over: a timer still running would have cut the stream by now.
      await new Promise((resolve) => setTimeout(resolve, 900));
      quick.agent.send('proxy_response_chunk', { data: Buffer.from('data: last\n\n').toString('base64') }, id);
      quick.agent.send('proxy_response_end', {}, id);
      expect(await answer).toMatchObject({ status: 200, cut: false, body: 'data: first\n\ndata: last\n\n' });
    } finally {
      await quick.close();
    }
  });

  it('answers 429 past the concurrent exchanges of one address, HTTP and WebSocket alike', async () => {
    const limited = await ownGateway({ maxExchangesPerSource: 2 });
    try {
      const held = call(limited.port, HOST, '/held');
      held.catch(() => undefined);
      const heldId = (await limited.agent.next((f) => f.type === 'proxy_request' && f.payload.path === '/held', 'the held request')).request_id!;
      const stream = new WebSocket(`ws://127.0.0.1:${limited.port}/live`, { headers: { Host: HOST } });
      stream.on('error', () => undefined);
      await limited.agent.nextOf('ws_open');
      const refused = await call(limited.port, HOST, '/ok');
      expect(refused.status).toBe(429);
      expect(JSON.parse(refused.body).error).toContain('at once from this address');
      // One ends: the address may start another.
      limited.agent.send('proxy_response', { status: 204, headers: {}, body: '' }, heldId);
      expect((await held).status).toBe(204);
      await waitFor('the slot given back', async () => limited.gateway.openFrom('127.0.0.1') === 1, { timeoutMs: 5_000, intervalMs: 10 });
      expect(await call(limited.port, HOST, '/ok')).toMatchObject({ status: 200, body: 'ok' });
      stream.terminate();
    } finally {
      await limited.close();
    }
  });

  it('cuts the answer of an agent that ignores proxy_flow towards a client that does not read', async () => {
    const client: Socket = connect(gatewayPort, '127.0.0.1');
    client.on('error', () => undefined);
    client.write(`GET /flood HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
    client.pause(); // reads nothing: everything sent to it is held at the gateway
    const id = (await agent.next((f) => f.type === 'proxy_request' && f.payload.path === '/flood', 'the flood request')).request_id!;
    agent.send('proxy_response_header', { status: 200, headers: {} }, id);
    const chunk = encodeBinaryFrame('proxy_response_chunk', id, Buffer.alloc(MiB));
    // Past the limit by more than the kernel's socket buffers can take off the gateway's hands.
    for (let i = 0; i < MAX_CLIENT_BACKLOG / MiB + 24; i++) agent.sendBinary(chunk);
    expect((await agent.nextOf('proxy_flow', id)).payload).toEqual({ paused: true });
    await agent.nextOf('proxy_cancel', id);
    client.destroy();
    await stillServes();
  }, 60_000);
});

describe('HTTP/2 clients and trailers', () => {
  /** An HTTP/2 (h2c) connection to `port`, closed by the test. */
  const h2c = (port: number): ClientHttp2Session => {
    const session = http2Connect(`http://127.0.0.1:${port}`);
    session.on('error', () => undefined);
    return session;
  };

  it("h2c on the plain port: TE: trailers reaches an agent that agreed to trailers, its trailers reach the client, and a headers-only answer ends with its headers", async () => {
    const own = await ownGateway({}, { features: { trailers: true } });
    const session = h2c(own.port);
    try {
      const answer = callHttp2(session, HOST, '/pkg.Svc/Call', { method: 'POST', headers: { te: 'trailers', 'content-type': 'application/grpc' }, body: 'request-body' });
      const requested = await own.agent.next((f) => f.type === 'proxy_request' && f.payload.path === '/pkg.Svc/Call', 'the HTTP/2 request');
      // A body of no announced length is streamed, as a chunked one is; TE: trailers is passed on; no pseudo-header leaks.
      expect(requested.payload.headers).toMatchObject({ te: 'trailers', 'content-type': 'application/grpc', 'transfer-encoding': 'chunked' });
      expect(Object.keys(requested.payload.headers as object).filter((name) => name.startsWith(':'))).toEqual([]);
      await own.agent.nextOf('proxy_request_end', requested.request_id);
      const id = requested.request_id!;
      own.agent.send('proxy_response_header', { status: 200, headers: { 'content-type': 'application/grpc' } }, id);
      own.agent.send('proxy_response_chunk', { data: Buffer.from('answer').toString('base64') }, id);
      own.agent.send('proxy_response_end', { trailers: { 'grpc-status': '0', 'grpc-message': 'fine', 'content-length': '99' } }, id);
      expect(await answer).toMatchObject({ status: 200, body: 'answer', rstCode: 0, headersOnly: false, trailers: { 'grpc-status': '0', 'grpc-message': 'fine' } });
      // Fields a trailer section may not carry are dropped.
      expect((await answer).trailers).not.toHaveProperty('content-length');

      const only = callHttp2(session, HOST, '/pkg.Svc/Fail');
      const failing = await own.agent.next((f) => f.type === 'proxy_request' && f.payload.path === '/pkg.Svc/Fail', 'the second request');
      own.agent.send('proxy_response', { status: 200, headers: { 'content-type': 'application/grpc', 'grpc-status': '5', 'grpc-message': 'gone' }, body: '' }, failing.request_id);
      expect(await only).toMatchObject({ status: 200, headersOnly: true, body: '', headers: { 'grpc-status': '5', 'grpc-message': 'gone' } });
    } finally {
      session.close();
      await own.close();
    }
  });

  it('an agent that did not agree to trailers is not passed TE: trailers, and trailers it sends anyway are refused', async () => {
    const session = h2c(gatewayPort);
    try {
      const answer = callHttp2(session, HOST, '/no-trailers', { headers: { te: 'trailers' } });
      const requested = await agent.next((f) => f.type === 'proxy_request' && f.payload.path === '/no-trailers', 'the request');
      expect(requested.payload.headers).not.toHaveProperty('te');
      const id = requested.request_id!;
      agent.send('proxy_response_header', { status: 200, headers: {} }, id);
      agent.send('proxy_response_end', { trailers: { 'grpc-status': '0' } }, id);
      expect(await answer).toMatchObject({ status: 200, rstCode: h2.NGHTTP2_INTERNAL_ERROR });
      await agent.nextOf('proxy_cancel', id);
      await stillServes();
    } finally {
      session.close();
    }
  });

  it.each([
    { name: 'trailers that are not an object', trailers: 'grpc-status: 0' },
    { name: 'a trailer name that is not a token', trailers: { 'bad name': '0' } },
    { name: 'a pseudo-header as a trailer', trailers: { ':status': '200' } },
    { name: 'CR LF in a trailer value', trailers: { 'grpc-message': 'x\r\nset-cookie: stolen=1' } },
    { name: 'a trailer value that is a number', trailers: { 'grpc-status': 0 } },
    { name: '257 trailers', trailers: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`x-t-${i}`, 'v'])) },
    { name: 'trailers of more than 64 KiB', trailers: { 'grpc-message': 'm'.repeat(64 * 1024) } },
    // Node would have thrown sending it, in a callback outside any guard: the process ended.
    { name: 'a list under a trailer name HTTP/2 allows once', trailers: { 'grpc-status': '0', date: ['a', 'b'] } },
  ])('an agent that agreed to trailers sending $name: the stream is reset, the agent told to stop, the gateway serves on', async ({ trailers }) => {
    const own = await ownGateway({}, { features: { trailers: true } });
    const session = h2c(own.port);
    try {
      const answer = callHttp2(session, HOST, '/bad-trailers');
      const id = (await own.agent.next((f) => f.type === 'proxy_request' && f.payload.path === '/bad-trailers', 'the request')).request_id!;
      own.agent.send('proxy_response_header', { status: 200, headers: {} }, id);
      own.agent.send('proxy_response_chunk', { data: Buffer.from('partial').toString('base64') }, id);
      own.agent.send('proxy_response_end', { trailers }, id);
      const got = await answer;
      expect(got.rstCode).toBe(h2.NGHTTP2_INTERNAL_ERROR);
      expect(got.trailers).toBeUndefined();
      await own.agent.nextOf('proxy_cancel', id);
      expect(await callHttp2(session, HOST, '/ok')).toMatchObject({ status: 200, body: 'ok', rstCode: 0 });
      expect(crashes).toEqual([]);
    } finally {
      session.close();
      await own.close();
    }
  });

  it.each([
    { name: 'a list under a name HTTP/2 allows once, whole', type: 'proxy_response', headers: { etag: ['a', 'b'] }, got: { status: 502 } },
    { name: 'a list under a name HTTP/2 allows once, streamed', type: 'proxy_response_header', headers: { etag: ['a', 'b'] }, got: { status: 502 } },
    // Passes the schema, but HTTP/2 forbids it: the answer cannot be written. Ended already, the stream is reset.
    { name: 'a connection-specific header, whole', type: 'proxy_response', headers: { upgrade: 'x' }, got: { rstCode: h2.NGHTTP2_INTERNAL_ERROR } },
    { name: 'a connection-specific header, streamed', type: 'proxy_response_header', headers: { 'transfer-encoding': 'chunked' }, got: { status: 502 } },
  ])('an answer with $name an HTTP/2 client cannot be sent: $got, not a hang, and its slot is given back', async ({ type, headers, got }) => {
    const own = await ownGateway({});
    const session = h2c(own.port);
    try {
      const answer = callHttp2(session, HOST, '/unsendable');
      const id = (await own.agent.next((f) => f.type === 'proxy_request' && f.payload.path === '/unsendable', 'the request')).request_id!;
      own.agent.send(type, { status: 200, headers, ...(type === 'proxy_response' ? { body: '' } : {}) }, id);
      if (type === 'proxy_response_header') own.agent.send('proxy_response_chunk', { data: Buffer.from('hi').toString('base64') }, id);
      expect(await answer).toMatchObject(got);
      await own.agent.nextOf('proxy_cancel', id);
      await waitFor('the slot given back', async () => own.gateway.openFrom('127.0.0.1') === 0, { timeoutMs: 5_000, intervalMs: 10 });
      expect(await callHttp2(session, HOST, '/ok')).toMatchObject({ status: 200, body: 'ok' });
      expect(crashes).toEqual([]);
    } finally {
      session.close();
      await own.close();
    }
  });

  it('HTTP/2 streams count against the per-address limit like any request: 429 past it, on one connection', async () => {
    const limited = await ownGateway({ maxExchangesPerSource: 2 });
    const session = h2c(limited.port);
    try {
      const held = [callHttp2(session, HOST, '/held-1'), callHttp2(session, HOST, '/held-2')];
      const ids = [];
      for (const path of ['/held-1', '/held-2']) ids.push((await limited.agent.next((f) => f.type === 'proxy_request' && f.payload.path === path, path)).request_id!);
      const refused = await callHttp2(session, HOST, '/ok');
      expect(refused.status).toBe(429);
      expect(JSON.parse(refused.body).error).toContain('at once from this address');
      for (const id of ids) limited.agent.send('proxy_response', { status: 204, headers: {}, body: '' }, id);
      expect((await Promise.all(held)).map((a) => a.status)).toEqual([204, 204]);
    } finally {
      session.close();
      await limited.close();
    }
  });

  it('an HTTP/2 request is held to the path rule at the edge like any other: 400, nothing sent to the agent', async () => {
    const session = h2c(gatewayPort);
    try {
      // (A plain `..` or `%2e%2e` segment is resolved at the edge as URL parsing does: what remains is checked.)
      for (const path of ['/api/..;/admin', '/api%2fadmin', '/api/%5cadmin', '/api/%252e%252e/admin']) {
        const refused = await callHttp2(session, HOST, path);
        expect(refused.status).toBe(400);
        expect(JSON.parse(refused.body).error).toMatch(/^refused: /);
      }
      expect(await callHttp2(session, HOST, '/ok')).toMatchObject({ status: 200, body: 'ok' });
    } finally {
      session.close();
    }
  });

  it('a client that sends the HTTP/2 preface and then garbage, or half a preface and goes away, ends nothing but its own connection', async () => {
    for (const bytes of ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' + '\xff'.repeat(64), 'PRI * HTTP/2.0\r\n']) {
      const client: Socket = connect(gatewayPort, '127.0.0.1');
      client.on('error', () => undefined);
      client.write(Buffer.from(bytes, 'latin1'));
      await new Promise((resolve) => setTimeout(resolve, 50));
      client.destroy();
    }
    const session = h2c(gatewayPort);
    try {
      expect(await callHttp2(session, HOST, '/ok')).toMatchObject({ status: 200, body: 'ok' });
    } finally {
      session.close();
    }
    await stillServes();
  });
});

describe('connections that hold a socket without a request', () => {
  const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  const EMPTY_SETTINGS = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
  /** A raw connection to `port` and what it received until the gateway closed it (bounded: `within`). */
  const raw = (port: number): { socket: Socket; closed: Promise<Buffer> } => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    return { socket, closed: new Promise((resolve) => socket.once('close', () => resolve(Buffer.concat(received)))) };
  };

  it('a preface sent a byte at a time is cut at its deadline, however often a byte comes', async () => {
    const own = await ownGateway({ prefaceTimeoutMs: 200 });
    const { socket, closed } = raw(own.port);
    let sent = 0;
    const trickle = setInterval(() => sent < PREFACE.length - 1 && socket.write(PREFACE.subarray(sent, ++sent)), 40);
    try {
      await within('the gateway closing the connection', closed, 3_000);
      expect(sent).toBeLessThan(PREFACE.length - 1);
    } finally {
      clearInterval(trickle);
      socket.destroy();
      await own.close();
    }
  });

  it('an HTTP/2 connection with no stream is sent GOAWAY and closed once idle', async () => {
    const own = await ownGateway({ http2IdleTimeoutMs: 200 });
    const { socket, closed } = raw(own.port);
    try {
      socket.write(Buffer.concat([PREFACE, EMPTY_SETTINGS]));
      const received = await within('the gateway closing the idle connection', closed, 3_000);
      // Frames: a 9-byte header (24-bit length, type, flags, stream) and the payload; GOAWAY is type 7.
      const types: number[] = [];
      for (let at = 0; at + 9 <= received.length; at += 9 + received.readUIntBE(at, 3)) types.push(received[at + 3]!);
      expect(types).toContain(7);
    } finally {
      socket.destroy();
      await own.close();
    }
  });

  it('connections past the per-address cap are closed at once; one closing makes room', async () => {
    const own = await ownGateway({ maxConnectionsPerSource: 2 });
    const held = [raw(own.port), raw(own.port)];
    const extra = raw(own.port);
    try {
      await within('the connection past the cap closed', extra.closed, 3_000);
      held[0]!.socket.destroy();
      await held[0]!.closed;
      const session = http2Connect(`http://127.0.0.1:${own.port}`);
      session.on('error', () => undefined);
      try {
        expect(await callHttp2(session, HOST, '/ok')).toMatchObject({ status: 200, body: 'ok' });
      } finally {
        session.close();
      }
    } finally {
      for (const { socket } of [...held, extra]) socket.destroy();
      await own.close();
    }
  });
});

describe('what the control plane keeps of received messages', () => {
  it('keeps sizes instead of bodies, and only the newest messages', async () => {
    const { answer, id } = await proxied('/body');
    agent.send('proxy_response', { status: 200, headers: {}, body: Buffer.from('a secret body').toString('base64') }, id);
    expect((await answer).body).toBe('a secret body');
    const kept = cp.received.find((m) => m.request_id === id && m.type === 'proxy_response')!;
    expect(kept.payload).toEqual({ status: 200, headers: {}, body_bytes: 13 });
    const mark = cp.receivedCount;
    for (let i = 0; i < 6_000; i++) agent.send('pong', {});
    await waitFor('6,000 pongs received', async () => cp.receivedCount >= mark + 6_000, { timeoutMs: 20_000, intervalMs: 20 });
    expect(cp.received.length).toBeLessThanOrEqual(5_500);
    expect(cp.receivedSince(mark).length).toBe(cp.received.length);
    expect(cp.received.at(-1)!.seq).toBe(cp.receivedCount - 1);
  });
});

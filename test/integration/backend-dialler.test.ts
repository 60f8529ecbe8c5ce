// The tunnel's backend dialler (src/tunnel/backends.ts) against real servers on loopback, with a CA made in
// the test and given directly (as a BackendTLSPolicy's would be): TLS verified against it, refusals that say
// why, kept-alive connections and one HTTP/2 session per backend reused, a session that receives GOAWAY
// replaced, a backend's stream limit respected (on a new session too), streams the backend resets failed
// rather than passed on as complete, requests HTTP/2 cannot carry refused without costing a connection, and
// pools that stay bounded.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createSecureServer, createServer as createH2cServer, constants as h2, type Http2SecureServer, type Http2Server, type ServerHttp2Stream } from 'node:http2';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { BackendTls, BackendTransport } from '../../src/routing/backend-transport.js';
import { Backends, explainBackendError, failureStatus, type BackendResponse, type BackendTarget } from '../../src/tunnel/backends.js';
import { makeCa, type TestCa } from '../support/certs.js';
import { waitFor } from '../support/processes.js';

const NAME = 'web.shop.svc.cluster.local';
let ca: TestCa;
let otherCa: TestCa;
let https: HttpsServer;
let h2tls: Http2SecureServer;
let h2c: Http2Server;
let plain: HttpServer;
const counts = { httpsConnections: 0, h2tlsSessions: 0, h2cSessions: 0 };
/** Every HTTP/2 session the servers took, so that afterAll can end those a failed test left open. */
const serverSessions = new Set<{ destroy(): void }>();
/** h2c streams the server holds open (path /hold), and how each ended. */
const held: ServerHttp2Stream[] = [];
const resets: number[] = [];

const portOf = (server: { address(): AddressInfo | string | null }): number => (server.address() as AddressInfo).port;
const listen = <S extends { listen(port: number, host: string, cb: () => void): unknown }>(server: S): Promise<S> => new Promise((resolve) => void server.listen(0, '127.0.0.1', () => resolve(server)));
const tls = (overrides: Partial<BackendTls> = {}): BackendTls => ({ servername: NAME, ca: ca.cert, verify: true, source: 'BackendTLSPolicy shop/web-tls', ...overrides });
const target = (port: number, transport: BackendTransport): BackendTarget => ({ address: `127.0.0.1:${port}`, transport });

type Answer = { status: number; body: string; trailers?: Record<string, unknown>; headersOnly: boolean } | { error: string; tls: boolean; status: number };

/** One request without a body (GET unless told) through `backends`: the answer (status, body, trailers) or the error's explanation and status. */
function get(backends: Backends, to: BackendTarget, path = '/', headers: Record<string, string | string[]> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve) => {
    const dialled = backends.dial(to, { method, path, headers, host: 'shop.example.com', hasBody: false }, {
      response: (res: BackendResponse) => {
        let body = '';
        res.body.on('data', (c: Buffer) => (body += c.toString()));
        res.body.on('end', () => resolve({ status: res.status, body, trailers: res.trailers(), headersOnly: res.headersOnly }));
      },
      error: (err) => {
        const why = explainBackendError(err, to);
        resolve({ error: why.message, tls: why.tls, status: failureStatus(err) });
      },
      drain: () => undefined,
    });
    if (!dialled.ok) return resolve({ error: dialled.error, tls: false, status: dialled.status });
    dialled.call.end();
  });
}

beforeAll(async () => {
  ca = makeCa();
  otherCa = makeCa('another CA');
  const served = ca.issue([NAME]);
  https = await listen(createHttpsServer(served, (req, res) => res.end(`https ${req.headers.host}`)));
  https.on('secureConnection', () => counts.httpsConnections++);
  h2tls = await listen(createSecureServer(served, (req, res) => res.end(`h2 ${req.headers[':authority']}`)));
  h2tls.on('session', (session) => {
    counts.h2tlsSessions++;
    serverSessions.add(session);
  });
  h2c = createH2cServer({ settings: { maxConcurrentStreams: 2 } });
  h2c.on('session', (session) => {
    counts.h2cSessions++;
    serverSessions.add(session);
  });
  h2c.on('stream', (stream, headers) => {
    const path = headers[':path'];
    stream.on('close', () => resets.push(stream.rstCode));
    if (path === '/hold') return void held.push(stream);
    // Reset with NO_ERROR (no END_STREAM): before the response, and after 1,000 bytes of a body without a length.
    if (path === '/reset-before-headers') return void stream.close(h2.NGHTTP2_NO_ERROR);
    if (path === '/reset-mid-body') {
      stream.respond({ ':status': 200 });
      return void stream.write(Buffer.alloc(1000, 'x'), () => stream.destroy());
    }
    if (path === '/trailers-only') return stream.respond({ ':status': 200, 'grpc-status': '5' }, { endStream: true });
    if (path === '/goaway') {
      stream.respond({ ':status': 200 });
      stream.end('bye');
      return void stream.session?.goaway(h2.NGHTTP2_NO_ERROR);
    }
    stream.respond({ ':status': 200 }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'x-te': String(headers.te) }));
    stream.end(`h2c ${headers[':authority']}`);
  });
  await listen(h2c);
  plain = await listen(createHttpServer((_req, res) => res.end('plain')));
});

afterAll(async () => {
  for (const session of serverSessions) session.destroy();
  for (const server of [https, h2tls, h2c, plain] as Array<{ close(cb: () => void): void; closeAllConnections?: () => void }>) {
    server.closeAllConnections?.();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  ca?.remove();
  otherCa?.remove();
});

describe('HTTPS (HTTP/1.1 over TLS)', () => {
  it('verifies against the CA given, sends the name as SNI, and keeps the TLS connection alive across requests', async () => {
    const backends = new Backends();
    const before = counts.httpsConnections;
    for (let i = 0; i < 5; i++) expect(await get(backends, target(portOf(https), { protocol: 'HTTPS', tls: tls() }))).toMatchObject({ status: 200, body: 'https shop.example.com' });
    expect(counts.httpsConnections - before).toBe(1);
    expect(backends.pooled).toEqual({ tlsAgents: 1, sessions: 0, secureContexts: 1 });
    backends.close();
  });

  it('refuses a certificate another CA signed, a name that does not match, and a backend that does not speak TLS, saying which', async () => {
    const backends = new Backends();
    const untrusted = await get(backends, target(portOf(https), { protocol: 'HTTPS', tls: tls({ ca: otherCa.cert }) }));
    expect(untrusted).toEqual({ tls: true, status: 502, error: expect.stringContaining('TLS verification failed: the certificate is not trusted by the CA of BackendTLSPolicy shop/web-tls') });
    const system = await get(backends, target(portOf(https), { protocol: 'HTTPS', tls: tls({ ca: undefined, source: 'route protocol HTTPS' }) }));
    expect(system).toMatchObject({ tls: true, error: expect.stringContaining('not trusted by the system roots (route protocol HTTPS names no CA)') });
    const wrongName = await get(backends, target(portOf(https), { protocol: 'HTTPS', tls: tls({ servername: 'other.shop.svc.cluster.local' }) }));
    expect(wrongName).toMatchObject({ tls: true, error: expect.stringContaining('the certificate does not match the name other.shop.svc.cluster.local') });
    const cleartext = await get(backends, target(portOf(plain), { protocol: 'HTTPS', tls: tls() }));
    expect(cleartext).toMatchObject({ tls: true, error: expect.stringContaining('the backend does not answer TLS') });
    // Not verified at all: the explicit opt-out.
    expect(await get(backends, target(portOf(https), { protocol: 'HTTPS', tls: tls({ ca: otherCa.cert, verify: false }) }))).toMatchObject({ status: 200 });
    backends.close();
  });

  it('a CA bundle that is not PEM is refused without dialling', async () => {
    const backends = new Backends();
    const before = counts.httpsConnections;
    expect(await get(backends, target(portOf(https), { protocol: 'HTTPS', tls: tls({ ca: 'not a certificate' }) }))).toMatchObject({
      error: expect.stringContaining('the CA bundle of BackendTLSPolicy shop/web-tls cannot be used'),
    });
    expect(counts.httpsConnections).toBe(before);
    backends.close();
  });

  it('agents for TLS settings and secure contexts stay within their bounds; one context per CA, whatever the requests', async () => {
    const backends = new Backends({ maxTlsAgents: 2 });
    for (const servername of ['a.example', 'b.example', 'c.example', NAME]) {
      expect(await get(backends, target(portOf(https), { protocol: 'HTTPS', tls: tls({ servername, verify: servername !== NAME ? false : true }) }))).toMatchObject({ status: 200 });
    }
    expect(backends.pooled).toEqual({ tlsAgents: 2, sessions: 0, secureContexts: 1 });
    backends.close();
  });
});

describe('HTTP/2', () => {
  it('H2: TLS with ALPN h2 verified against the CA given; one session carries concurrent requests', async () => {
    const backends = new Backends();
    const before = counts.h2tlsSessions;
    const answers = await Promise.all(Array.from({ length: 10 }, () => get(backends, target(portOf(h2tls), { protocol: 'H2', tls: tls() }))));
    expect(answers).toEqual(Array(10).fill(expect.objectContaining({ status: 200, body: 'h2 shop.example.com' })));
    expect(counts.h2tlsSessions - before).toBe(1);
    expect(backends.pooled.sessions).toBe(1);
    backends.close();
  });

  it('H2: a certificate another CA signed, and a TLS backend without HTTP/2, are refused saying why', async () => {
    const backends = new Backends();
    expect(await get(backends, target(portOf(h2tls), { protocol: 'H2', tls: tls({ ca: otherCa.cert }) }))).toMatchObject({
      tls: true,
      error: expect.stringContaining('the certificate is not trusted by the CA of BackendTLSPolicy shop/web-tls'),
    });
    expect(await get(backends, target(portOf(https), { protocol: 'H2', tls: tls() }))).toMatchObject({ tls: true, error: expect.stringContaining('does not offer HTTP/2 (ALPN h2)') });
    backends.close();
  });

  it('H2C: trailers and TE: trailers pass, a headers-only answer says so, and one session serves one request after another', async () => {
    const backends = new Backends();
    const before = counts.h2cSessions;
    const to = target(portOf(h2c), { protocol: 'H2C' });
    expect(await get(backends, to, '/', { te: 'trailers' })).toMatchObject({ status: 200, body: 'h2c shop.example.com', headersOnly: false, trailers: { 'grpc-status': '0', 'x-te': 'trailers' } });
    expect(await get(backends, to, '/trailers-only')).toMatchObject({ status: 200, body: '', headersOnly: true, trailers: undefined });
    expect(counts.h2cSessions - before).toBe(1);
    backends.close();
  });

  it('H2C: a session that receives GOAWAY is dropped; the next request opens a new one', async () => {
    const backends = new Backends();
    const to = target(portOf(h2c), { protocol: 'H2C' });
    const before = counts.h2cSessions;
    expect(await get(backends, to, '/goaway')).toMatchObject({ status: 200, body: 'bye' });
    await waitFor('the session dropped', async () => backends.pooled.sessions === 0, { timeoutMs: 5_000, intervalMs: 20 });
    expect(await get(backends, to)).toMatchObject({ status: 200 });
    expect(counts.h2cSessions - before).toBe(2);
    backends.close();
  });

  it("H2C: the backend's concurrent-stream limit is respected: past it a request is refused (503), never queued; a cancelled stream is reset with CANCEL", async () => {
    const backends = new Backends();
    const to = target(portOf(h2c), { protocol: 'H2C' });
    const open = (): ReturnType<Backends['dial']> =>
      backends.dial(to, { method: 'GET', path: '/hold', headers: {}, host: 'shop.example.com', hasBody: false }, { response: () => undefined, error: () => undefined, drain: () => undefined });
    const first = open();
    const second = open();
    await waitFor('both streams at the backend', async () => held.length >= 2, { timeoutMs: 5_000, intervalMs: 20 });
    expect(first.ok && second.ok).toBe(true);
    expect(open()).toEqual({ ok: false, status: 503, error: `backend ${to.address} takes 2 concurrent HTTP/2 streams on its connection, and all are in use` });
    const resetsBefore = resets.length;
    if (first.ok) first.call.abort('cancelled by the control plane');
    await waitFor('the backend saw the reset', async () => resets.length > resetsBefore, { timeoutMs: 5_000, intervalMs: 20 });
    expect(resets.at(-1)).toBe(h2.NGHTTP2_CANCEL);
    // A stream is free again.
    expect(open().ok).toBe(true);
    backends.close();
  });

  it('H2C: requests HTTP/2 cannot carry are refused (400) and leave the healthy session in place: one connection for all', async () => {
    const backends = new Backends();
    const to = target(portOf(h2c), { protocol: 'H2C' });
    const before = counts.h2cSessions;
    expect(await get(backends, to)).toMatchObject({ status: 200 });
    expect(await get(backends, to, '/', { 'content-type': ['text/plain', 'text/html'] })).toEqual({ status: 400, tls: false, error: 'refused: the header content-type may have only one value, not 2' });
    expect(await get(backends, to)).toMatchObject({ status: 200 });
    expect(await get(backends, to, '/', {}, 'CONNECT')).toEqual({ status: 400, tls: false, error: 'refused: the CONNECT method cannot be carried through the tunnel' });
    // A connection-specific header node:http2 refuses as it builds the stream: the request's fault, not the session's.
    expect(await get(backends, to, '/', { 'keep-alive': 'timeout=5' })).toMatchObject({ status: 400, error: expect.stringContaining('the request could not be sent') });
    expect(await get(backends, to)).toMatchObject({ status: 200 });
    expect(counts.h2cSessions - before).toBe(1);
    expect(backends.pooled.sessions).toBe(1);
    // The same refusals for an HTTP/1.1 backend, before anything is dialled.
    expect(await get(backends, target(portOf(plain), { protocol: 'HTTP' }), '/', {}, 'CONNECT')).toMatchObject({ status: 400 });
    expect(await get(backends, target(portOf(plain), { protocol: 'HTTP' }), '/', { authorization: ['a', 'b'] })).toMatchObject({ status: 400 });
    backends.close();
  });

  it('H2C: a stream the backend resets with NO_ERROR fails (502): before its response at once, in the middle of its body rather than ending as complete', async () => {
    const backends = new Backends();
    const to = target(portOf(h2c), { protocol: 'H2C' });
    expect(await get(backends, to, '/reset-before-headers')).toEqual({ status: 502, tls: false, error: expect.stringContaining('the backend reset the stream (RST_STREAM 0) before answering') });
    expect(await get(backends, to, '/reset-mid-body')).toEqual({ status: 502, tls: false, error: expect.stringContaining('the backend reset the stream (RST_STREAM 0) before the end of its answer') });
    // The session is still good.
    expect(await get(backends, to)).toMatchObject({ status: 200 });
    backends.close();
  });

  it('H2C: a burst on a new session, before the backend said its limit (2), is answered 200 or 503 (refused, unprocessed), never 502', async () => {
    const burst = async (backends: Backends): Promise<Answer[]> => {
      const answers = await Promise.all(Array.from({ length: 6 }, () => get(backends, target(portOf(h2c), { protocol: 'H2C' }))));
      backends.close();
      return answers;
    };
    // Admitted up to the default before SETTINGS: the backend refuses what passes its limit (REFUSED_STREAM).
    const statuses = (await burst(new Backends())).map((answer) => answer.status);
    expect(statuses.every((status) => status === 200 || status === 503)).toBe(true);
    expect(statuses).toContain(200);
    // Admitted up to the bound before SETTINGS: the rest refused here, without reaching the backend.
    const bounded = await burst(new Backends({ maxStreamsBeforeSettings: 2 }));
    expect(bounded.filter((answer) => answer.status === 200)).toHaveLength(2);
    expect(bounded.filter((answer) => 'error' in answer && answer.status === 503 && answer.error.includes('has not yet said how many concurrent HTTP/2 streams it takes, and 2 are in flight'))).toHaveLength(4);
  });

  it('sessions stay within their bound: an idle one is closed for a new backend', async () => {
    const backends = new Backends({ maxSessions: 1 });
    expect(await get(backends, target(portOf(h2c), { protocol: 'H2C' }))).toMatchObject({ status: 200 });
    await new Promise((resolve) => setTimeout(resolve, 50)); // its stream closes just after its end
    expect(await get(backends, target(portOf(h2tls), { protocol: 'H2', tls: tls() }))).toMatchObject({ status: 200 });
    expect(backends.pooled.sessions).toBe(1);
    backends.close();
  });
});

// The tunnel's connections to backends, by the route's transport (routing/backend-transport.ts): HTTP/1.1
// over kept-alive sockets, cleartext (HTTP) or TLS (HTTPS), and HTTP/2 over ONE pooled session per backend,
// cleartext with prior knowledge (H2C) or TLS with ALPN h2 (H2), its streams multiplexed. A TLS backend is
// dialled with the transport's SNI name, CA and verification; a secure context is made once per CA, an agent
// (HTTP/1.1) or a session (HTTP/2) once per backend and TLS settings, never per request. Every pool is
// bounded: TLS agents and sessions by count (the least recently used idle one goes), the streams of a session
// by what its backend allows (SETTINGS_MAX_CONCURRENT_STREAMS: past it a request is refused, never queued;
// until the backend's SETTINGS arrive, at most maxStreamsBeforeSettings; a burst past its real limit is refused
// by the backend, REFUSED_STREAM, and answered 503). A session that receives GOAWAY, fails or
// closes is dropped (and closed), and the next request opens a new one; a request HTTP/2 cannot carry is
// refused before anything is dialled and never costs a session.
import { X509Certificate } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { connect as http2Connect, constants as h2, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { createSecureContext, type SecureContext } from 'node:tls';
import { SINGLE_VALUE_HEADERS } from '../controlplane/protocol.js';
import { isHttp2, isTls, type BackendTls, type BackendTransport } from '../routing/backend-transport.js';
import type { HeaderMap } from './headers.js';

/** Where one request goes: "host:port" of the backend, and how it is spoken to. */
export interface BackendTarget {
  address: string;
  transport: BackendTransport;
  /** The key of the exposed route that chose this backend, for reports (a TLS failure's Event). */
  routeKey?: string;
}

export interface BackendRequest {
  method: string;
  /** The path with its query, already checked (see routing/request-path.ts). */
  path: string;
  /** The headers to send, hop-by-hop ones already left out (TE: trailers allowed). */
  headers: HeaderMap;
  /** The original Host: the Host header (HTTP/1.1) or :authority (HTTP/2). */
  host: string;
  /** A body follows (written with write() and end()); false ends the request with its headers. */
  hasBody: boolean;
}

export interface BackendResponse {
  status: number;
  /** As the backend sent them (pseudo-header fields left out). */
  headers: Record<string, string | string[] | undefined>;
  /** The answer ended with its header section: no body and no trailers (HTTP/2 HEADERS with END_STREAM, e.g. a gRPC error). */
  headersOnly: boolean;
  /** The response body: pause() and resume() hold the backend (HTTP/2: its stream's flow-control window). */
  body: Readable;
  /** Once the body has ended: the trailer fields the backend sent, if any. */
  trailers(): Record<string, string | string[] | undefined> | undefined;
}

export interface BackendCallHandlers {
  response(response: BackendResponse): void;
  /** The request could not be sent or its answer broke off (before or after the response began). */
  error(err: Error): void;
  /** The backend took what was buffered of the request body. */
  drain(): void;
}

/** One request on its way to a backend. */
export interface BackendCall {
  write(data: Buffer): void;
  end(data?: Buffer): void;
  /** Request-body bytes handed over and not yet written to the backend. */
  readonly writableLength: number;
  /** The answer is complete: an HTTP/2 stream this side still sends on (a request body still coming) is closed. */
  complete(): void;
  /** Cancels the request: HTTP/2 resets its stream (CANCEL), so a gRPC handler sees the call cancelled; HTTP/1.1 closes its connection. */
  abort(reason: string): void;
}

/**
 * The backend ended a stream without a complete answer: it reset it (RST_STREAM) before its response or in the
 * middle of its body, or refused it (REFUSED_STREAM: the request never reached its application, 503).
 */
export class BackendStreamError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** The status a failed backend call is answered with: 503 where the backend refused the stream, else 502. */
export const failureStatus = (err: Error): number => (err instanceof BackendStreamError ? err.status : 502);

export type Dialled = { ok: true; call: BackendCall } | { ok: false; status: number; error: string };

export interface BackendsOptions {
  /** Sockets per HTTP/1.1 agent (the tunnel's concurrent requests). */
  maxSockets: number;
  /** Idle kept-alive sockets per HTTP/1.1 agent. */
  maxFreeSockets: number;
  /** HTTP/1.1 agents for TLS backends, one per TLS settings. */
  maxTlsAgents: number;
  /** HTTP/2 sessions, one per backend and TLS settings. */
  maxSessions: number;
  /** An HTTP/2 session without a stream, or an idle kept-alive TLS socket, is closed after this long. */
  sessionIdleMs: number;
  /** Secure contexts, one per CA bundle. */
  maxSecureContexts: number;
  /** Streams a new HTTP/2 session admits before its backend's SETTINGS say how many it takes. */
  maxStreamsBeforeSettings: number;
  /** Header (and trailer) fields one HTTP/2 header block from a backend may hold; the tunnel's own limits apply below it. */
  maxHeaderListPairs: number;
}

export const DEFAULT_BACKENDS_OPTIONS: BackendsOptions = {
  maxSockets: 256,
  maxFreeSockets: 64,
  maxTlsAgents: 64,
  maxSessions: 256,
  sessionIdleMs: 60_000,
  maxSecureContexts: 64,
  // The smallest SETTINGS_MAX_CONCURRENT_STREAMS RFC 9113 §6.5.2 recommends a server allow.
  maxStreamsBeforeSettings: 100,
  // Above the protocol's 256 header or trailer fields, so that a backend past them is refused with the tunnel's words.
  maxHeaderListPairs: 600,
};

/** TLS options for a WebSocket (HTTP/1.1 upgrade) to a TLS backend. */
export interface WebSocketTlsOptions {
  secureContext: SecureContext;
  servername: string;
  rejectUnauthorized: boolean;
}

interface SessionEntry {
  key: string;
  address: string;
  session: ClientHttp2Session;
  /** Streams open on it now. */
  streams: number;
  /** The backend's SETTINGS arrived: until then its stream limit is not known (Node reads it as unlimited). */
  settled: boolean;
}

/** Request methods the tunnel cannot carry: CONNECT asks for a tunnel of its own (and HTTP/2 forbids :path with it). */
const UNCARRIED_METHODS = new Set(['CONNECT']);

/** Why a request cannot be carried to a backend (of either HTTP version), or undefined. Pure. */
export function unsendableRequest(request: Pick<BackendRequest, 'method' | 'headers'>): string | undefined {
  if (UNCARRIED_METHODS.has(request.method.toUpperCase())) return `the ${request.method} method cannot be carried through the tunnel`;
  for (const [name, value] of Object.entries(request.headers)) {
    if (Array.isArray(value) && value.length > 1 && SINGLE_VALUE_HEADERS.has(name.toLowerCase())) return `the header ${name.toLowerCase()} may have only one value, not ${value.length}`;
  }
  return undefined;
}

/** Errors session.request() throws because the session can take no new stream (every other throw is the request's). */
const SESSION_GONE = new Set(['ERR_HTTP2_GOAWAY_SESSION', 'ERR_HTTP2_INVALID_SESSION']);

interface ContextEntry {
  id: number;
  context: SecureContext;
}

/** OpenSSL's verification errors that say the chain leads to no trusted CA. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_REJECTED',
]);

const trustedBy = (tls: BackendTls): string => (tls.ca !== undefined ? `the CA of ${tls.source}` : `the system roots (${tls.source} names no CA)`);

/**
 * Why a backend could not be reached, in words, and whether it was its TLS (which the tunnel logs): a
 * certificate no trusted CA signed, one that does not carry the name checked, an expired one, a backend that
 * does not speak TLS or does not offer HTTP/2. Pure.
 */
export function explainBackendError(err: Error, target: BackendTarget): { message: string; tls: boolean } {
  // A stream of a session that failed carries the session's error as its cause.
  const cause = (err as Error & { cause?: unknown }).cause;
  const isError = (value: unknown): value is Error => typeof value === 'object' && value !== null && typeof (value as Error).message === 'string';
  const root = (err as NodeJS.ErrnoException).code === 'ERR_HTTP2_STREAM_CANCEL' && isError(cause) ? cause : err;
  const code = (root as NodeJS.ErrnoException).code ?? '';
  const { address, transport } = target;
  const tls = transport.tls;
  const prefix = `backend ${address} (${transport.protocol})`;
  if (err instanceof BackendStreamError) return { tls: false, message: `${prefix}: ${err.message}` };
  if (tls) {
    if (UNTRUSTED.has(code)) return { tls: true, message: `${prefix}: TLS verification failed: the certificate is not trusted by ${trustedBy(tls)} (${code}: ${root.message})` };
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return { tls: true, message: `${prefix}: TLS verification failed: the certificate does not match the name ${tls.servername} (${root.message}); the name is set by ${tls.source}` };
    if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return { tls: true, message: `${prefix}: TLS verification failed: the certificate is not valid now (${code}: ${root.message})` };
    if (/wrong version number|packet length too long|http request/i.test(root.message)) {
      return { tls: true, message: `${prefix}: the backend does not answer TLS (${transport.protocol} per ${tls.source}; does it serve plain HTTP?): ${root.message.trim()}` };
    }
    if (code === 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL') return { tls: true, message: `${prefix}: the backend does not offer HTTP/2 (ALPN h2) over TLS` };
    if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || /SSL routines/.test(root.message)) return { tls: true, message: `${prefix}: the TLS handshake failed: ${root.message.trim()}` };
  }
  return { tls: false, message: `backend ${address} unreachable: ${root.message}` };
}

const splitAddress = (address: string): [string, number] => {
  const colon = address.lastIndexOf(':');
  return [address.slice(0, colon).replace(/^\[|\]$/g, ''), Number(address.slice(colon + 1))];
};

export class Backends {
  /** Kept-alive connections to cleartext HTTP/1.1 backends: a request no longer pays a TCP handshake. */
  private readonly plain: HttpAgent;
  /** One agent per TLS settings (its secure context, SNI name and verification), least recently used first. */
  private readonly tlsAgents = new Map<string, HttpsAgent>();
  /** One HTTP/2 session per backend and TLS settings, least recently used first. */
  private readonly sessions = new Map<string, SessionEntry>();
  /** One secure context per CA bundle ('' for the default roots), least recently used first. */
  private readonly contexts = new Map<string, ContextEntry>();
  private contextIds = 0;
  private readonly options: BackendsOptions;

  constructor(options: Partial<BackendsOptions> = {}) {
    this.options = { ...DEFAULT_BACKENDS_OPTIONS, ...options };
    this.plain = new HttpAgent({ keepAlive: true, maxSockets: this.options.maxSockets, maxFreeSockets: this.options.maxFreeSockets, scheduling: 'lifo' });
  }

  /** What the pools hold now: agents for TLS settings, HTTP/2 sessions, secure contexts (tests check they stay bounded). */
  get pooled(): { tlsAgents: number; sessions: number; secureContexts: number } {
    return { tlsAgents: this.tlsAgents.size, sessions: this.sessions.size, secureContexts: this.contexts.size };
  }

  /** Sends a request to `target`; the answer comes to `handlers`. Refused (no connection made) when a pool is full. */
  dial(target: BackendTarget, request: BackendRequest, handlers: BackendCallHandlers): Dialled {
    const { protocol, tls } = target.transport;
    // Never cleartext where TLS was asked for.
    if (isTls(protocol) && !tls) return { ok: false, status: 502, error: `backend ${target.address} (${protocol}): no TLS settings were given for it` };
    const unsendable = unsendableRequest(request);
    if (unsendable) return { ok: false, status: 400, error: `refused: ${unsendable}` };
    return isHttp2(target.transport.protocol) ? this.dialHttp2(target, request, handlers) : this.dialHttp1(target, request, handlers);
  }

  /** TLS options for a WebSocket to a backend of this transport; undefined for a cleartext one (ws://). */
  websocketTls(transport: BackendTransport): WebSocketTlsOptions | { error: string } | undefined {
    if (!isTls(transport.protocol) || !transport.tls) return undefined;
    const context = this.context(transport.tls);
    if ('error' in context) return context;
    return { secureContext: context.context, servername: transport.tls.servername, rejectUnauthorized: transport.tls.verify };
  }

  /** Closes every connection (the socket to the control plane is gone, or the operator stops); the pools stay usable. */
  close(): void {
    this.plain.destroy();
    for (const agent of this.tlsAgents.values()) agent.destroy();
    this.tlsAgents.clear();
    for (const entry of this.sessions.values()) entry.session.destroy();
    this.sessions.clear();
  }

  /** The secure context for a CA bundle, made once; a bundle that cannot be read is an error, not a throw. */
  private context(tls: BackendTls): ContextEntry | { error: string } {
    const key = tls.ca ?? '';
    let entry = this.contexts.get(key);
    if (entry) {
      this.contexts.delete(key); // most recently used last
      this.contexts.set(key, entry);
      return entry;
    }
    try {
      if (tls.ca !== undefined) checkCaBundle(tls.ca);
      entry = { id: ++this.contextIds, context: createSecureContext(tls.ca !== undefined ? { ca: tls.ca } : {}) };
    } catch (err) {
      return { error: `the CA bundle of ${tls.source} cannot be used: ${(err as Error).message}` };
    }
    if (this.contexts.size >= this.options.maxSecureContexts) this.contexts.delete(this.contexts.keys().next().value as string);
    this.contexts.set(key, entry);
    return entry;
  }

  /** What identifies TLS settings: the CA (by its context), the name and whether it is verified. */
  private tlsKey(tls: BackendTls, context: ContextEntry): string {
    return `${context.id}|${tls.verify ? 'verify' : 'skip'}|${tls.servername}`;
  }

  private dialHttp1(target: BackendTarget, request: BackendRequest, handlers: BackendCallHandlers): Dialled {
    const [hostname, port] = splitAddress(target.address);
    let agent: HttpAgent = this.plain;
    const tls = isTls(target.transport.protocol) ? target.transport.tls : undefined;
    if (tls) {
      const found = this.tlsAgent(tls);
      if ('error' in found) return { ok: false, status: 502, error: found.error };
      agent = found.agent;
    }
    const headers: HeaderMap = { ...request.headers, host: request.host };
    delete headers.te; // TE is hop-by-hop in HTTP/1.1; it goes only to HTTP/2 backends
    // Built from parts: the path was checked and is never joined to the address.
    const upstream: ClientRequest = (tls ? httpsRequest : httpRequest)({ hostname, port, method: request.method, path: request.path, headers, agent });
    upstream.on('error', (err) => handlers.error(err));
    upstream.on('drain', () => handlers.drain());
    upstream.on('response', (res: IncomingMessage) => {
      handlers.response({
        status: res.statusCode ?? 502,
        headers: res.headers,
        headersOnly: false,
        body: res,
        trailers: () => (Object.keys(res.trailers).length ? res.trailers : undefined),
      });
    });
    return {
      ok: true,
      call: {
        write: (data) => void upstream.write(data),
        end: (data) => void (data ? upstream.end(data) : upstream.end()),
        get writableLength() {
          return upstream.writableLength;
        },
        complete: () => undefined,
        abort: (reason) => void upstream.destroy(new Error(reason)),
      },
    };
  }

  /** The agent for TLS settings, made once (with its secure context); past the bound the least recently used one retires. */
  private tlsAgent(tls: BackendTls): { agent: HttpsAgent } | { error: string } {
    const context = this.context(tls);
    if ('error' in context) return context;
    const key = this.tlsKey(tls, context);
    let agent = this.tlsAgents.get(key);
    if (agent) {
      this.tlsAgents.delete(key);
      this.tlsAgents.set(key, agent);
      return { agent };
    }
    if (this.tlsAgents.size >= this.options.maxTlsAgents) {
      const [oldest, retired] = this.tlsAgents.entries().next().value as [string, HttpsAgent];
      this.tlsAgents.delete(oldest);
      retire(retired);
    }
    agent = new HttpsAgent({
      keepAlive: true,
      maxSockets: this.options.maxSockets,
      // As many idle sockets as the plain agent keeps: fewer made clients past that number pay a TLS handshake
      // per request (16 under 32 clients cost 2,368 handshakes per 10,000 requests in the bench). Idle ones
      // close after sessionIdleMs, and the agents themselves are bounded (maxTlsAgents).
      maxFreeSockets: this.options.maxFreeSockets,
      timeout: this.options.sessionIdleMs,
      scheduling: 'lifo',
      secureContext: context.context,
      servername: tls.servername,
      rejectUnauthorized: tls.verify,
    });
    this.tlsAgents.set(key, agent);
    return { agent };
  }

  private dialHttp2(target: BackendTarget, request: BackendRequest, handlers: BackendCallHandlers): Dialled {
    const found = this.session(target);
    if ('error' in found) return { ok: false, status: found.status, error: found.error };
    const entry = found.entry;
    const limit = entry.settled ? (entry.session.remoteSettings?.maxConcurrentStreams ?? Number.POSITIVE_INFINITY) : this.options.maxStreamsBeforeSettings;
    if (entry.streams >= limit) {
      const error = entry.settled
        ? `backend ${target.address} takes ${limit} concurrent HTTP/2 streams on its connection, and all are in use`
        : `backend ${target.address} has not yet said how many concurrent HTTP/2 streams it takes, and ${limit} are in flight on its new connection`;
      return { ok: false, status: 503, error };
    }
    const headers: OutgoingHttpHeaders = { ...request.headers };
    delete headers.host;
    delete headers['http2-settings'];
    if (headers.te !== undefined && headers.te !== 'trailers') delete headers.te; // the one TE HTTP/2 allows
    headers[h2.HTTP2_HEADER_METHOD] = request.method;
    headers[h2.HTTP2_HEADER_PATH] = request.path;
    headers[h2.HTTP2_HEADER_AUTHORITY] = request.host;
    headers[h2.HTTP2_HEADER_SCHEME] = target.transport.protocol === 'H2' ? 'https' : 'http';
    let stream: ClientHttp2Stream;
    try {
      stream = entry.session.request(headers, { endStream: !request.hasBody });
    } catch (err) {
      // Nothing was sent. Only a session that can take no new stream is dropped: a request HTTP/2 refuses
      // (a header it does not allow) leaves a healthy session in place, so such requests open no connections.
      const code = (err as NodeJS.ErrnoException).code ?? '';
      const gone = entry.session.closed || entry.session.destroyed || SESSION_GONE.has(code);
      if (gone) this.drop(entry);
      return { ok: false, status: gone ? 502 : 400, error: `backend ${target.address} (${target.transport.protocol}): the request could not be sent: ${(err as Error).message}` };
    }
    entry.streams++;
    let trailers: IncomingHttpHeaders | undefined;
    let responded = false;
    let failed = false;
    const fail = (err: Error): void => {
      if (failed) return;
      failed = true;
      handlers.error(err);
    };
    const reset = (): BackendStreamError =>
      new BackendStreamError(`the backend reset the stream (RST_STREAM ${stream.rstCode ?? 'none'}) ${responded ? 'before the end of its answer' : 'before answering'}`, 502);
    failOnReset(stream, reset);
    stream.once('close', () => {
      entry.streams--;
      // Closed before any response and without an error (a reset whose code is NO_ERROR): the request fails now, not at its timeout.
      if (!responded) fail(reset());
    });
    stream.on('error', (err) => {
      // REFUSED_STREAM: the backend did not process the request (RFC 9113 §8.7), e.g. a burst past its limit.
      if (!responded && stream.rstCode === h2.NGHTTP2_REFUSED_STREAM) fail(new BackendStreamError('the backend refused the stream (REFUSED_STREAM): the request did not reach it', 503));
      else fail(err);
    });
    stream.on('drain', () => handlers.drain());
    stream.on('trailers', (fields) => (trailers = fields));
    stream.on('response', (fields, flags) => {
      responded = true;
      const { [h2.HTTP2_HEADER_STATUS]: status, ...rest } = fields;
      for (const name of Object.keys(rest)) if (name.startsWith(':')) delete rest[name];
      handlers.response({
        status: Number(status) || 502,
        headers: rest,
        headersOnly: (flags & h2.NGHTTP2_FLAG_END_STREAM) !== 0,
        body: stream,
        trailers: () => (trailers && Object.keys(trailers).length ? (trailers as Record<string, string | string[] | undefined>) : undefined),
      });
    });
    return {
      ok: true,
      call: {
        write: (data) => void stream.write(data),
        end: (data) => {
          if (!request.hasBody) return; // ended with its headers
          if (data) stream.end(data);
          else stream.end();
        },
        get writableLength() {
          return stream.writableLength;
        },
        complete: () => {
          // The backend answered in full while this side still sends (it ended a call before its client did).
          if (!stream.closed && !stream.destroyed && !stream.writableFinished) stream.close(h2.NGHTTP2_NO_ERROR);
        },
        abort: () => {
          if (!stream.closed && !stream.destroyed) stream.close(h2.NGHTTP2_CANCEL);
        },
      },
    };
  }

  /** The backend's session, opened on first use; refused past the bound when every session has streams. */
  private session(target: BackendTarget): { entry: SessionEntry } | { status: number; error: string } {
    const tls = target.transport.protocol === 'H2' ? target.transport.tls : undefined;
    let context: ContextEntry | undefined;
    if (tls) {
      const found = this.context(tls);
      if ('error' in found) return { status: 502, error: found.error };
      context = found;
    }
    const key = tls && context ? `${target.address}|${this.tlsKey(tls, context)}` : target.address;
    const existing = this.sessions.get(key);
    if (existing && !existing.session.closed && !existing.session.destroyed) {
      this.sessions.delete(key);
      this.sessions.set(key, existing);
      return { entry: existing };
    }
    if (existing) this.drop(existing);
    if (this.sessions.size >= this.options.maxSessions) {
      const idle = [...this.sessions.values()].find((entry) => entry.streams === 0);
      if (!idle) return { status: 503, error: `${this.options.maxSessions} HTTP/2 backend connections are open, each with streams in flight` };
      this.drop(idle);
    }
    const [host, port] = splitAddress(target.address);
    const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    const common = { settings: { enablePush: false }, maxHeaderListPairs: this.options.maxHeaderListPairs, maxSessionMemory: 64 };
    const session = tls && context
      ? http2Connect(`https://${authority}`, { ...common, secureContext: context.context, servername: tls.servername, rejectUnauthorized: tls.verify, ALPNProtocols: ['h2'] })
      : http2Connect(`http://${authority}`, common);
    const entry: SessionEntry = { key, address: target.address, session, streams: 0, settled: false };
    session.once('remoteSettings', () => (entry.settled = true));
    // Its streams fail with the session's error as their cause: the request is answered from there.
    session.on('error', () => this.drop(entry));
    // GOAWAY: the streams in flight finish on it, new requests open a new session.
    session.on('goaway', () => this.drop(entry));
    session.on('close', () => this.drop(entry));
    // Idle (no frame for a while) and without streams: closed, so an unused backend holds no connection.
    session.setTimeout(this.options.sessionIdleMs);
    session.on('timeout', () => {
      if (entry.streams === 0) this.drop(entry);
    });
    this.sessions.set(key, entry);
    return { entry };
  }

  /** Out of the pool, and closed: its streams in flight finish, no new one opens on it. */
  private drop(entry: SessionEntry): void {
    if (this.sessions.get(entry.key) === entry) this.sessions.delete(entry.key);
    entry.session.close();
  }
}

/**
 * Makes a stream the backend reset (RST_STREAM NO_ERROR) before its END_STREAM fail with `reset()` rather than
 * end: Node ends such a stream's readable side as if the body were complete, and a body without a length would
 * pass on cut. END_STREAM (on DATA, HEADERS or trailers) ends the readable side while the stream is still
 * open; a reset closes the stream first, then ends it (node:http2's onStreamClose).
 */
function failOnReset(stream: ClientHttp2Stream, reset: () => Error): void {
  const push = stream.push.bind(stream);
  let ended = false;
  stream.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    if (chunk === null && !ended) {
      if (stream.closed) {
        // Not ended: failed, once node:http2 is done closing it.
        process.nextTick(() => stream.destroy(reset()));
        return false;
      }
      ended = true;
    }
    return push(chunk, encoding);
  };
}

/**
 * Throws unless `pem` holds at least one certificate and every certificate in it parses: OpenSSL would take
 * text without any as an empty trust store, and every backend would then fail as "not trusted".
 */
function checkCaBundle(pem: string): void {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error('it holds no PEM certificate');
  for (const block of blocks) new X509Certificate(block);
}

/** An agent pushed out of the pool: its idle sockets close now, those in use when their request ends. */
function retire(agent: HttpsAgent): void {
  (agent as HttpsAgent & { keepAlive: boolean }).keepAlive = false;
  for (const sockets of Object.values(agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
}

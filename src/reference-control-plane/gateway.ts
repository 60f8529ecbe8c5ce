// The gateway side of the reference control plane: takes an HTTP request, finds the cluster that serves
// its Host, sends proxy_request through one of that cluster's connections (the least busy: connections.ts;
// the agent matches the path itself), streams the request body after it as proxy_request_chunk …
// proxy_request_end, and streams the answer back, its trailers included (HTTP/2: gRPC's status). The request
// and response bodies flow at the same time: a bidirectional gRPC call is answered while its client still
// sends. An exchange belongs to one connection at a time: only answers on it count. When that connection
// fails before any answer, a request that is safe to send again goes once more on another connection
// (connections.ts, retryDecision); otherwise 502 with the reason.
// Clients speak HTTP/1.1 or HTTP/2: on the plain port HTTP/2 with prior knowledge (h2c; the connection
// preface tells it from HTTP/1.1 on the same port), and on an optional TLS listener either, by ALPN (h2,
// http/1.1). Every HTTP/2 stream is a request like any other, held to the same limits.
// A connected cluster is always preferred (host-owner.ts). 404 for a host no cluster serves, 503 when only a
// disconnected cluster does, 502 when the cluster's answer is malformed or out of order (or its socket closes
// as the request goes out), 504 when the answer does not begin in time, 429 past the per-address limit. Nothing a client or
// an agent sends may end the process: it serves every cluster. WebSocket upgrades go through as streams
// (gateway-websocket.ts).
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  createSecureServer,
  createServer as createHttp2Server,
  constants as http2Constants,
  Http2ServerRequest,
  Http2ServerResponse,
  type Http2SecureServer,
  type Http2Server,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import {
  answerStep,
  bytesOf,
  type AnswerState,
  type InboundPayloads,
  type InboundType,
  type OutboundMessage,
  type OutboundType,
  type ProxyRequestPayload,
} from '../controlplane/protocol.js';
import type { Logger } from '../log.js';
import { checkRequestTarget } from '../routing/request-path.js';
import { acceptsTrailers, forwardableTrailers, stripHopByHop, type HeaderMap } from '../tunnel/headers.js';
import { retryDecision } from './connections.js';
import { GatewayWebSockets } from './gateway-websocket.js';
import { hostTarget, type HostTarget } from './host-owner.js';
import { failRequest, type AgentConnection, type ClientResponse, type ReferenceControlPlane } from './server.js';
import { clientOf, SourceLimiter } from './source-limiter.js';
import type { ClusterRecord } from './store.js';

/** A client's request, over HTTP/1.1 or HTTP/2. */
type ClientRequest = IncomingMessage | Http2ServerRequest;

const MAX_BODY = 100 * 1024 * 1024;
/** Past this many bytes buffered towards the agent (or a client), the sender is held. */
const HIGH_WATER_MARK = 1024 * 1024;
/** Past this many bytes held for a slow client, the agent ignored proxy_flow: its answer is cut. */
export const MAX_CLIENT_BACKLOG = 16 * HIGH_WATER_MARK;
const REPLY_TYPES: OutboundType[] = ['proxy_response', 'proxy_error', 'proxy_response_header', 'proxy_response_chunk', 'proxy_response_end', 'proxy_flow'];

/** How long, by default, the answer to a request may take to begin (a little longer than the agent's own 120 s). */
export const DEFAULT_BEGIN_TIMEOUT_MS = 130_000;

export interface GatewayOptions {
  /** How long the answer may take to begin (proxy_response or proxy_response_header); a begun one is not cut. */
  timeoutMs?: number;
  /** Concurrent exchanges (HTTP requests and WebSocket streams) per client address; past it: 429. Default 128. */
  maxExchangesPerSource?: number;
  /** How long the agent may take to open a WebSocket stream (ws_opened). */
  wsOpenTimeoutMs?: number;
  /** A TLS listener besides the plain one, offering ALPN h2 and http/1.1 with this certificate and key (PEM); `port` 0 or absent: any free port. */
  tls?: { cert: string | Buffer; key: string | Buffer; port?: number };
  /** Streams one HTTP/2 client connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). Default 256. */
  maxConcurrentStreams?: number;
  /** How long a new connection has, in all, to say which protocol it speaks (the HTTP/2 preface or not; TLS: its handshake). Default 5 s. */
  prefaceTimeoutMs?: number;
  /** How long an HTTP/2 connection may stay open with no stream before it is sent GOAWAY and closed. Default: HTTP/1.1's keep-alive timeout (5 s). */
  http2IdleTimeoutMs?: number;
  /** Connections one client address may hold open at once, on each listener; past it a new one is closed at once. Default 256. */
  maxConnectionsPerSource?: number;
  /** Defaults to the control plane's logger. */
  logger?: Logger;
}

interface Exchange {
  id: string;
  uuid: string;
  /** The connection the request went out on (its last one, after a retry): when it closes, no answer will come. */
  connection?: AgentConnection;
  /** The proxy_request as sent: a retry sends it again, unchanged, on another connection. */
  request: ProxyRequestPayload;
  /** The request body goes out in chunks: it cannot be sent again. */
  bodyStreamed: boolean;
  /** Sent again once already (a retry is only ever one). */
  retried: boolean;
  res: ClientResponse;
  timer?: NodeJS.Timeout;
  /** How far the agent's answer is (the protocol's answerStep). */
  state: AnswerState;
  /** The agent asked to hold the request body (its backend reads slower). */
  paused: boolean;
  resume?: () => void;
  /** The agent was asked to hold the response body (the client reads slower). */
  pausedAgent: boolean;
}

/** The first bytes of every HTTP/2 connection (RFC 9113 §3.4): a client that sends them on the plain port speaks h2c. */
const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
export const DEFAULT_MAX_CONCURRENT_STREAMS = 256;
export const DEFAULT_PREFACE_TIMEOUT_MS = 5_000;
export const DEFAULT_MAX_CONNECTIONS_PER_SOURCE = 256;

/**
 * Reads the first bytes of a connection until they are, or cannot be, the HTTP/2 preface, puts them back and
 * hands the connection on: to HTTP/2 (`http2` true) or HTTP/1.1.
 */
function sniffPreface(socket: Socket, timeoutMs: number, then: (http2: boolean) => void): void {
  let seen: Buffer = Buffer.alloc(0);
  const ignore = (): void => undefined;
  // Too slow (a deadline, not an idle time: a byte now and then does not hold it), or gone before it said
  // which protocol (the server allows half-open sockets): closed.
  const silent = (): void => void socket.destroy();
  const deadline = setTimeout(silent, timeoutMs);
  const decide = (http2: boolean): void => {
    clearTimeout(deadline);
    socket.removeListener('data', onData);
    socket.removeListener('error', ignore);
    socket.removeListener('end', silent);
    socket.removeListener('close', stop);
    socket.pause();
    socket.unshift(seen);
    then(http2);
    // HTTP/2 reads what was put back itself; HTTP/1.1's parser takes it as the socket flows again.
    if (!http2) socket.resume();
  };
  const onData = (chunk: Buffer): void => {
    seen = seen.length ? Buffer.concat([seen, chunk]) : chunk;
    const n = Math.min(seen.length, HTTP2_PREFACE.length);
    if (!seen.subarray(0, n).equals(HTTP2_PREFACE.subarray(0, n))) decide(false);
    else if (seen.length >= HTTP2_PREFACE.length) decide(true);
  };
  const stop = (): void => clearTimeout(deadline);
  socket.on('error', ignore); // a client gone before it said anything; the socket closes
  socket.on('close', stop);
  socket.on('end', silent);
  socket.on('data', onData);
}

export class Gateway {
  /** The plain port: HTTP/1.1 (its own server, whose connections this one sniffs first) and h2c. */
  private readonly server: Server;
  private readonly h2c: Http2Server;
  private readonly secure?: Http2SecureServer;
  /** HTTP/2 sessions and TLS connections open now: close() ends them. */
  private readonly sessions = new Set<ServerHttp2Session>();
  private readonly tlsSockets = new Set<Socket>();
  private readonly exchanges = new Map<string, Exchange>();
  private readonly limiter: SourceLimiter;
  private readonly logger: Logger;
  private readonly timeoutMs: number;
  private readonly http2IdleTimeoutMs: number;
  /** Connections open now per client address, both listeners together (maxConnectionsPerSource). */
  private readonly connectionsFrom = new Map<string, number>();
  /** WebSocket streams passed through to clusters. */
  readonly websockets: GatewayWebSockets;
  /** Counts proxy_request_chunk frames sent (tests check that bodies are streamed, not buffered). */
  requestChunksSent = 0;
  /** The most body bytes held here at once, towards a client or the agent (tests check it stays bounded). */
  peakBacklogBytes = 0;

  constructor(private readonly cp: ReferenceControlPlane, private readonly options: GatewayOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_BEGIN_TIMEOUT_MS;
    this.logger = options.logger ?? cp.logger;
    this.limiter = new SourceLimiter(options.maxExchangesPerSource);
    const onRequest = (req: ClientRequest, res: ClientResponse): void => this.onRequest(req, res);
    this.server = createServer(onRequest);
    this.http2IdleTimeoutMs = options.http2IdleTimeoutMs ?? this.server.keepAliveTimeout;
    const prefaceTimeoutMs = options.prefaceTimeoutMs ?? DEFAULT_PREFACE_TIMEOUT_MS;
    const settings = { maxConcurrentStreams: options.maxConcurrentStreams ?? DEFAULT_MAX_CONCURRENT_STREAMS };
    this.h2c = createHttp2Server({ settings }, onRequest);
    this.trackSessions(this.h2c);
    // The plain port speaks both: the HTTP/1.1 server's own connection handling runs only for connections
    // that do not open with the HTTP/2 preface; those go to the HTTP/2 server.
    const http1Connection = this.server.listeners('connection')[0] as (socket: Socket) => void;
    this.server.removeListener('connection', http1Connection);
    this.server.on('connection', (socket: Socket) => {
      if (this.admit(socket)) sniffPreface(socket, prefaceTimeoutMs, (http2) => (http2 ? this.h2c.emit('connection', socket) : http1Connection.call(this.server, socket)));
    });
    if (options.tls) {
      // ALPN h2 and http/1.1 (allowHTTP1): HTTP/1.1 clients, WebSocket upgrades included, are served as on the plain port.
      // The handshake has the same deadline as the plain port's preface.
      const tls = { cert: options.tls.cert, key: options.tls.key, handshakeTimeout: prefaceTimeoutMs };
      this.secure = createSecureServer({ ...tls, allowHTTP1: true, settings }, onRequest);
      this.trackSessions(this.secure);
      this.secure.on('connection', (socket: Socket) => {
        if (!this.admit(socket)) return;
        this.tlsSockets.add(socket);
        socket.once('close', () => this.tlsSockets.delete(socket));
      });
      this.secure.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => this.websockets.upgrade(req, socket, head));
    }
    for (const type of REPLY_TYPES) cp.agentMessageHandlers.set(type, (cluster, message, from) => this.onReply(cluster, message, from));
    cp.refusedReplyListeners.add((cluster, refused, from) => {
      const exchange = this.exchangeOf(cluster, refused.requestId, from);
      if (exchange) this.refuseAnswer(exchange, `${refused.type}: ${refused.problem}`);
    });
    this.websockets = new GatewayWebSockets(cp, { target: (host) => this.target(host), limiter: this.limiter, logger: this.logger, openTimeoutMs: options.wsOpenTimeoutMs });
    cp.socketClosedListeners.add((socket) => {
      for (const exchange of [...this.exchanges.values()]) {
        if (exchange.connection?.socket === socket) this.connectionFailed(exchange);
      }
      this.websockets.agentSocketClosed(socket);
    });
    this.server.on('upgrade', (req, socket, head) => this.websockets.upgrade(req, socket, head));
  }

  /** Listens on `port` (plain: HTTP/1.1 and h2c) and, with `tls` in the options, on the TLS port too; returns the plain port. */
  async listen(port = 0, host = '127.0.0.1'): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(port, host, resolve));
    const secure = this.secure;
    if (secure) await new Promise<void>((resolve) => secure.listen(this.options.tls?.port ?? 0, host, resolve));
    return (this.server.address() as AddressInfo).port;
  }

  /** The TLS listener's port (ALPN h2 and http/1.1), once listening; undefined without `tls` in the options. */
  get tlsPort(): number | undefined {
    return (this.secure?.address() as AddressInfo | null)?.port;
  }

  async close(): Promise<void> {
    this.websockets.closeAll();
    this.server.closeAllConnections();
    for (const session of this.sessions) session.destroy();
    for (const socket of this.tlsSockets) socket.destroy();
    const closing = [this.server, this.secure].filter((server): server is Server | Http2SecureServer => server !== undefined);
    await Promise.all(closing.map((server) => new Promise<void>((resolve) => (server as NetServer).close(() => resolve()))));
  }

  /**
   * Counts a new connection against its client address; past maxConnectionsPerSource it is closed at once
   * (false). The count is given back when the connection closes.
   */
  private admit(socket: Socket): boolean {
    const address = socket.remoteAddress ?? '';
    const open = this.connectionsFrom.get(address) ?? 0;
    if (open >= (this.options.maxConnectionsPerSource ?? DEFAULT_MAX_CONNECTIONS_PER_SOURCE)) {
      socket.destroy();
      return false;
    }
    this.connectionsFrom.set(address, open + 1);
    socket.once('close', () => {
      const left = (this.connectionsFrom.get(address) ?? 1) - 1;
      if (left > 0) this.connectionsFrom.set(address, left);
      else this.connectionsFrom.delete(address);
    });
    return true;
  }

  /**
   * Keeps the HTTP/2 sessions of `server`, so close() can end them; a session's or a stream's errors end it,
   * never the process. A session with no open stream for http2IdleTimeoutMs is sent GOAWAY and closed, as
   * HTTP/1.1 closes an idle keep-alive connection.
   */
  private trackSessions(server: Http2Server | Http2SecureServer): void {
    server.on('session', (session: ServerHttp2Session) => {
      this.sessions.add(session);
      let streams = 0;
      let idle: NodeJS.Timeout | undefined;
      const waitIdle = (): void => void (idle = setTimeout(() => session.close(), this.http2IdleTimeoutMs));
      waitIdle();
      session.on('stream', (stream: ServerHttp2Stream) => {
        streams++;
        clearTimeout(idle);
        stream.on('error', (err: Error) => this.logger.debug('an HTTP/2 client stream failed', { controller: 'gateway', err }));
        stream.once('close', () => {
          if (--streams === 0 && !session.closed && !session.destroyed) waitIdle();
        });
      });
      session.once('close', () => {
        clearTimeout(idle);
        this.sessions.delete(session);
      });
    });
    server.on('sessionError', () => undefined);
  }

  /** Exchanges (HTTP requests and WebSocket streams) open from one client address now. */
  openFrom(address: string): number {
    return this.limiter.held(address);
  }

  /** The connected cluster serving `host`, or the answer when there is none. */
  private target(host: string): HostTarget {
    return hostTarget(this.cp.store.clusters(), host, new Date());
  }

  /**
   * The exchange's connection closed before its answer was complete: sent again on another connection when
   * that is safe (connections.ts, retryDecision), else 502 naming why not.
   */
  private connectionFailed(exchange: Exchange): void {
    const next = this.cp.pickConnection(exchange.uuid, { draining: false });
    const decision = retryDecision({
      method: exchange.request.method,
      answerBegun: exchange.state !== 'awaiting',
      bodyStreamed: exchange.bodyStreamed,
      retried: exchange.retried,
      otherConnection: next !== undefined,
    });
    if (!decision.retry || !next) {
      const reason = decision.retry ? 'no other connection of the cluster can take it' : decision.reason;
      return this.fail(exchange, 502, `the cluster's connection closed before it answered; not retried: ${reason}`);
    }
    this.logger.info('retrying a request on another connection of its cluster', { controller: 'gateway', cluster: exchange.uuid, request_id: exchange.id, agent_id: next.agentId });
    exchange.retried = true;
    this.assign(exchange, next);
    if (!this.send(exchange, 'proxy_request', exchange.request)) this.fail(exchange, 502, "the cluster's connection closed before it answered; its retry could not be sent");
  }

  /** Puts an exchange on a connection, moving its count from the connection it was on. */
  private assign(exchange: Exchange, connection: AgentConnection): void {
    if (exchange.connection) exchange.connection.inFlight--;
    exchange.connection = connection;
    connection.inFlight++;
  }

  private onRequest(req: ClientRequest, res: ClientResponse): void {
    const release = this.limiter.acquire(req.socket.remoteAddress ?? '');
    if (!release) return failRequest(res, 429, `more than ${this.limiter.maxPerSource} requests at once from this address`);
    res.once('close', release);
    this.serve(req, res).catch((err: unknown) => {
      this.logger.error('proxying a request failed', { controller: 'gateway', err, host: req.headers.host });
      failRequest(res, 502, 'the gateway failed on this request');
    });
  }

  private async serve(req: ClientRequest, res: ClientResponse): Promise<void> {
    const http2 = req instanceof Http2ServerRequest;
    // HTTP/2 names the host in :authority (a Host header is allowed in its place).
    const host = String((http2 ? req.headers[':authority'] : undefined) ?? req.headers.host ?? '');
    const target = this.target(host);
    if (!target.ok) return failRequest(res, target.status, target.error, target.details);
    const { cluster } = target;
    const url = new URL(req.url ?? '/', 'http://gateway');
    // The rule the agent applies too: refused here already, so a client learns it at the edge.
    const checked = checkRequestTarget(url.pathname, url.search.slice(1));
    if (!checked.ok) return failRequest(res, 400, `refused: ${checked.error}`);
    const chunked = /chunked/i.test(String(req.headers['transfer-encoding'] ?? ''));
    const declared = req.headers['content-length'];
    // An HTTP/2 request has a body unless its headers ended the stream; without a length it streams as chunked does.
    const hasBody = http2 ? !req.stream.endAfterHeaders && (declared === undefined || Number(declared) > 0) : chunked || Number(declared ?? 0) > 0;
    const headers = stripHopByHop(req.headers);
    // Hop-by-hop, but it tells the agent that a body of no announced length follows this frame.
    if (chunked || (http2 && hasBody && declared === undefined)) headers['transfer-encoding'] = 'chunked';
    const connection = this.cp.pickConnection(cluster.cluster_uuid);
    // TE is hop-by-hop too; an agent that passes trailers on is told the client takes them.
    if (connection?.trailers && acceptsTrailers(req.headers)) headers.te = 'trailers';
    const request: ProxyRequestPayload = { method: req.method ?? 'GET', path: url.pathname, query: url.search.slice(1), headers, host, client: clientOf(req) };
    const exchange: Exchange = { id: randomUUID(), uuid: cluster.cluster_uuid, request, bodyStreamed: hasBody, retried: false, res, state: 'awaiting', paused: false, pausedAgent: false };
    exchange.timer = setTimeout(() => this.fail(exchange, 504, 'the cluster did not answer in time'), this.timeoutMs);
    this.exchanges.set(exchange.id, exchange);
    res.on('close', () => {
      if (this.forget(exchange)) this.send(exchange, 'proxy_cancel', {}); // the client went away (or reset its stream)
    });
    if (connection) this.assign(exchange, connection);
    if (!this.send(exchange, 'proxy_request', request)) {
      return this.fail(exchange, 502, `cluster ${cluster.name} is not connected`);
    }
    if (hasBody) await this.forwardBody(exchange, req);
  }

  /** The request body, as it arrives (never buffered whole), held while the agent or its socket is behind. */
  private async forwardBody(exchange: Exchange, req: ClientRequest): Promise<void> {
    let size = 0;
    try {
      for await (const chunk of req as AsyncIterable<Buffer>) {
        while (exchange.paused && this.isOpen(exchange)) await new Promise<void>((resolve) => (exchange.resume = resolve));
        while ((exchange.connection?.socket.bufferedAmount ?? 0) > HIGH_WATER_MARK && this.isOpen(exchange)) await new Promise((r) => setTimeout(r, 2));
        if (!this.isOpen(exchange) || !exchange.connection) return; // answered or cancelled meanwhile
        size += chunk.length;
        if (size > MAX_BODY) return this.fail(exchange, 413, `request body over ${MAX_BODY} bytes`);
        this.cp.sendBodyOn(exchange.connection, 'proxy_request_chunk', exchange.id, chunk);
        this.requestChunksSent++;
        this.peakBacklogBytes = Math.max(this.peakBacklogBytes, exchange.connection.socket.bufferedAmount);
      }
    } catch (err) {
      // The client aborted its upload (or sent a body the parser refused): the agent stops too.
      return this.fail(exchange, 400, `the request body could not be read: ${(err as Error).message}`);
    }
    if (this.isOpen(exchange)) this.send(exchange, 'proxy_request_end', {});
  }

  private onReply(cluster: ClusterRecord, message: OutboundMessage, from: AgentConnection): void {
    const exchange = this.exchangeOf(cluster, message.request_id ?? '', from);
    if (!exchange) return;
    if (message.type === 'proxy_flow') {
      exchange.paused = message.payload.paused === true;
      if (!exchange.paused) exchange.resume?.();
      return;
    }
    const step = answerStep(exchange.state, message.type);
    if (!step.ok) return this.refuseAnswer(exchange, step.problem);
    if (message.type === 'proxy_response_end' && message.payload.trailers !== undefined && !from.trailers) {
      return this.refuseAnswer(exchange, 'proxy_response_end carries trailers, which this connection did not agree to');
    }
    try {
      this.passOn(exchange, message);
    } catch (err) {
      // Validated at parse time, so not expected; still, one exchange fails, never the process.
      return this.refuseAnswer(exchange, `it could not be passed on: ${(err as Error).message}`);
    }
    if (step.next === 'done') this.forget(exchange);
    else exchange.state = step.next;
  }

  /** Writes one frame of the agent's answer (schema and order already checked) to the client. */
  private passOn(exchange: Exchange, message: OutboundMessage): void {
    const res = exchange.res as ServerResponse; // the calls below are the same on Http2ServerResponse
    switch (message.type) {
      case 'proxy_response':
        return respondWhole(res, message.payload.status, message.payload.headers, bytesOf(message.payload.body));
      case 'proxy_error':
        return failRequest(res, message.payload.status, message.payload.error);
      case 'proxy_response_header':
        // The timeout is for the answer to begin: a begun response (a download, server-sent events) may last.
        clearTimeout(exchange.timer);
        res.writeHead(message.payload.status, message.payload.headers);
        return;
      case 'proxy_response_chunk':
        return this.toClient(exchange, bytesOf(message.payload.data));
      case 'proxy_response_end': {
        // HTTP/2: a HEADERS frame after the body (gRPC's grpc-status); HTTP/1.1: the chunked trailer section.
        const trailers = forwardableTrailers(message.payload.trailers);
        if (trailers && exchange.res instanceof Http2ServerResponse) this.sendTrailersGuarded(exchange, exchange.res.stream, trailers);
        else if (trailers) res.addTrailers(trailers);
        res.end();
        return;
      }
    }
  }

  /**
   * Sends an HTTP/2 answer's trailers when the stream asks for them. Node's own sending runs in a callback
   * outside any guard, where a throw would end the process; here it cuts this one answer (the stream is reset).
   */
  private sendTrailersGuarded(exchange: Exchange, stream: ServerHttp2Stream, trailers: HeaderMap): void {
    stream.removeAllListeners('wantTrailers');
    stream.once('wantTrailers', () => {
      try {
        stream.sendTrailers(trailers);
      } catch (err) {
        this.logger.warn("the cluster's trailers could not be sent to the client: its stream is reset", { controller: 'gateway', cluster: exchange.uuid, request_id: exchange.id, err });
        stream.close(http2Constants.NGHTTP2_INTERNAL_ERROR);
      }
    });
  }

  private toClient(exchange: Exchange, data: Buffer): void {
    const res = exchange.res as ServerResponse;
    res.write(data);
    this.peakBacklogBytes = Math.max(this.peakBacklogBytes, res.writableLength);
    if (res.writableLength > MAX_CLIENT_BACKLOG) {
      return this.refuseAnswer(exchange, `over ${MAX_CLIENT_BACKLOG} bytes are held for the client: the agent did not pause for proxy_flow`);
    }
    // Held only past a high-water mark: pausing at every full 16 KiB buffer would stall a fast client.
    if (res.writableLength > HIGH_WATER_MARK && !exchange.pausedAgent) {
      // The client reads slower than the backend writes: hold the agent until it drains.
      exchange.pausedAgent = true;
      this.send(exchange, 'proxy_flow', { paused: true });
      res.once('drain', () => {
        exchange.pausedAgent = false;
        if (this.isOpen(exchange)) this.send(exchange, 'proxy_flow', { paused: false });
      });
    }
  }

  /**
   * The open exchange `id` of this cluster on this connection: an agent answers only its own cluster's
   * requests, and only those sent on its connection (an answer on another is ignored, as an unknown id is).
   */
  private exchangeOf(cluster: ClusterRecord, id: string, from: AgentConnection): Exchange | undefined {
    const exchange = this.exchanges.get(id);
    return exchange?.uuid === cluster.cluster_uuid && exchange.connection === from ? exchange : undefined;
  }

  private isOpen(exchange: Exchange): boolean {
    return this.exchanges.get(exchange.id) === exchange;
  }

  /** Forgets an exchange; true when it was still open. */
  private forget(exchange: Exchange): boolean {
    clearTimeout(exchange.timer);
    exchange.resume?.();
    if (!this.isOpen(exchange)) return false;
    this.exchanges.delete(exchange.id);
    if (exchange.connection) exchange.connection.inFlight--;
    return true;
  }

  /** Ends an exchange from this side: the agent is told to stop, the client gets `status` (or a cut response once it began). */
  private fail(exchange: Exchange, status: number, error: string): void {
    if (!this.forget(exchange)) return;
    this.send(exchange, 'proxy_cancel', {});
    failRequest(exchange.res, status, error);
  }

  /** The agent's answer cannot be passed on: 502 for the client, and a line in the log naming the cluster. */
  private refuseAnswer(exchange: Exchange, problem: string): void {
    this.logger.warn("refused a cluster's answer to a proxied request", { controller: 'gateway', cluster: exchange.uuid, request_id: exchange.id, err: problem });
    this.fail(exchange, 502, `the cluster's answer was refused: ${problem}`);
  }

  private send<T extends InboundType>(exchange: Exchange, type: T, payload: InboundPayloads[T]): boolean {
    return exchange.connection !== undefined && this.cp.sendOn(exchange.connection, type, payload, exchange.id);
  }
}

/**
 * A whole answer. Without a body its headers are all there is: an HTTP/2 client gets one HEADERS frame that
 * ends the stream, which is how a gRPC server answers an error without a message (trailers-only).
 */
function respondWhole(res: ServerResponse, status: number, headers: HeaderMap, body: Buffer): void {
  if (body.length > 0) {
    res.writeHead(status, headers);
    res.end(body);
    return;
  }
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.end();
}

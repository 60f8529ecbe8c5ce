// The cluster side of the tunnel: a proxy_request from the control plane becomes a request to the in-cluster
// Service (explicit target, else the route that matches Host + path), spoken as the route's transport says
// (HTTP/1.1 or HTTP/2, cleartext or TLS: backends.ts dials), and its answer goes back as proxy_response, or as
// header/chunk/end (with the backend's trailers, where the control plane takes them) for large or streamed
// bodies, pausing the upstream while the socket's send buffer is past its high-water mark. Request and
// response bodies flow at the same time (a bidirectional gRPC call answers before its request ends). Limits
// answer with an error status; no error ever ends the process. Every buffer is bounded: a request body the
// gateway keeps sending after proxy_flow paused it is cut off past a grace, all request bodies together have a
// ceiling, new requests are refused while the control plane leaves answers unread, and one client holds a
// fair share of slots.
import type { Readable } from 'node:stream';
import type { Logger } from '../log.js';
import { metrics } from '../metrics.js';
import { bytesOf, invalidFieldSection, TRAILER_LIMITS, type ExposedRoute, type InboundMessage, type ProxyRequestPayload } from '../controlplane/protocol.js';
import { isHttp2, type BackendTransport } from '../routing/backend-transport.js';
import { matchRoute } from '../routing/match.js';
import { checkRequestTarget } from '../routing/request-path.js';
import { Backends, explainBackendError, failureStatus, type BackendCall, type BackendResponse, type BackendTarget } from './backends.js';
import { FairShare } from './fair-share.js';
import { acceptsTrailers, forwardableTrailers, requestFraming, stripHopByHop, type HeaderMap } from './headers.js';
import { DEFAULT_WEBSOCKET_OPTIONS, WebSocketStreams, type StreamSocket, type StreamTarget, type WebSocketStreamOptions } from './websocket.js';

/** How the tunnel uses the control-plane socket: small frames at once, bodies as bulk (see client.sendBulk). */
export interface TunnelSocket extends StreamSocket {
  /** The control plane takes response trailers on this socket (it agreed in register_success.trailers). */
  readonly trailersAgreed?: boolean;
}

/** How a route's backend is dialled, or why it must not be (e.g. a BackendTLSPolicy whose CA cannot be read). */
export type BackendTransportLookup = (route: ExposedRoute) => BackendTransport | { error: string };

export interface TunnelOptions {
  clusterDomain: string;
  /** "namespace/service" → "host:port", for runs without cluster DNS (local demo, tests). */
  serviceAddresses: ReadonlyMap<string, string>;
  maxBodyBytes: number;
  maxConcurrent: number;
  defaultTimeoutMs: number;
  /** Bodies up to this size (with a known length) go back in one proxy_response. */
  inlineBodyBytes: number;
  /** Requests (and, separately, streams) one client of the gateway may hold at once. */
  maxPerClient: number;
  /** Request-body bytes waiting for backends, all requests together; past it the request adding more fails. */
  maxUploadBufferBytes: number;
  /** Bytes one request's body may grow by after proxy_flow paused it before the request is cut off. */
  flowGraceBytes: number;
  /** Answers queued towards the control plane past which new requests are refused (503) until it reads them. */
  maxBacklogBytes: number;
  websocket: WebSocketStreamOptions;
}

export const DEFAULT_TUNNEL_OPTIONS: TunnelOptions = {
  clusterDomain: 'cluster.local',
  serviceAddresses: new Map(),
  maxBodyBytes: 100 * 1024 * 1024,
  maxConcurrent: 256,
  defaultTimeoutMs: 120_000,
  inlineBodyBytes: 256 * 1024,
  maxPerClient: 128,
  maxUploadBufferBytes: 64 * 1024 * 1024,
  // Above what an honest gateway still has in flight when the pause reaches it (socket buffers on both ends).
  flowGraceBytes: 16 * 1024 * 1024,
  maxBacklogBytes: 16 * 1024 * 1024,
  websocket: DEFAULT_WEBSOCKET_OPTIONS,
};

const DRAIN_POLL_MS = 50;

/** Request-body bytes waiting for a backend past which the gateway is asked to hold the upload. */
const UPLOAD_HIGH_WATER_MARK = 1024 * 1024;

/** What a Tunnel is made of. */
export interface TunnelParts {
  socket: TunnelSocket;
  /** The routes this cluster exposes: the boundary (see admit). */
  routes: () => ExposedRoute[];
  transport: BackendTransportLookup;
  options: TunnelOptions;
  logger: Logger;
  /** The connections to backends (default: pools of their own, sized by the options). */
  backends?: Backends;
  /** A backend's TLS failed (its certificate not verified, …) for the route with this key: reported beyond the log. */
  backendTlsFailed?: (routeKey: string, message: string) => void;
}

interface Pending {
  upstream?: BackendCall;
  response?: Readable;
  timer?: NodeJS.Timeout;
  bodyBytes: number;
  /** The request's Content-Length, when it has one: the body may be neither longer nor shorter. */
  declared?: number;
  /** Of the request body, bytes handed to the backend connection and not yet written (counted in uploadBuffered). */
  buffered: number;
  client?: string;
  done: boolean;
  /** The gateway was asked to stop sending this request's body until the backend drains. */
  pausedSender: boolean;
  /** The gateway asked to stop sending this response's body until its client drains. */
  pausedByGateway: boolean;
  armTimeout?: () => void;
  /** performance.now() when the request reached this replica, for the duration histogram. */
  startedAt: number;
}

/** The status label of the tunnel's request metrics: the status class ("5xx"), or "cancelled" without an answer. */
const statusClass = (status: number | undefined): string => (status ? `${Math.floor(status / 100)}xx` : 'cancelled');

export class Tunnel {
  private readonly pending = new Map<string, Pending>();
  /** Kept-alive HTTP/1.1 connections and pooled HTTP/2 sessions to backends, cleartext and TLS (backends.ts). */
  private readonly backends: Backends;
  private readonly backendTlsFailed?: (routeKey: string, message: string) => void;
  private readonly websockets: WebSocketStreams;
  private readonly share: FairShare;
  /** Request-body bytes waiting in backend connections, all requests together. */
  private uploadBuffered = 0;
  private readonly socket: TunnelSocket;
  private readonly routes: () => ExposedRoute[];
  private readonly transport: BackendTransportLookup;
  private readonly options: TunnelOptions;
  private readonly logger: Logger;

  constructor({ socket, routes, transport, options, logger, backends, backendTlsFailed }: TunnelParts) {
    this.socket = socket;
    this.routes = routes;
    this.transport = transport;
    this.options = options;
    this.logger = logger;
    this.backends = backends ?? new Backends({ maxSockets: options.maxConcurrent });
    this.share = new FairShare(options.maxPerClient);
    this.websockets = new WebSocketStreams(socket, (id, payload) => this.admit(id, payload), options.websocket, logger, {
      tls: (transport) => this.backends.websocketTls(transport),
      explain: explainBackendError,
      tlsFailed: (routeKey, message) => routeKey !== undefined && backendTlsFailed?.(routeKey, message),
    });
    this.backendTlsFailed = backendTlsFailed;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  get streams(): number {
    return this.websockets.size;
  }

  /**
   * A replica going away: the requests in flight (which the control plane may still send while it learns of
   * the drain) finish, up to `timeoutMs`; then WebSocket streams are closed with 1001 and what is left is cut.
   */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    if (this.pending.size) this.logger.warn('drain timeout: cutting the requests still in flight', { requests: this.pending.size, timeoutMs });
    this.websockets.closeAll(1001, 'the agent is going away');
    this.abortAll();
  }

  handle(message: InboundMessage): void {
    const id = message.request_id;
    try {
      if (this.websockets.handle(message)) return;
      switch (message.type) {
        case 'proxy_request':
          if (!id) return void this.socket.send('error', { code: 'bad_payload', message: 'proxy_request needs a request_id', type: message.type });
          return this.start(id, message.payload);
        case 'proxy_request_chunk':
          return this.chunk(id, message.payload.data);
        case 'proxy_request_end':
          return this.end(id ?? '');
        case 'proxy_cancel':
          return this.finish(id ?? '', undefined, 'cancelled by the control plane');
        case 'proxy_flow':
          return this.flow(id ?? '', message.payload.paused);
        default:
          return;
      }
    } catch (err) {
      this.logger.error('tunnel request failed', { requestId: id, err });
      if (id) this.fail(id, 502, (err as Error).message);
    }
  }

  /** Aborts everything in flight (socket lost or shutting down). */
  abortAll(): void {
    this.websockets.abortAll();
    for (const id of [...this.pending.keys()]) this.finish(id, undefined, 'tunnel closed');
    this.backends.close();
  }

  /**
   * The route a request goes by: the one its explicit target names, else the one matching Host + path. An
   * explicit target must be the backend of a route this cluster exposes: whoever holds the socket reaches
   * nothing else (not the apiserver, not a Service no route names).
   */
  private route(payload: Pick<ProxyRequestPayload, 'host' | 'path' | 'namespace' | 'service_name' | 'service_port'>): ExposedRoute | { status: number; error: string } {
    const { namespace, service_name: service, service_port: port } = payload;
    if (!namespace || !service || !port) {
      return matchRoute(this.routes(), payload.host, payload.path) ?? { status: 404, error: `no route for ${payload.host}${payload.path}` };
    }
    return (
      this.routes().find((r) => r.namespace === namespace && r.service === service && r.port === port) ?? {
        status: 403,
        error: `backend ${namespace}/${service}:${port} is not exposed by any route of this cluster`,
      }
    );
  }

  /**
   * Whether a request or stream may start, and where it goes: its path must pass the rule both ends apply,
   * the control plane must be reading its answers, and the target must be exposed; then the route's
   * transport says how its backend is spoken to (or why it must not be: 502, nothing dialled). Refusals at
   * the boundary are counted and logged.
   */
  private admit(id: string, payload: Parameters<Tunnel['route']>[0] & { query?: string }): StreamTarget {
    const checked = checkRequestTarget(payload.path, payload.query);
    if (!checked.ok) return { status: 400, error: `refused: ${checked.error}` };
    if (this.socket.backlogBytes > this.options.maxBacklogBytes) {
      metrics.tunnelRefused.inc();
      return { status: 503, error: `the control plane has ${this.socket.backlogBytes} bytes of answers unread; refusing new requests until it reads them` };
    }
    const route = this.route(payload);
    if ('error' in route) {
      if (route.status === 403) {
        metrics.tunnelRefused.inc();
        this.logger.warn('tunnel request refused: explicit target outside the exposed routes', { requestId: id, err: route.error });
      }
      return route;
    }
    const transport = this.transport(route);
    if ('error' in transport) return { status: 502, error: transport.error };
    const { namespace, service, port } = route;
    const mapped = this.options.serviceAddresses.get(`${namespace}/${service}`);
    return { address: mapped ?? `${service}.${namespace}.svc.${this.options.clusterDomain}:${port}`, transport, routeKey: route.key };
  }

  private start(id: string, payload: ProxyRequestPayload): void {
    if (this.pending.has(id)) return void this.fail(id, 400, `request_id ${id} is already in flight`, false);
    if (this.pending.size >= this.options.maxConcurrent) return void this.fail(id, 503, `more than ${this.options.maxConcurrent} requests in flight`, false);
    const target = this.admit(id, payload);
    if ('error' in target) return void this.fail(id, target.status, target.error, false);
    const framing = requestFraming(payload.headers);
    if ('error' in framing) return void this.fail(id, 400, framing.error, false);
    const body = payload.body !== undefined ? Buffer.from(payload.body, 'base64') : undefined;
    if (body && body.length > this.options.maxBodyBytes) return void this.fail(id, 413, `request body over ${this.options.maxBodyBytes} bytes`, false);
    if (!this.share.take(payload.client)) {
      return void this.fail(id, 429, `client ${payload.client} already has ${this.options.maxPerClient} requests in flight through this cluster`, false);
    }

    const pending: Pending = {
      bodyBytes: body?.length ?? 0,
      declared: body ? undefined : framing.length,
      buffered: 0,
      client: payload.client,
      done: false,
      pausedSender: false,
      pausedByGateway: false,
      startedAt: performance.now(),
    };
    this.pending.set(id, pending);
    metrics.tunnelInFlight.set({ kind: 'request' }, this.pending.size);
    const timeoutMs = payload.timeout_ms && payload.timeout_ms > 0 ? payload.timeout_ms : this.options.defaultTimeoutMs;
    // Until the answer begins; restarted by every chunk of a request body still arriving (see chunk()).
    pending.armTimeout = () => {
      clearTimeout(pending.timer);
      pending.timer = setTimeout(() => this.fail(id, 504, `the backend did not answer within ${timeoutMs} ms`), timeoutMs);
    };
    pending.armTimeout();

    const headers = stripHopByHop(payload.headers);
    // TE is hop-by-hop, but `TE: trailers` is what an HTTP/2 backend (a gRPC server) is told its client takes:
    // only where this socket agreed to carry trailers, since without that agreement they would be dropped.
    if (isHttp2(target.transport.protocol) && this.socket.trailersAgreed && acceptsTrailers(payload.headers)) headers.te = 'trailers';
    // An inline body is framed from its own length: a Content-Length that disagreed would let the rest of the
    // body reach a kept-alive backend connection as a request of its own.
    if (body) delete headers['content-length'];
    const path = payload.query ? `${payload.path}?${payload.query}` : payload.path;
    const streamed = body === undefined && ((framing.length ?? 0) > 0 || framing.chunked);
    const dialled = this.backends.dial(target, { method: payload.method, path, headers, host: payload.host, hasBody: body ? body.length > 0 : streamed }, {
      response: this.guard(id, (res: BackendResponse) => this.respond(id, pending, res)),
      error: (err) => this.backendFailed(id, target, err),
      drain: () => this.drained(id, pending),
    });
    if (!dialled.ok) return void this.fail(id, dialled.status, dialled.error);
    pending.upstream = dialled.call;
    if (body) dialled.call.end(body);
    else if (!streamed) dialled.call.end();
  }

  /** The backend's answer began: whole (small, of known length, or headers only) as proxy_response, else streamed. */
  private respond(id: string, pending: Pending, res: BackendResponse): void {
    if (this.pending.get(id) !== pending) return void res.body.destroy();
    pending.response = res.body;
    // The timeout is for the answer to begin: a stream (a download, server-sent events, a gRPC stream) may last longer.
    clearTimeout(pending.timer);
    pending.armTimeout = undefined;
    if (pending.pausedByGateway) res.body.pause();
    const { status } = res;
    const headers = stripHopByHop(res.headers);
    const length = Number(res.headers['content-length'] ?? NaN);
    res.body.on('error', (err) => this.fail(id, 502, err.message));
    if (res.headersOnly || (Number.isFinite(length) && length <= this.options.inlineBodyBytes)) {
      const chunks: Buffer[] = [];
      res.body.on('data', (c: Buffer) => chunks.push(c));
      res.body.on('end', this.guard(id, () => {
        const trailers = this.trailersOf(id, res);
        if (trailers === false) return;
        const body = Buffer.concat(chunks);
        if (trailers) {
          // A response with trailers is never inline: only the streamed form carries them.
          this.socket.send('proxy_response_header', { status, headers }, id);
          if (body.length) this.socket.sendBody('proxy_response_chunk', id, body);
          this.socket.sendBulk('proxy_response_end', { trailers }, id);
        } else this.socket.sendBulk('proxy_response', { status, headers, body: body.toString('base64') }, id);
        this.finish(id, status);
      }));
      return;
    }
    this.socket.send('proxy_response_header', { status, headers }, id);
    res.body.on('data', this.guard(id, (c: Buffer) => {
      this.socket.sendBody('proxy_response_chunk', id, c);
      // Past the high-water mark: stop reading the backend until the socket drains.
      if (this.socket.congested) {
        res.body.pause();
        void this.socket.whenWritable().then(() => {
          if (this.pending.get(id) === pending && !pending.pausedByGateway) res.body.resume();
        });
      }
    }));
    res.body.on('end', this.guard(id, () => {
      const trailers = this.trailersOf(id, res);
      if (trailers === false) return;
      // Behind the body's last chunk, which may still be queued.
      this.socket.sendBulk('proxy_response_end', trailers ? { trailers } : {}, id);
      this.finish(id, status);
    }));
  }

  /**
   * The backend's trailers to pass on: undefined when it sent none (or the control plane does not take
   * them: a gRPC client then sees no status), false when they are past the protocol's limits (the request
   * fails with 502, its response cut if it began).
   */
  private trailersOf(id: string, res: BackendResponse): HeaderMap | undefined | false {
    const trailers = forwardableTrailers(res.trailers());
    if (!trailers) return undefined;
    if (!this.socket.trailersAgreed) {
      this.logger.debug("dropped a backend's trailers: the control plane does not take them", { requestId: id });
      return undefined;
    }
    const problem = invalidFieldSection(trailers, TRAILER_LIMITS, 'trailers');
    if (!problem) return trailers;
    this.logger.warn("refused a backend's trailers", { requestId: id, err: problem });
    this.fail(id, 502, `the backend's trailers were refused: ${problem}`);
    return false;
  }

  /** The backend could not be reached, or its answer broke off: 502 saying why (a TLS failure is logged too); 503 where it refused the stream unprocessed. */
  private backendFailed(id: string, target: BackendTarget, err: Error): void {
    if (!this.pending.has(id)) return;
    const why = explainBackendError(err, target);
    if (why.tls) {
      this.logger.warn('backend TLS handshake failed', { requestId: id, backend: target.address, protocol: target.transport.protocol, err: why.message });
      if (target.routeKey !== undefined) this.backendTlsFailed?.(target.routeKey, why.message);
    }
    this.fail(id, failureStatus(err), why.message);
  }

  /** The backend took what was buffered of the request body: the gateway, if held, may send again. */
  private drained(id: string, pending: Pending): void {
    this.unbuffer(pending);
    if (!pending.pausedSender) return;
    pending.pausedSender = false;
    if (this.pending.get(id) === pending) this.socket.send('proxy_flow', { paused: false }, id);
  }

  private chunk(id: string | undefined, data: string | Buffer): void {
    const pending = this.pending.get(id ?? '');
    if (!pending?.upstream) return;
    const bytes = bytesOf(data);
    pending.bodyBytes += bytes.length;
    if (pending.bodyBytes > this.options.maxBodyBytes) return void this.fail(id as string, 413, `request body over ${this.options.maxBodyBytes} bytes`);
    if (pending.declared !== undefined && pending.bodyBytes > pending.declared) {
      return void this.fail(id as string, 400, `the request body is longer than its Content-Length ${pending.declared}`);
    }
    const waiting = pending.upstream.writableLength + bytes.length;
    if (pending.pausedSender && waiting > UPLOAD_HIGH_WATER_MARK + this.options.flowGraceBytes) {
      this.logger.warn('the control plane sent a request body past proxy_flow paused; cutting the request off', { requestId: id, bytes: waiting });
      metrics.tunnelRefused.inc();
      return void this.fail(id as string, 503, `the request body went on ${waiting - UPLOAD_HIGH_WATER_MARK} bytes past proxy_flow paused`);
    }
    if (this.uploadBuffered - pending.buffered + waiting > this.options.maxUploadBufferBytes) {
      return void this.fail(id as string, 503, `request bodies waiting for backends would pass ${this.options.maxUploadBufferBytes} bytes`);
    }
    if (!pending.response) pending.armTimeout?.();
    pending.upstream.write(bytes);
    this.uploadBuffered += pending.upstream.writableLength - pending.buffered;
    pending.buffered = pending.upstream.writableLength;
    // Held only past a high-water mark: pausing at every full 16 KiB buffer would stall a fast backend.
    if (pending.pausedSender || pending.upstream.writableLength <= UPLOAD_HIGH_WATER_MARK) return;
    // The backend reads slower than the gateway sends: hold the gateway until it drains (see drained()).
    pending.pausedSender = true;
    this.socket.send('proxy_flow', { paused: true }, id);
  }

  /** The request body is complete: as long as it said it would be, or refused. */
  private end(id: string): void {
    const pending = this.pending.get(id);
    if (!pending?.upstream) return;
    if (pending.declared !== undefined && pending.bodyBytes !== pending.declared) {
      return void this.fail(id, 400, `the request body is ${pending.bodyBytes} bytes, its Content-Length ${pending.declared}`);
    }
    pending.upstream.end();
  }

  /** The gateway's client reads slower than the backend writes: pause (or resume) reading the backend. */
  private flow(id: string, paused: boolean): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    pending.pausedByGateway = paused;
    if (paused) return void pending.response?.pause();
    void this.socket.whenWritable().then(() => {
      if (this.pending.get(id) === pending && !pending.pausedByGateway) pending.response?.resume();
    });
  }

  private fail(id: string, status: number, error: string, started = true): void {
    if (started && !this.pending.has(id)) return;
    this.socket.send('proxy_error', { status, error }, id);
    this.logger.debug('tunnel request failed', { requestId: id, status, err: error });
    if (started) this.finish(id, status, error);
    else metrics.tunnelRequests.inc({ status: statusClass(status) });
  }

  /**
   * An event handler of request `id` that cannot end the process: what it throws fails the request (502)
   * and is logged, as handle() does for what a frame throws.
   */
  private guard<A extends unknown[]>(id: string, handler: (...args: A) => void): (...args: A) => void {
    return (...args: A) => {
      try {
        handler(...args);
      } catch (err) {
        this.logger.error('tunnel request failed in an event handler', { requestId: id, err });
        this.fail(id, 502, (err as Error).message);
      }
    };
  }

  /** The backend connection wrote what it held of this request's body. */
  private unbuffer(pending: Pending): void {
    this.uploadBuffered -= pending.buffered;
    pending.buffered = 0;
  }

  private finish(id: string, status?: number, abortReason?: string): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    pending.done = true;
    this.pending.delete(id);
    metrics.tunnelInFlight.set({ kind: 'request' }, this.pending.size);
    this.unbuffer(pending);
    this.share.release(pending.client);
    clearTimeout(pending.timer);
    if (abortReason) pending.upstream?.abort(abortReason);
    else pending.upstream?.complete();
    const label = { status: statusClass(status) };
    metrics.tunnelRequests.inc(label);
    metrics.tunnelRequestDuration.observe(label, (performance.now() - pending.startedAt) / 1000);
  }
}

// WebSocket streams through the tunnel, the operator's side: ws_open opens a WebSocket to the backend the
// same route matching (and tunnel boundary) picks for HTTP, then messages flow both ways as ws_message
// (text or binary, whole messages: fragments are joined by the WebSocket layer), ws_close carries the close
// code and reason across, and ws_flow pauses the other side when one side's buffer is past its high-water
// mark. Limits: concurrent streams, streams per client and message size. The backend's URL is built from
// parts (the path passed the same check as HTTP requests), never by joining strings. A stream is an HTTP/1.1
// upgrade whatever the route's protocol: ws:// for HTTP and H2C backends, wss:// with the route's TLS
// settings (SNI name, CA, verification) for HTTPS and H2 ones.
import WebSocket from 'ws';
import type { Logger } from '../log.js';
import { metrics } from '../metrics.js';
import { bytesOf, type BinaryKind, type InboundMessage, type OutboundPayloads, type OutboundType, type WebSocketOpenPayload } from '../controlplane/protocol.js';
import type { BackendTransport } from '../routing/backend-transport.js';
import { FairShare } from './fair-share.js';
import { closeCodeToSend, closeReasonToSend, upgradeHeaders } from './websocket-translate.js';

/** How the tunnel's socket is used by the streams (a subset of the control-plane client). */
export interface StreamSocket {
  send<T extends OutboundType>(type: T, payload: OutboundPayloads[T], requestId?: string): boolean;
  sendBulk<T extends OutboundType>(type: T, payload: OutboundPayloads[T], requestId?: string): boolean;
  /** Bytes of a body or stream: a binary frame where agreed, else base64 in the JSON message. */
  sendBody(kind: BinaryKind, requestId: string, data: Buffer): boolean;
  readonly congested: boolean;
  /** Bytes written or queued towards the control plane and not yet sent: what it leaves unread. */
  readonly backlogBytes: number;
  whenWritable(): Promise<void>;
}

export interface WebSocketStreamOptions {
  maxStreams: number;
  /** Streams one client of the gateway may hold open at once. */
  maxStreamsPerClient: number;
  maxMessageBytes: number;
  /** Bytes queued towards one backend past which the gateway is asked to pause that stream's client. */
  highWaterMark: number;
  /** Bytes the gateway may still send a held stream past the high-water mark before the stream is closed (1008). */
  flowGraceBytes: number;
  /**
   * Bytes queued towards backends by all streams together: past it the stream adding more is closed (1013), so
   * many held streams, each within its own grace, cannot add up to gigabytes (256 × 17 MiB).
   */
  maxQueuedBytes: number;
  handshakeTimeoutMs: number;
}

export const DEFAULT_WEBSOCKET_OPTIONS: WebSocketStreamOptions = {
  maxStreams: 256,
  maxStreamsPerClient: 128,
  maxMessageBytes: 16 * 1024 * 1024,
  highWaterMark: 1024 * 1024,
  flowGraceBytes: 16 * 1024 * 1024,
  maxQueuedBytes: 64 * 1024 * 1024,
  handshakeTimeoutMs: 10_000,
};

/** What one end of a stream has handed to its WebSocket and not yet written, and whether the other end is held. */
export interface Backlog {
  queued: number;
  holding: boolean;
}

export interface HoldOptions {
  backlog: Backlog;
  highWaterMark: number;
  /** Asks the other end of the stream to pause (true) or go on (false). */
  hold: (paused: boolean) => void;
  /** Whether the stream is still this one when a write completes. */
  current: () => boolean;
}

/**
 * Sends one message on `ws`, keeping the backlog of it: past the high-water mark of unwritten bytes the other
 * end of the stream is held, and let go once half of that is written. Used by both ends of a WebSocket stream.
 */
export function sendHeld(ws: WebSocket, data: Buffer, binary: boolean, { backlog, highWaterMark, hold, current }: HoldOptions): void {
  backlog.queued += data.length;
  ws.send(data, { binary }, () => {
    backlog.queued -= data.length;
    if (backlog.holding && backlog.queued <= highWaterMark / 2 && current()) {
      backlog.holding = false;
      hold(false);
    }
  });
  if (!backlog.holding && backlog.queued > highWaterMark) {
    backlog.holding = true;
    hold(true);
  }
}

/** Where a request or stream goes: "host:port" of the backend and how it is spoken to, or why it may not go anywhere. */
export type StreamTarget = { address: string; transport: BackendTransport; routeKey?: string } | { status: number; error: string };

/** How a stream's backend is dialled over TLS, and what a failed dial means (the tunnel's Backends). */
export interface StreamDialer {
  /** TLS options for a wss:// backend (undefined: ws://), or why its TLS settings cannot be used. */
  tls(transport: BackendTransport): object | { error: string } | undefined;
  /** Why a dial failed, in words, and whether it was the backend's TLS (logged). */
  explain(err: Error, target: { address: string; transport: BackendTransport }): { message: string; tls: boolean };
  /** A TLS failure dialling the backend of the route with this key (reported as an Event). */
  tlsFailed?(routeKey: string | undefined, message: string): void;
}

/** Every backend cleartext: for streams without a tunnel's Backends (tests of the streams alone). */
export const PLAIN_DIALER: StreamDialer = {
  tls: () => undefined,
  explain: (err, target) => ({ message: `backend ${target.address} unreachable: ${err.message}`, tls: false }),
};

/**
 * The backend's WebSocket URL from its parts: "host:port" (IPv6 in brackets), then the checked path and
 * query set as URL fields, so nothing in them can become a userinfo, host or port. `secure`: wss://.
 */
export function backendWebSocketUrl(address: string, path: string, query: string | undefined, secure = false): URL {
  const colon = address.lastIndexOf(':');
  const url = new URL(secure ? 'wss://backend.invalid/' : 'ws://backend.invalid/');
  url.hostname = address.slice(0, colon);
  url.port = address.slice(colon + 1);
  url.pathname = path;
  url.search = query ?? '';
  return url;
}

interface Stream {
  backend: WebSocket;
  client?: string;
  /** The gateway asked to hold this stream (ws_flow): a drained socket does not resume it. */
  pausedByGateway: boolean;
  open: boolean;
  /** Towards the backend; holding: the gateway was asked to pause the client. */
  backlog: Backlog;
}

export class WebSocketStreams {
  private readonly streams = new Map<string, Stream>();
  private readonly share: FairShare;

  constructor(
    private readonly socket: StreamSocket,
    private readonly resolve: (id: string, payload: WebSocketOpenPayload) => StreamTarget,
    private readonly options: WebSocketStreamOptions,
    private readonly logger: Logger,
    private readonly dialer: StreamDialer = PLAIN_DIALER,
  ) {
    this.share = new FairShare(options.maxStreamsPerClient);
  }

  /** Handles a ws_* message; false for any other type. */
  handle(message: InboundMessage): boolean {
    const id = message.request_id ?? '';
    switch (message.type) {
      case 'ws_open':
        this.start(id, message.payload);
        return true;
      case 'ws_message': {
        const stream = this.streams.get(id);
        if (stream?.open) this.toBackend(id, stream, bytesOf(message.payload.data), message.payload.binary);
        return true;
      }
      case 'ws_close': {
        const stream = this.streams.get(id);
        if (!stream) return true;
        this.forget(id, stream);
        const code = closeCodeToSend(message.payload.code);
        if (stream.open) stream.backend.close(code, code === undefined ? undefined : closeReasonToSend(message.payload.reason));
        else stream.backend.terminate();
        return true;
      }
      case 'ws_flow': {
        const stream = this.streams.get(id);
        if (!stream) return true;
        stream.pausedByGateway = message.payload.paused;
        if (message.payload.paused) stream.backend.pause();
        else if (!this.socket.congested) stream.backend.resume();
        else void this.socket.whenWritable().then(() => this.streams.get(id) === stream && !stream.pausedByGateway && stream.backend.resume());
        return true;
      }
      default:
        return false;
    }
  }

  get size(): number {
    return this.streams.size;
  }

  /** The end of a drain: every stream is closed on both sides with `code` (1001: going away), not cut. */
  closeAll(code: number, reason: string): void {
    for (const [id, stream] of [...this.streams]) {
      this.forget(id, stream);
      this.socket.send('ws_close', { code, reason }, id);
      stream.backend.close(code, reason);
    }
  }

  /** Closes every stream (the socket to the control plane is gone, or the operator stops). */
  abortAll(): void {
    for (const [id, stream] of [...this.streams]) {
      this.forget(id, stream);
      stream.backend.terminate();
    }
  }

  /** A stream refused for what the control plane sent: its backend dropped, the gateway told why. */
  private cut(id: string, stream: Stream, code: number, reason: string): void {
    metrics.tunnelRefused.inc();
    this.forget(id, stream);
    stream.backend.terminate();
    this.socket.send('ws_close', { code, reason }, id);
  }

  /** At most maxStreams streams: summed on each message rather than kept, so no count can drift. */
  private queuedTowardsBackends(): number {
    let total = 0;
    for (const stream of this.streams.values()) total += stream.backlog.queued;
    return total;
  }

  /** The stream is over on this side: its slot and its client's share are free again. */
  private forget(id: string, stream: Stream): void {
    if (this.streams.get(id) !== stream) return;
    this.streams.delete(id);
    metrics.tunnelInFlight.set({ kind: 'websocket' }, this.streams.size);
    this.share.release(stream.client);
  }

  private refuse(id: string, status: number, error: string): void {
    this.socket.send('ws_error', { status, error }, id);
    metrics.tunnelRequests.inc({ status: `${Math.floor(status / 100)}xx` });
  }

  private start(id: string, payload: WebSocketOpenPayload): void {
    if (!id) return void this.socket.send('error', { code: 'bad_payload', message: 'ws_open needs a request_id', type: 'ws_open' });
    if (this.streams.has(id)) return this.refuse(id, 400, `stream ${id} is already open`);
    if (this.streams.size >= this.options.maxStreams) return this.refuse(id, 503, `more than ${this.options.maxStreams} WebSocket streams open`);
    const target = this.resolve(id, payload);
    if ('error' in target) return this.refuse(id, target.status, target.error);
    const headers: Record<string, string | string[]> = { ...upgradeHeaders(payload.headers), host: payload.host };
    const tls = this.dialer.tls(target.transport);
    if (tls && 'error' in tls) return this.refuse(id, 502, tls.error);
    if (!this.share.take(payload.client)) {
      return this.refuse(id, 429, `client ${payload.client} already has ${this.options.maxStreamsPerClient} WebSocket streams open through this cluster`);
    }
    let backend: WebSocket;
    try {
      backend = new WebSocket(backendWebSocketUrl(target.address, payload.path, payload.query, tls !== undefined), payload.protocols ?? [], {
        headers,
        maxPayload: this.options.maxMessageBytes,
        perMessageDeflate: false,
        handshakeTimeout: this.options.handshakeTimeoutMs,
        followRedirects: false,
        ...tls,
      });
    } catch (err) {
      // ws refuses some inputs by throwing (an invalid subprotocol, a header it will not send): answer now.
      this.share.release(payload.client);
      return this.refuse(id, 400, `cannot open a WebSocket to ${target.address}: ${(err as Error).message}`);
    }
    const stream: Stream = { backend, client: payload.client, pausedByGateway: false, open: false, backlog: { queued: 0, holding: false } };
    this.streams.set(id, stream);
    metrics.tunnelInFlight.set({ kind: 'websocket' }, this.streams.size);
    const current = (): boolean => this.streams.get(id) === stream;
    backend.on('unexpected-response', (_req, res) => {
      res.resume();
      backend.terminate();
      if (!current()) return;
      this.forget(id, stream);
      this.refuse(id, res.statusCode ?? 502, `the backend ${target.address} answered the upgrade with HTTP ${res.statusCode}`);
    });
    backend.on('open', () => {
      if (!current()) return void backend.terminate();
      stream.open = true;
      this.socket.send('ws_opened', { protocol: backend.protocol }, id);
      metrics.tunnelRequests.inc({ status: '1xx' });
    });
    backend.on('message', (data, isBinary) => {
      if (!current()) return;
      try {
        this.fromBackend(id, stream, current, data, isBinary);
      } catch (err) {
        // Never out of a ws event handler, where a throw would end the process: end this stream instead.
        this.logger.error('WebSocket stream failed', { requestId: id, err });
        this.forget(id, stream);
        backend.terminate();
        this.socket.send('ws_close', { code: 1011 }, id);
      }
    });
    backend.on('close', (code, reason) => {
      if (!current()) return;
      this.forget(id, stream);
      // Behind the stream's last messages, which may still be queued.
      this.socket.sendBulk('ws_close', { code, reason: reason.toString() }, id);
    });
    backend.on('error', (err) => {
      if (!current()) return;
      if (!stream.open) {
        this.forget(id, stream);
        const why = this.dialer.explain(err, target);
        if (why.tls) {
          this.logger.warn('backend TLS handshake failed', { requestId: id, backend: target.address, err: why.message });
          this.dialer.tlsFailed?.(target.routeKey, why.message);
        }
        this.refuse(id, 502, why.message);
      } else this.logger.debug('WebSocket stream error', { requestId: id, err });
    });
  }

  /** A message from the backend to the gateway; reads from the backend stop while the socket is congested. */
  private fromBackend(id: string, stream: Stream, current: () => boolean, data: WebSocket.RawData, isBinary: boolean): void {
    const { backend } = stream;
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (!this.socket.sendBody(isBinary ? 'ws_message_binary' : 'ws_message_text', id, bytes)) {
      // Larger than a frame the control plane takes (or the socket is gone): end the stream, never skip a message.
      this.forget(id, stream);
      backend.close(1009, 'message too big for the tunnel');
      this.socket.send('ws_close', { code: 1009, reason: 'message too big for the tunnel' }, id);
      return;
    }
    if (this.socket.congested) {
      backend.pause(); // read nothing more from this backend until the socket drains
      void this.socket.whenWritable().then(() => {
        if (current() && !stream.pausedByGateway) backend.resume();
      });
    }
  }

  private toBackend(id: string, stream: Stream, data: Buffer, binary: boolean): void {
    if (stream.backlog.holding && stream.backlog.queued + data.length > this.options.highWaterMark + this.options.flowGraceBytes) {
      // The gateway goes on sending a stream it was asked to hold: end the stream rather than buffer without bound.
      this.logger.warn('the control plane sent a WebSocket stream past ws_flow paused; closing it', { requestId: id, bytes: stream.backlog.queued });
      return this.cut(id, stream, 1008, 'sent past ws_flow paused');
    }
    if (this.queuedTowardsBackends() + data.length > this.options.maxQueuedBytes) {
      this.logger.warn('WebSocket data queued towards backends is past its limit; closing the stream adding more', { requestId: id, limit: this.options.maxQueuedBytes });
      return this.cut(id, stream, 1013, 'too much WebSocket data waiting for backends');
    }
    // The backend reads slower than the client writes: hold the client.
    const hold = (paused: boolean): boolean => this.socket.send('ws_flow', { paused }, id);
    sendHeld(stream.backend, data, binary, { backlog: stream.backlog, highWaterMark: this.options.highWaterMark, hold, current: () => this.streams.get(id) === stream });
  }
}

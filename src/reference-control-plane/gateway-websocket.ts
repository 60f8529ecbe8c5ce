// The gateway's side of WebSocket streams: an upgrade request on a served host is offered to the cluster's
// agent as ws_open; once the agent has the backend's WebSocket open (ws_opened, with the subprotocol the
// backend chose) the client's upgrade completes and messages flow both ways as ws_message, a close on either
// side is passed on as ws_close, and ws_flow pauses the side that writes faster than the other reads.
// Each stream goes through one connection of the cluster, the least busy when it opened, and ends with it
// (1011 toward the client): a stream's state lives in the agent, so it is never moved to another.
// An agent that answers out of order (a second ws_opened, a message before it) or ignores ws_flow fails
// its stream (502 before the upgrade, the connection dropped after it); nothing it sends may throw here.
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket } from 'ws';
import { bytesOf, type InboundPayloads, type InboundType, type OutboundMessage, type OutboundType } from '../controlplane/protocol.js';
import type { Logger } from '../log.js';
import { checkRequestTarget } from '../routing/request-path.js';
import { closeCodeToSend, closeReasonToSend, offeredProtocols, upgradeHeaders } from '../tunnel/websocket-translate.js';
import { sendHeld, type Backlog } from '../tunnel/websocket.js';
import type { AgentConnection, ReferenceControlPlane } from './server.js';
import type { HostTarget } from './host-owner.js';
import { clientOf, type SourceLimiter } from './source-limiter.js';
import type { ClusterRecord } from './store.js';

const HIGH_WATER_MARK = 1024 * 1024;
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Past this many bytes held for a slow client, the agent ignored ws_flow: the stream is closed. */
export const MAX_STREAM_BACKLOG = 2 * MAX_MESSAGE_BYTES;
/** The close code for a stream the agent broke (an internal error, as far as the client can tell). */
const BROKEN_STREAM = 1011;

/** How long, by default, the agent may take to answer ws_open before the client's upgrade is answered 504. */
export const DEFAULT_OPEN_TIMEOUT_MS = 10_000;

export interface GatewayWebSocketsOptions {
  /** The connected cluster serving a host, or the answer when there is none (host-owner.ts). */
  target: (host: string) => HostTarget;
  /** Shared with the HTTP side: streams count against the client address's limit. */
  limiter: SourceLimiter;
  logger: Logger;
  /** How long the agent may take to answer ws_open. */
  openTimeoutMs?: number;
}

interface Stream {
  uuid: string;
  /** The connection the stream goes through (the least busy when it opened): when it closes, the stream is over. */
  connection: AgentConnection;
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
  /** Subprotocols the client offered: the backend's choice must be one of them. */
  offered: string[];
  timer?: NodeJS.Timeout;
  /** ws_opened arrived: a second one is out of order. */
  opened: boolean;
  client?: WebSocket;
  /** Towards the client; holding: the agent was asked to pause the backend. */
  backlog: Backlog;
}

/** The agent's side of a stream. */
const STREAM_REPLY_TYPES: OutboundType[] = ['ws_opened', 'ws_error', 'ws_message', 'ws_close', 'ws_flow'];

export class GatewayWebSockets {
  private readonly streams = new Map<string, Stream>();
  private readonly wss: WebSocketServer;
  private readonly logger: Logger;
  private readonly openTimeoutMs: number;

  constructor(
    private readonly cp: ReferenceControlPlane,
    private readonly options: GatewayWebSocketsOptions,
  ) {
    this.logger = options.logger;
    this.openTimeoutMs = options.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS;
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: MAX_MESSAGE_BYTES,
      // The backend chose (ws_opened, checked against what the client offered); the client gets exactly that one.
      handleProtocols: (_offered, req) => (req as IncomingMessage & { chosenProtocol?: string }).chosenProtocol || false,
    });
    for (const type of STREAM_REPLY_TYPES) {
      cp.agentMessageHandlers.set(type, (cluster, message, from) => {
        const id = message.request_id ?? '';
        const stream = this.streamOf(cluster, id, from);
        if (!stream) return;
        try {
          this.onReply(stream, id, message);
        } catch (err) {
          this.breakStream(stream, id, `${type} could not be passed on: ${(err as Error).message}`);
        }
      });
    }
    cp.refusedReplyListeners.add((cluster, refused, from) => {
      const stream = this.streamOf(cluster, refused.requestId, from);
      if (stream) this.breakStream(stream, refused.requestId, `${refused.type}: ${refused.problem}`);
    });
  }

  get open(): number {
    return this.streams.size;
  }

  /** One frame of the agent's side of a stream, its schema checked at parse time. */
  private onReply(stream: Stream, id: string, message: OutboundMessage): void {
    switch (message.type) {
      case 'ws_opened':
        return this.opened(stream, id, message.payload.protocol ?? '');
      case 'ws_error':
        if (stream.opened) return this.breakStream(stream, id, 'ws_error after ws_opened');
        this.end(id);
        return this.reject(stream.socket, message.payload.status, message.payload.error);
      case 'ws_message':
        if (!stream.client) return this.breakStream(stream, id, 'ws_message before ws_opened');
        return this.toClient(stream, id, bytesOf(message.payload.data), message.payload.binary === true);
      case 'ws_close': {
        this.end(id);
        if (!stream.client) return this.reject(stream.socket, 502, 'the cluster closed the stream before it opened');
        const code = closeCodeToSend(message.payload.code);
        stream.client.close(code, code === undefined ? undefined : closeReasonToSend(message.payload.reason));
        return;
      }
      case 'ws_flow':
        if (message.payload.paused) stream.client?.pause();
        else stream.client?.resume();
    }
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined); // a client gone mid-handshake; the close below cleans up
    try {
      this.start(req, socket, head);
    } catch (err) {
      this.logger.error('a WebSocket upgrade failed', { controller: 'gateway', err, host: req.headers.host });
      this.reject(socket, 502, 'the gateway failed on this upgrade');
    }
  }

  private start(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const release = this.options.limiter.acquire(req.socket.remoteAddress ?? '');
    if (!release) return this.reject(socket, 429, `more than ${this.options.limiter.maxPerSource} requests at once from this address`);
    socket.once('close', release);
    const host = req.headers.host ?? '';
    const target = this.options.target(host);
    if (!target.ok) return this.reject(socket, target.status, target.error, target.details);
    const { cluster } = target;
    const uuid = cluster.cluster_uuid;
    const url = new URL(req.url ?? '/', 'http://gateway');
    const checked = checkRequestTarget(url.pathname, url.search.slice(1));
    if (!checked.ok) return this.reject(socket, 400, `refused: ${checked.error}`);
    const connection = this.cp.pickConnection(uuid);
    if (!connection) return this.reject(socket, 502, `cluster ${cluster.name} is not connected`);
    const id = randomUUID();
    const offered = offeredProtocols(req.headers['sec-websocket-protocol']);
    const stream: Stream = { uuid, connection, req, socket, head, offered, opened: false, backlog: { queued: 0, holding: false } };
    const payload = { path: url.pathname, query: url.search.slice(1), headers: upgradeHeaders(req.headers), host, protocols: offered, client: clientOf(req) };
    this.streams.set(id, stream);
    connection.inFlight++;
    socket.on('error', () => this.end(id));
    socket.on('close', () => {
      if (!stream.client && this.end(id)) this.toAgent(stream, 'ws_close', {}, id); // gone before the upgrade completed
    });
    if (!this.toAgent(stream, 'ws_open', payload, id)) {
      this.end(id);
      return this.reject(socket, 502, `cluster ${cluster.name} is not connected`);
    }
    stream.timer = setTimeout(() => {
      if (stream.client || !this.end(id)) return;
      this.toAgent(stream, 'ws_close', {}, id);
      this.reject(socket, 504, 'the cluster did not open the stream in time');
    }, this.openTimeoutMs);
  }

  private opened(stream: Stream, id: string, protocol: string): void {
    if (stream.opened) return this.breakStream(stream, id, 'a second ws_opened');
    if (protocol && !stream.offered.includes(protocol)) return this.breakStream(stream, id, `ws_opened chose subprotocol ${JSON.stringify(protocol)}, which the client did not offer`);
    stream.opened = true;
    clearTimeout(stream.timer);
    (stream.req as IncomingMessage & { chosenProtocol?: string }).chosenProtocol = protocol;
    this.wss.handleUpgrade(stream.req, stream.socket, stream.head, (client) => {
      if (this.streams.get(id) !== stream) return void client.terminate();
      stream.client = client;
      client.on('message', (data, isBinary) => {
        const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
        this.cp.sendBodyOn(stream.connection, isBinary ? 'ws_message_binary' : 'ws_message_text', id, bytes);
        // The agent's socket is backed up: read nothing more from this client until it drains.
        const agent = stream.connection.socket;
        if (agent.bufferedAmount > HIGH_WATER_MARK) {
          client.pause();
          const resume = setInterval(() => {
            if (this.streams.get(id) !== stream || agent.bufferedAmount <= HIGH_WATER_MARK) {
              clearInterval(resume);
              client.resume();
            }
          }, 5);
        }
      });
      client.on('close', (code, reason) => {
        if (this.end(id)) this.toAgent(stream, 'ws_close', { code, reason: reason.toString() }, id);
      });
      client.on('error', () => undefined);
    });
  }

  private toClient(stream: Stream, id: string, data: Buffer, binary: boolean): void {
    const client = stream.client;
    if (!client || client.readyState !== WebSocket.OPEN) return;
    // The client reads slower than the backend writes: hold the backend.
    const hold = (paused: boolean): boolean => this.toAgent(stream, 'ws_flow', { paused }, id);
    sendHeld(client, data, binary, { backlog: stream.backlog, highWaterMark: HIGH_WATER_MARK, hold, current: () => this.streams.get(id) === stream });
    // A compliant agent stops within about a message of ws_flow; one that goes on would fill this process.
    if (stream.backlog.queued > MAX_STREAM_BACKLOG) this.breakStream(stream, id, `over ${MAX_STREAM_BACKLOG} bytes are held for the client: the agent did not pause for ws_flow`);
  }

  /**
   * The open stream `id` of this cluster on this connection: an agent answers only its own cluster's
   * streams, and only on the connection each went through (on another one it is ignored, as an unknown id is).
   */
  private streamOf(cluster: ClusterRecord, id: string, from: AgentConnection): Stream | undefined {
    const stream = this.streams.get(id);
    return stream?.uuid === cluster.cluster_uuid && stream.connection === from ? stream : undefined;
  }

  private toAgent<T extends InboundType>(stream: Stream, type: T, payload: InboundPayloads[T], id: string): boolean {
    return this.cp.sendOn(stream.connection, type, payload, id);
  }

  /** The agent broke the stream's protocol: the stream ends on both sides, and the log says why. */
  private breakStream(stream: Stream, id: string, problem: string): void {
    this.logger.warn('closed a WebSocket stream the cluster broke', { controller: 'gateway', cluster: stream.uuid, request_id: id, err: problem });
    if (!this.end(id)) return;
    this.toAgent(stream, 'ws_close', { code: BROKEN_STREAM, reason: closeReasonToSend(problem) }, id);
    if (stream.client) stream.client.terminate();
    else this.reject(stream.socket, 502, `the cluster broke the stream: ${problem}`);
  }

  /** Forgets a stream; true when it was still open. */
  private end(id: string): boolean {
    const stream = this.streams.get(id);
    if (!stream) return false;
    clearTimeout(stream.timer);
    stream.connection.inFlight--;
    return this.streams.delete(id);
  }

  private reject(socket: Duplex, status: number, error: string, details: Record<string, unknown> = {}): void {
    if (socket.destroyed) return;
    const body = JSON.stringify({ error, ...details });
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }

  /** The agent socket closed: its streams end now (1011 for an open one, 502 for an upgrade still waiting). */
  agentSocketClosed(socket: WebSocket): void {
    for (const [id, stream] of [...this.streams]) {
      if (stream.connection.socket !== socket) continue;
      this.end(id);
      if (stream.client) stream.client.close(1011, "the cluster's connection closed");
      else this.reject(stream.socket, 502, "the cluster's connection closed before the stream opened");
    }
  }

  closeAll(): void {
    for (const [id, stream] of this.streams) {
      this.end(id);
      if (stream.client) stream.client.terminate();
      else stream.socket.destroy();
    }
  }
}

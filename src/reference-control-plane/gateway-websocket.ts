// The gateway's side of WebSocket streams: an upgrade request on a served host is offered to the cluster's
// agent as ws_open; once the agent has the backend's WebSocket open (ws_opened, with the subprotocol the
// backend chose) the client's upgrade completes and messages flow both ways as ws_message, a close on either
// side is passed on as ws_close, and ws_flow pauses the side that writes faster than the other reads.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket } from 'ws';
import { bytesOf, envelope } from '../controlplane/protocol.js';
import { closeCodeToSend, closeReasonToSend, offeredProtocols, upgradeHeaders } from '../tunnel/websocket-translate.js';
import { sendHeld, type Backlog } from '../tunnel/websocket.js';
import type { ReferenceControlPlane } from './server.js';
import type { ClusterRecord } from './store.js';

const HIGH_WATER_MARK = 1024 * 1024;

interface Stream {
  uuid: string;
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
  timer?: NodeJS.Timeout;
  client?: WebSocket;
  /** Towards the client; holding: the agent was asked to pause the backend. */
  backlog: Backlog;
}

export class GatewayWebSockets {
  private readonly streams = new Map<string, Stream>();
  private readonly wss: WebSocketServer;

  constructor(
    private readonly cp: ReferenceControlPlane,
    private readonly owner: (host: string) => ClusterRecord | undefined,
    private readonly openTimeoutMs = 10_000,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: 16 * 1024 * 1024,
      // The backend chose (ws_opened); the client gets exactly that one.
      handleProtocols: (_offered, req) => (req as IncomingMessage & { chosenProtocol?: string }).chosenProtocol || false,
    });
    const on = (type: string, handle: (stream: Stream, id: string, payload: Record<string, unknown>) => void): void =>
      void cp.agentMessageHandlers.set(type, (_cluster, message) => {
        const id = message.request_id ?? '';
        const stream = this.streams.get(id);
        if (stream) handle(stream, id, message.payload);
      });
    on('ws_opened', (stream, id, payload) => this.opened(stream, id, String(payload.protocol ?? '')));
    on('ws_error', (stream, id, payload) => {
      this.end(id);
      this.reject(stream.socket, Number(payload.status) || 502, String(payload.error ?? 'refused'));
    });
    on('ws_message', (stream, id, payload) => this.toClient(stream, id, bytesOf((payload.data ?? '') as string | Buffer), payload.binary === true));
    on('ws_close', (stream, id, payload) => {
      this.end(id);
      const code = closeCodeToSend(payload.code as number | undefined);
      stream.client?.close(code, code === undefined ? undefined : closeReasonToSend(payload.reason as string | undefined));
    });
    on('ws_flow', (stream, _id, payload) => (payload.paused ? stream.client?.pause() : stream.client?.resume()));
  }

  get open(): number {
    return this.streams.size;
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const host = req.headers.host ?? '';
    const cluster = this.owner(host);
    if (!cluster) return this.reject(socket, 404, `unknown host ${host}`);
    const uuid = cluster.cluster_uuid;
    const url = new URL(req.url ?? '/', 'http://gateway');
    const id = randomUUID();
    const stream: Stream = { uuid, req, socket, head, backlog: { queued: 0, holding: false } };
    const payload = {
      path: url.pathname,
      query: url.search.slice(1),
      headers: upgradeHeaders(req.headers),
      host,
      protocols: offeredProtocols(req.headers['sec-websocket-protocol']),
    };
    this.streams.set(id, stream);
    socket.on('error', () => this.end(id));
    socket.on('close', () => {
      if (!stream.client && this.end(id)) this.send(uuid, 'ws_close', {}, id); // gone before the upgrade completed
    });
    if (!this.send(uuid, 'ws_open', payload, id)) {
      this.end(id);
      return this.reject(socket, 502, `cluster ${cluster.name} is not connected`);
    }
    stream.timer = setTimeout(() => {
      if (stream.client || !this.end(id)) return;
      this.send(uuid, 'ws_close', {}, id);
      this.reject(socket, 504, 'the cluster did not open the stream in time');
    }, this.openTimeoutMs);
  }

  private opened(stream: Stream, id: string, protocol: string): void {
    clearTimeout(stream.timer);
    (stream.req as IncomingMessage & { chosenProtocol?: string }).chosenProtocol = protocol;
    this.wss.handleUpgrade(stream.req, stream.socket, stream.head, (client) => {
      if (this.streams.get(id) !== stream) return void client.terminate();
      stream.client = client;
      client.on('message', (data, isBinary) => {
        const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
        this.cp.sendBody(stream.uuid, isBinary ? 'ws_message_binary' : 'ws_message_text', id, bytes);
        // The agent's socket is backed up: read nothing more from this client until it drains.
        const agent = this.cp.socketOf(stream.uuid);
        if (agent && agent.bufferedAmount > HIGH_WATER_MARK) {
          client.pause();
          const resume = setInterval(() => {
            if (this.streams.get(id) !== stream || (this.cp.socketOf(stream.uuid)?.bufferedAmount ?? 0) <= HIGH_WATER_MARK) {
              clearInterval(resume);
              client.resume();
            }
          }, 5);
        }
      });
      client.on('close', (code, reason) => {
        if (this.end(id)) this.send(stream.uuid, 'ws_close', { code, reason: reason.toString() }, id);
      });
      client.on('error', () => undefined);
    });
  }

  private toClient(stream: Stream, id: string, data: Buffer, binary: boolean): void {
    const client = stream.client;
    if (!client || client.readyState !== WebSocket.OPEN) return;
    // The client reads slower than the backend writes: hold the backend.
    const hold = (paused: boolean): boolean => this.send(stream.uuid, 'ws_flow', { paused }, id);
    sendHeld(client, data, binary, { backlog: stream.backlog, highWaterMark: HIGH_WATER_MARK, hold, current: () => this.streams.get(id) === stream });
  }

  /** Forgets a stream; true when it was still open. */
  private end(id: string): boolean {
    const stream = this.streams.get(id);
    if (!stream) return false;
    clearTimeout(stream.timer);
    return this.streams.delete(id);
  }

  private send(uuid: string, type: string, payload: unknown, id: string): boolean {
    return this.cp.sendRaw(uuid, JSON.stringify(envelope(type, payload, id)));
  }

  private reject(socket: Duplex, status: number, error: string): void {
    if (socket.destroyed) return;
    const body = JSON.stringify({ error });
    socket.end(`HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }

  closeAll(): void {
    for (const [id, stream] of this.streams) {
      this.end(id);
      if (stream.client) stream.client.terminate();
      else stream.socket.destroy();
    }
  }
}

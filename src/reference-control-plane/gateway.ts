// The gateway side of the reference control plane: takes an HTTP request, finds the cluster that serves
// its Host, sends proxy_request through that cluster's socket (the agent matches the path itself), streams
// the request body after it as proxy_request_chunk … proxy_request_end, and streams the answer back.
// 404 for a host no cluster serves, 502 when the cluster is disconnected, 504 on timeout. WebSocket
// upgrades go through as streams (gateway-websocket.ts).
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bytesOf, envelope } from '../controlplane/protocol.js';
import { hostRank } from '../routing/match.js';
import { stripHopByHop } from '../tunnel/headers.js';
import type { ReferenceControlPlane } from './server.js';
import type { ClusterRecord } from './store.js';
import { GatewayWebSockets } from './gateway-websocket.js';

const MAX_BODY = 100 * 1024 * 1024;
/** Past this many bytes buffered towards the agent (or a client), the sender is held. */
const HIGH_WATER_MARK = 1024 * 1024;

interface Exchange {
  uuid: string;
  res: ServerResponse;
  timer: NodeJS.Timeout;
  /** The agent asked to hold the request body (its backend reads slower). */
  paused: boolean;
  resume?: () => void;
  /** The agent was asked to hold the response body (the client reads slower). */
  pausedAgent: boolean;
}

export class Gateway {
  private readonly server: Server;
  private readonly exchanges = new Map<string, Exchange>();

  constructor(private readonly cp: ReferenceControlPlane, private readonly timeoutMs = 130_000) {
    this.server = createServer((req, res) => void this.serve(req, res));
    const reply = (type: string) => (_cluster: ClusterRecord, message: { request_id?: string; payload: Record<string, unknown> }) =>
      this.onReply(type, message.request_id ?? '', message.payload);
    for (const type of ['proxy_response', 'proxy_error', 'proxy_response_header', 'proxy_response_chunk', 'proxy_response_end', 'proxy_flow']) {
      cp.agentMessageHandlers.set(type, reply(type));
    }
    this.websockets = new GatewayWebSockets(cp, (host) => this.owner(host)?.cluster);
    this.server.on('upgrade', (req, socket, head) => this.websockets.upgrade(req, socket, head));
  }

  /** WebSocket streams passed through to clusters. */
  readonly websockets: GatewayWebSockets;

  async listen(port = 0, host = '127.0.0.1'): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(port, host, resolve));
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.websockets.closeAll();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Counts proxy_request_chunk frames sent (tests check that bodies are streamed, not buffered). */
  requestChunksSent = 0;
  /** The most body bytes held here at once, towards a client or the agent (tests check it stays bounded). */
  peakBacklogBytes = 0;

  private owner(host: string): { cluster: ClusterRecord } | undefined {
    for (const cluster of this.cp.store.clusters()) {
      for (const route of cluster.routes.values()) if (hostRank(route.host, host) > 0) return { cluster };
    }
    return undefined;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const json = (status: number, error: string): void => {
      if (res.headersSent) return void res.destroy();
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error }));
    };
    const host = req.headers.host ?? '';
    const url = new URL(req.url ?? '/', 'http://gateway');
    const owner = this.owner(host);
    if (!owner) return json(404, `unknown host ${host}`);
    const uuid = owner.cluster.cluster_uuid;
    if (!this.cp.socketOf(uuid)) return json(502, `cluster ${owner.cluster.name} is not connected`);
    const id = randomUUID();
    const chunked = /chunked/i.test(String(req.headers['transfer-encoding'] ?? ''));
    const hasBody = chunked || Number(req.headers['content-length'] ?? 0) > 0;
    const headers = stripHopByHop(req.headers);
    // Hop-by-hop, but it tells the agent that a chunked body follows this frame.
    if (chunked) headers['transfer-encoding'] = 'chunked';
    const payload: Record<string, unknown> = { method: req.method ?? 'GET', path: url.pathname, query: url.search.slice(1), headers, host };
    const send = (type: string, body: unknown = {}): boolean => this.cp.sendRaw(uuid, JSON.stringify(envelope(type, body, id)));
    /** Ends the exchange from this side; true when it was still open. */
    const abandon = (): boolean => {
      clearTimeout(timer);
      this.exchanges.get(id)?.resume?.();
      return this.exchanges.delete(id);
    };
    const timer = setTimeout(() => {
      abandon();
      send('proxy_cancel');
      json(504, 'the cluster did not answer in time');
    }, this.timeoutMs);
    const exchange: Exchange = { uuid, res, timer, paused: false, pausedAgent: false };
    this.exchanges.set(id, exchange);
    res.on('close', () => {
      if (abandon()) send('proxy_cancel'); // the client went away
    });
    if (!send('proxy_request', payload)) {
      abandon();
      return json(502, `cluster ${owner.cluster.name} is not connected`);
    }
    if (!hasBody) return;
    // The body follows as it arrives, never buffered whole.
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      // Held while the agent's backend drains, or while the agent's socket is backed up.
      while (exchange.paused && this.exchanges.has(id)) await new Promise<void>((resolve) => (exchange.resume = resolve));
      while ((this.cp.socketOf(uuid)?.bufferedAmount ?? 0) > HIGH_WATER_MARK && this.exchanges.has(id)) await new Promise((r) => setTimeout(r, 2));
      if (!this.exchanges.has(id)) return; // answered or cancelled meanwhile
      size += chunk.length;
      if (size > MAX_BODY) {
        abandon();
        send('proxy_cancel');
        return json(413, `request body over ${MAX_BODY} bytes`);
      }
      this.cp.sendBody(uuid, 'proxy_request_chunk', id, chunk);
      this.requestChunksSent++;
      this.peakBacklogBytes = Math.max(this.peakBacklogBytes, this.cp.socketOf(uuid)?.bufferedAmount ?? 0);
    }
    send('proxy_request_end');
  }

  private onReply(type: string, id: string, payload: Record<string, unknown>): void {
    const exchange = this.exchanges.get(id);
    if (!exchange) return;
    const { res } = exchange;
    const done = (): void => {
      clearTimeout(exchange.timer);
      exchange.resume?.();
      this.exchanges.delete(id);
    };
    switch (type) {
      case 'proxy_flow':
        exchange.paused = payload.paused === true;
        if (!exchange.paused) exchange.resume?.();
        return;
      case 'proxy_response':
        done();
        res.writeHead(Number(payload.status) || 502, (payload.headers ?? {}) as Record<string, string>);
        res.end(Buffer.from(String(payload.body ?? ''), 'base64'));
        return;
      case 'proxy_error':
        done();
        if (res.headersSent) return void res.destroy();
        res.writeHead(Number(payload.status) || 502, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: payload.error }));
        return;
      case 'proxy_response_header':
        res.writeHead(Number(payload.status) || 502, (payload.headers ?? {}) as Record<string, string>);
        return;
      case 'proxy_response_chunk': {
        res.write(bytesOf((payload.data ?? '') as string | Buffer));
        this.peakBacklogBytes = Math.max(this.peakBacklogBytes, res.writableLength);
        // Held only past a high-water mark: pausing at every full 16 KiB buffer would stall a fast client.
        if (res.writableLength > HIGH_WATER_MARK && !exchange.pausedAgent) {
          // The client reads slower than the backend writes: hold the agent until it drains.
          exchange.pausedAgent = true;
          this.cp.sendRaw(exchange.uuid, JSON.stringify(envelope('proxy_flow', { paused: true }, id)));
          res.once('drain', () => {
            exchange.pausedAgent = false;
            if (this.exchanges.get(id) === exchange) this.cp.sendRaw(exchange.uuid, JSON.stringify(envelope('proxy_flow', { paused: false }, id)));
          });
        }
        return;
      }
      case 'proxy_response_end':
        done();
        res.end();
        return;
    }
  }
}

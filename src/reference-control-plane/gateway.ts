// The gateway side of the reference control plane: takes an HTTP request, finds the cluster that owns
// its Host + path in the route store, sends proxy_request through that cluster's socket and streams the
// answer back. 404 for an unknown host, 502 when the owning cluster is disconnected, 504 on timeout.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { envelope } from '../controlplane/protocol.js';
import { matchRoute } from '../routing/match.js';
import { stripHopByHop } from '../tunnel/headers.js';
import type { ReferenceControlPlane } from './server.js';
import type { ClusterRecord } from './store.js';

const MAX_BODY = 10 * 1024 * 1024;

interface Exchange {
  res: ServerResponse;
  timer: NodeJS.Timeout;
}

export class Gateway {
  private readonly server: Server;
  private readonly exchanges = new Map<string, Exchange>();

  constructor(private readonly cp: ReferenceControlPlane, private readonly timeoutMs = 130_000) {
    this.server = createServer((req, res) => void this.serve(req, res));
    const reply = (type: string) => (_cluster: ClusterRecord, message: { request_id?: string; payload: Record<string, unknown> }) =>
      this.onReply(type, message.request_id ?? '', message.payload);
    for (const type of ['proxy_response', 'proxy_error', 'proxy_response_header', 'proxy_response_chunk', 'proxy_response_end']) {
      cp.agentMessageHandlers.set(type, reply(type));
    }
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(port, host, resolve));
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private owner(host: string, path: string): { cluster: ClusterRecord } | undefined {
    for (const cluster of this.cp.store.clusters()) {
      if (matchRoute([...cluster.routes.values()], host, path)) return { cluster };
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
    const owner = this.owner(host, url.pathname);
    if (!owner) return json(404, `no route for ${host}${url.pathname}`);
    if (!this.cp.socketOf(owner.cluster.cluster_uuid)) return json(502, `cluster ${owner.cluster.name} is not connected`);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY) return json(413, `request body over ${MAX_BODY} bytes`);
      chunks.push(chunk);
    }
    const id = randomUUID();
    const payload: Record<string, unknown> = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.search.slice(1),
      headers: stripHopByHop(req.headers),
      host,
    };
    if (size > 0) payload.body = Buffer.concat(chunks).toString('base64');
    const timer = setTimeout(() => {
      this.exchanges.delete(id);
      this.cp.sendRaw(owner.cluster.cluster_uuid, JSON.stringify(envelope('proxy_cancel', {}, id)));
      json(504, 'the cluster did not answer in time');
    }, this.timeoutMs);
    this.exchanges.set(id, { res, timer });
    res.on('close', () => {
      if (this.exchanges.delete(id)) {
        clearTimeout(timer);
        this.cp.sendRaw(owner.cluster.cluster_uuid, JSON.stringify(envelope('proxy_cancel', {}, id))); // the client went away
      }
    });
    if (!this.cp.sendRaw(owner.cluster.cluster_uuid, JSON.stringify(envelope('proxy_request', payload, id)))) {
      this.exchanges.delete(id);
      clearTimeout(timer);
      json(502, `cluster ${owner.cluster.name} is not connected`);
    }
  }

  private onReply(type: string, id: string, payload: Record<string, unknown>): void {
    const exchange = this.exchanges.get(id);
    if (!exchange) return;
    const { res } = exchange;
    const done = (): void => {
      clearTimeout(exchange.timer);
      this.exchanges.delete(id);
    };
    switch (type) {
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
      case 'proxy_response_chunk':
        res.write(Buffer.from(String(payload.data ?? ''), 'base64'));
        return;
      case 'proxy_response_end':
        done();
        res.end();
        return;
    }
  }
}

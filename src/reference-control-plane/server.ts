// The reference control plane: the protocol's other end for local runs, the demo and the tests. It
// accepts agent sockets on /api/v1/clusters/agent/ws, validates every frame strictly, keeps routes per
// cluster, acknowledges route messages, and serves the admin API. Test hooks drop sockets and inject frames.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';
import {
  AGENT_WS_PATH,
  checkFields,
  envelope,
  isArray,
  isBool,
  isNumber,
  isObject,
  isRoutingMode,
  isString,
  nonEmptyString,
  optional,
  parseFrame,
  type Schema,
} from '../controlplane/protocol.js';
import type { Logger } from '../log.js';
import { RouteStore, type ClusterRecord } from './store.js';

export interface ReceivedMessage {
  cluster?: string;
  type: string;
  request_id?: string;
  payload: Record<string, unknown>;
  at: number;
}

export interface ReferenceControlPlaneOptions {
  port?: number;
  host?: string;
  token?: string;
  allowCatchAll?: boolean;
  maxFrameBytes?: number;
  logger: Logger;
}

const AGENT_SCHEMAS = {
  register: { agent_id: nonEmptyString, cluster_name: nonEmptyString, cluster_id: optional(isString), agent_version: isString, k8s_version: isString, features: isObject, metadata: isObject },
  heartbeat: { cluster_id: nonEmptyString, agent_id: nonEmptyString, status: (v: unknown) => v === 'healthy' || v === 'degraded', tunnel_status: isString, metadata: isObject },
  routes_sync: { cluster_uuid: nonEmptyString, revision: isNumber, routing_mode: isRoutingMode, public_endpoint: optional(isString), routes: isArray },
  ingress_routes: { cluster_uuid: nonEmptyString, revision: isNumber, action: (v: unknown) => v === 'add' || v === 'update' || v === 'delete', routes: isArray, gateway_route: optional(isString) },
  pong: {},
  error: { code: isString },
  proxy_response: {},
  proxy_error: {},
  proxy_response_header: {},
  proxy_response_chunk: {},
  proxy_response_end: {},
};

const HEARTBEAT_METADATA: Schema = { is_private: isBool, routing_mode: isRoutingMode, gateway_routes: isNumber, k8s_version: isString, agent_version: isString };

interface AgentSocket {
  socket: WebSocket;
  cluster?: ClusterRecord;
}

export class ReferenceControlPlane {
  readonly store: RouteStore;
  readonly received: ReceivedMessage[] = [];
  /** Handshakes refused for a wrong token (tests count redials with it). */
  refusedHandshakes = 0;
  /** Test hook: apply route messages but send no routes_ack (a slow or stuck control plane). */
  withholdAcks = false;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly agents = new Set<AgentSocket>();
  private readonly listeners = new Set<(m: ReceivedMessage) => void>();
  /** Extra handlers for message types this module does not own (the gateway's proxy replies). */
  readonly agentMessageHandlers = new Map<string, (cluster: ClusterRecord, message: { request_id?: string; payload: Record<string, unknown> }) => void>();

  constructor(private readonly options: ReferenceControlPlaneOptions) {
    this.store = new RouteStore(options.allowCatchAll ?? false);
    this.wss = new WebSocketServer({ noServer: true, maxPayload: options.maxFrameBytes ?? 16 * 1024 * 1024, perMessageDeflate: false });
    this.http = createServer((req, res) => this.admin(req, res));
    this.http.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== AGENT_WS_PATH) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        return;
      }
      if (this.options.token && req.headers.authorization !== `Bearer ${this.options.token}`) {
        this.refusedHandshakes++;
        socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.http.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', resolve));
    return (this.http.address() as AddressInfo).port;
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const agent of this.agents) agent.socket.terminate();
    this.wss.close();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  onMessage(listener: (m: ReceivedMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Test hook: drops the sockets of one cluster (by uuid), or all. */
  dropConnections(clusterUuid?: string): number {
    let dropped = 0;
    for (const agent of this.agents) {
      if (!clusterUuid || agent.cluster?.cluster_uuid === clusterUuid) {
        agent.socket.terminate();
        dropped++;
      }
    }
    return dropped;
  }

  /** Test hook and gateway use: sends a raw text frame to a cluster's socket. */
  sendRaw(clusterUuid: string, text: string): boolean {
    for (const agent of this.agents) {
      if (agent.cluster?.cluster_uuid === clusterUuid && agent.socket.readyState === WebSocket.OPEN) {
        agent.socket.send(text);
        return true;
      }
    }
    return false;
  }

  /** The socket of a connected cluster, for the gateway's backpressure checks. */
  socketOf(clusterUuid: string): WebSocket | undefined {
    for (const agent of this.agents) if (agent.cluster?.cluster_uuid === clusterUuid && agent.socket.readyState === WebSocket.OPEN) return agent.socket;
    return undefined;
  }

  private accept(socket: WebSocket): void {
    const agent: AgentSocket = { socket };
    this.agents.add(agent);
    socket.on('message', (data, isBinary) => this.onFrame(agent, isBinary ? '' : data.toString()));
    socket.on('close', () => {
      this.agents.delete(agent);
      if (agent.cluster && ![...this.agents].some((a) => a.cluster === agent.cluster)) agent.cluster.connected = false;
    });
    socket.on('error', () => undefined);
  }

  private reply(agent: AgentSocket, type: string, payload: unknown, requestId?: string): void {
    if (agent.socket.readyState === WebSocket.OPEN) agent.socket.send(JSON.stringify(envelope(type, payload, requestId)));
  }

  private refuse(agent: AgentSocket, code: string, message: string, requestId?: string, type?: string): void {
    this.options.logger.warn('rejected an agent frame', { controller: 'reference-control-plane', code, err: message, cluster: agent.cluster?.name, type });
    this.reply(agent, 'error', { code, message, ...(type ? { type } : {}) }, requestId);
  }

  private onFrame(agent: AgentSocket, text: string): void {
    const parsed = parseFrame<{ type: string; request_id?: string; payload: Record<string, unknown> }>(text, AGENT_SCHEMAS);
    if (!parsed.ok) {
      this.refuse(agent, parsed.code, parsed.error, parsed.requestId, parsed.type);
      return;
    }
    const { type, payload, request_id: requestId } = parsed.message;
    const received: ReceivedMessage = { cluster: agent.cluster?.cluster_uuid, type, payload, at: Date.now() };
    if (requestId !== undefined) received.request_id = requestId;
    this.received.push(received);
    if (this.received.length > 50_000) this.received.splice(0, 10_000);
    for (const listener of this.listeners) listener(received);

    if (type === 'register') {
      const cluster = this.store.register(payload.cluster_name as string, payload.cluster_id as string | undefined);
      // The newest socket of a cluster wins; an older one is closed.
      for (const other of this.agents) if (other !== agent && other.cluster === cluster) other.socket.close(4000, 'replaced by a newer connection');
      agent.cluster = cluster;
      cluster.connected = true;
      received.cluster = cluster.cluster_uuid;
      this.reply(agent, 'register_success', { cluster_id: cluster.cluster_id, cluster_uuid: cluster.cluster_uuid }, requestId);
      return;
    }
    const cluster = agent.cluster;
    if (!cluster) {
      if (type !== 'pong' && type !== 'error') this.refuse(agent, 'not_registered', `${type} before register`, requestId, type);
      return;
    }
    switch (type) {
      case 'heartbeat': {
        const problem = checkFields(payload.metadata, HEARTBEAT_METADATA, 'heartbeat.metadata');
        if (problem || payload.cluster_id !== cluster.cluster_id) {
          this.refuse(agent, 'bad_payload', problem ?? `cluster_id ${String(payload.cluster_id)} is not this socket's cluster`, requestId, type);
          return;
        }
        const metadata = payload.metadata as { is_private: boolean; routing_mode: string; public_endpoint?: string };
        cluster.last_heartbeat = new Date().toISOString();
        cluster.is_private = metadata.is_private;
        cluster.routing_mode = metadata.routing_mode;
        this.reply(agent, 'heartbeat_ack', {}, requestId);
        return;
      }
      case 'routes_sync':
      case 'ingress_routes': {
        if (payload.cluster_uuid !== cluster.cluster_uuid) {
          this.refuse(agent, 'bad_payload', `cluster_uuid ${String(payload.cluster_uuid)} is not this socket's cluster`, requestId, type);
          return;
        }
        const revision = payload.revision as number;
        if (revision <= cluster.lastRevision) {
          this.refuse(agent, 'stale_revision', `revision ${revision} is not above ${cluster.lastRevision}`, requestId, type);
          return;
        }
        cluster.lastRevision = revision;
        const routes = payload.routes as unknown[];
        const result =
          type === 'routes_sync'
            ? this.store.replaceAll(cluster, routes)
            : this.store.applyChange(cluster, payload.action as string, payload.gateway_route as string | undefined, routes);
        if (type === 'routes_sync') cluster.routing_mode = payload.routing_mode as string;
        if (!this.withholdAcks) this.reply(agent, 'routes_ack', { revision, ...result }, requestId);
        return;
      }
      case 'pong':
        return;
      case 'error':
        this.options.logger.warn('agent reported an error', { controller: 'reference-control-plane', cluster: cluster.name, code: payload.code, detail: payload.message });
        return;
      default: {
        const handler = this.agentMessageHandlers.get(type);
        if (handler) handler(cluster, { request_id: requestId, payload });
      }
    }
  }

  private admin(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (this.options.token && req.headers.authorization !== `Bearer ${this.options.token}` && url.pathname !== '/healthz') {
      send(401, { error: 'unauthorized' });
      return;
    }
    const routesMatch = /^\/api\/v1\/gateway\/routes\/cluster\/([^/]+)$/.exec(url.pathname);
    const dropMatch = /^\/api\/v1\/test\/clusters\/([^/]+)\/drop$/.exec(url.pathname);
    if (req.method === 'GET' && url.pathname === '/healthz') return send(200, { status: 'ok' });
    if (req.method === 'GET' && url.pathname === '/api/v1/clusters') {
      return send(200, {
        clusters: this.store.clusters().map((c) => ({
          cluster_id: c.cluster_id,
          cluster_uuid: c.cluster_uuid,
          name: c.name,
          connected: c.connected,
          last_heartbeat: c.last_heartbeat,
          is_private: c.is_private,
          routing_mode: c.routing_mode,
        })),
      });
    }
    if (req.method === 'GET' && routesMatch) {
      const cluster = this.store.cluster(decodeURIComponent(routesMatch[1] as string));
      if (!cluster) return send(404, { error: 'unknown cluster' });
      return send(200, { routes: [...cluster.routes.values()].sort((a, b) => a.key.localeCompare(b.key, 'en')) });
    }
    if (req.method === 'POST' && dropMatch) {
      const target = decodeURIComponent(dropMatch[1] as string);
      return send(200, { dropped: this.dropConnections(target === 'all' ? undefined : target) });
    }
    send(404, { error: `no such endpoint: ${req.method} ${url.pathname}` });
  }
}

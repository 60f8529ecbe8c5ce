// The reference control plane: the protocol's other end (versions 2 and 3, docs/protocol.md) for local runs,
// the demo and the tests. It accepts agent sockets on /api/v1/clusters/agent/ws (many per cluster: one per
// replica, one of them the cluster's route-sync connection; connections.ts), validates every frame
// strictly, keeps routes per cluster, answers every route message by its request_id (routes_ack or
// routes_nack), and serves the admin API. Test hooks drop sockets, inject frames, delay or refuse answers.
// With a secret (`token`), the admin API takes only the secret and each agent only the token bound to its
// cluster name (credentials.ts); without one everything is open, for local runs.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { constants as http2Constants, Http2ServerResponse } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket } from 'ws';
import {
  AGENT_WS_PATH,
  bodyMessage,
  checkFields,
  decodeBinaryFrame,
  encodeBinaryFrame,
  envelope,
  HEARTBEAT_METADATA_SCHEMA,
  invalidMeta,
  isArray,
  isRouteMessage,
  isRouteMessageType,
  OUTBOUND_SCHEMAS,
  parseFrame,
  SERVED_PROTOCOL_VERSIONS,
  type BinaryKind,
  type ConnectionRole,
  type GatewayAddress,
  type InboundPayloads,
  type InboundType,
  type OutboundMessage,
  type RegisterPayload,
  type RouteMessage,
  type RoutesNackPayload,
} from '../controlplane/protocol.js';
import type { Logger } from '../log.js';
import { decodePathSegment } from '../routing/request-path.js';
import {
  DEFAULT_AGENT_DEAD_AFTER_MS,
  DEFAULT_AGENT_PING_INTERVAL_MS,
  DEFAULT_MAX_CLUSTER_CONNECTIONS,
  negotiateVersion,
  pickConnection,
} from './connections.js';
import { agentToken, bearerToken, secretMatches, verifyAgentToken } from './credentials.js';
import { RouteStore, type ApplyResult, type ClusterRecord, type ReceivedGatewayRoute } from './store.js';

export interface ReceivedMessage {
  /** Position among all messages ever received (see receivedCount, receivedSince). */
  seq: number;
  cluster?: string;
  type: string;
  request_id?: string;
  /** As received, except bodies: a body or stream message is kept as its size in bytes (see withoutBodies). */
  payload: Record<string, unknown>;
  at: number;
  /** Size of the frame, for tests of frame budgets. */
  bytes: number;
}

export interface ReferenceControlPlaneOptions {
  port?: number;
  host?: string;
  /** The admin secret: the admin API takes only it; agents take tokens derived from it (agentToken). */
  token?: string;
  allowCatchAll?: boolean;
  maxFrameBytes?: number;
  /**
   * How long a disconnected cluster keeps its routes and host + path claims (its hosts answer 503 meanwhile,
   * unless a connected cluster takes them over); then they are released and its hosts answer 404. Default 300 s.
   */
  disconnectedGraceMs?: number;
  /** The most routes one snapshot may carry (default 100,000); past it the snapshot is refused. */
  maxSnapshotRoutes?: number;
  /** The most bytes of chunk frames one snapshot may carry (default 64 MiB); past it the snapshot is refused. */
  maxSnapshotBytes?: number;
  /** The most clusters one credential may create (default 64); past it a registration is `too_many_clusters`. */
  maxClustersPerCredential?: number;
  /** Where the gateway is reached, told to agents in register_success (their Ingresses show it); none: not told. */
  gatewayAddress?: GatewayAddress;
  /** How often each agent socket is pinged (default 2 s). */
  agentPingIntervalMs?: number;
  /** An agent socket with no frame and no pong for this long is terminated (default 6 s). */
  agentDeadAfterMs?: number;
  /** The most connections one cluster may hold (default 64); past it a register is `too_many_connections`. */
  maxConnectionsPerCluster?: number;
  logger: Logger;
}

export const DEFAULT_DISCONNECTED_GRACE_MS = 300_000;

/** How many received messages are kept for tests: the newest ones. */
const RECEIVED_KEPT = 5_000;
/** How many bytes of frames the received messages kept may stand for (bodies are left out, but not other fields). */
export const RECEIVED_KEPT_BYTES = 32 * 1024 * 1024;
export const DEFAULT_MAX_SNAPSHOT_ROUTES = 100_000;
export const DEFAULT_MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024;

/**
 * Drops the oldest of `received` (whose frames add up to `bytes`) once it holds more than `count` messages
 * (with a tenth more of slack, so it is trimmed in steps) or more than `maxBytes`; returns the bytes kept.
 */
export function trimReceived(received: ReceivedMessage[], bytes: number, count = RECEIVED_KEPT, maxBytes = RECEIVED_KEPT_BYTES): number {
  if (received.length <= count + count / 10 && bytes <= maxBytes) return bytes;
  let drop = Math.max(0, received.length - count);
  let kept = bytes;
  for (let i = 0; i < drop; i++) kept -= received[i]!.bytes;
  // Down to nine tenths of the byte cap, so a steady stream of large frames is trimmed in steps too.
  while (kept > (maxBytes * 9) / 10 && drop < received.length - 1) kept -= received[drop++]!.bytes;
  received.splice(0, drop);
  return kept;
}
/** The field that holds the bytes of a body or stream message, per message type. */
const BODY_FIELDS: Record<string, string> = { proxy_response: 'body', proxy_response_chunk: 'data', proxy_request_chunk: 'data', ws_message: 'data' };

/** A payload as kept in `received`: a body (base64 text or bytes) is replaced by its size, `<field>_bytes`. */
export function withoutBodies(type: string, payload: Record<string, unknown>): Record<string, unknown> {
  const field = BODY_FIELDS[type];
  if (!field || !(field in payload)) return payload;
  const { [field]: body, ...rest } = payload;
  const bytes = typeof body === 'string' ? Buffer.byteLength(body, 'base64') : Buffer.isBuffer(body) ? body.length : 0;
  return { ...rest, [`${field}_bytes`]: bytes };
}

/** One agent socket: a replica's connection to this control plane. */
export interface AgentConnection {
  socket: WebSocket;
  /** Bodies and WebSocket data go as binary frames (the agent offered them and this control plane agreed). */
  binary?: boolean;
  /** Response trailers come with proxy_response_end, and requests carry `TE: trailers` (both ends agreed). */
  trailers?: boolean;
  /** What the cluster's identity is bound to: the verified cluster name, or (no secret) the bearer token, as a digest. */
  credential: string;
  /** The cluster name this socket's token is bound to; undefined when agents are not authenticated. */
  boundName?: string;
  cluster?: ClusterRecord;
  /** A snapshot being received: applied at its end, all at once. */
  snapshot?: { requestId?: string; revision: number; routingMode: string; publicEndpoint?: string; parts: ReceivedGatewayRoute[]; chunks: number; routes: number; bytes: number };
  /** The protocol version agreed at register. */
  version?: number;
  /** Registered: a tunnel connection, or the cluster's one route-sync connection (which carries traffic too). */
  role?: ConnectionRole;
  /** The register's agent_id (the replica), for the admin API and tests. */
  agentId?: string;
  /** The agent said drain: no new request or stream goes to it. */
  draining: boolean;
  /** When it registered, as a sequence number: balancing breaks ties by it. */
  order: number;
  /** Requests and streams the gateway has on it now (the gateway counts them). */
  inFlight: number;
  /** When it last sent a frame or a pong: silent too long, it is taken as dead. */
  lastFrameAt: number;
  /** pauseReading(): its silence is ours (its frames wait unread), so it is not taken as dead meanwhile. */
  readingPaused?: boolean;
  lastPingAt: number;
  /** The `connections` counts this sync connection was last told, so that only changes are sent. */
  told?: string;
}

/** A connection as the admin API shows it. */
export interface ConnectionView {
  agent_id: string;
  role: ConnectionRole;
  draining: boolean;
  in_flight: number;
}

/** What a test hook may answer instead of an acknowledgement. */
export type Refusal = Pick<RoutesNackPayload, 'code' | 'message' | 'retryable'>;

/** A gateway reply (proxy_*, ws_*) refused at parse time: its exchange can be failed at once. */
export interface RefusedReply {
  type: string;
  requestId: string;
  problem: string;
}

type Authentication = { ok: true; credential: string; boundName?: string } | { ok: false };

const digest = (value: string): string => createHash('sha256').update(value).digest('hex');

export class ReferenceControlPlane {
  readonly store: RouteStore;
  /** The newest messages received (about RECEIVED_KEPT), without bodies. */
  readonly received: ReceivedMessage[] = [];
  /** How many messages were received in all: a mark for receivedSince (older ones leave `received`). */
  receivedCount = 0;
  /** The frame sizes of the messages in `received`, added up (bounded by RECEIVED_KEPT_BYTES). */
  private receivedBytes = 0;
  /** Handshakes refused for a missing or wrong agent token (tests count redials with it). */
  refusedHandshakes = 0;
  /** Test hook: answer route messages this much later (a slow control plane); 0 answers at once. */
  answerDelayMs = 0;
  /** Test hook: refuse (NACK) the route messages for which this returns a refusal; nothing of them is applied. */
  refuseRouteMessage?: (type: string, payload: Record<string, unknown>) => Refusal | undefined;
  /** Test hook: refuse binary frames (an older control plane): bodies then travel as base64 in JSON. */
  binaryFrames = true;
  /** Test hook: refuse trailers (an older control plane): agents then send none, and no `TE: trailers` reaches them. */
  trailers = true;
  /** Test hook: leave max_frame_bytes out of register_success (a peer that only enforces its limit, with 1009). */
  announceMaxFrame = true;
  /**
   * The gateway_address of register_success (the option, until changed): later registrations carry a new
   * value. Sent as it is, unchecked, so tests can play a control plane that sends a hostile one.
   */
  gatewayAddress?: GatewayAddress;
  /** Route messages answered so far (acks and nacks), for tests that count them. */
  answered = 0;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly agents = new Set<AgentConnection>();
  private readonly listeners = new Set<(m: ReceivedMessage) => void>();
  private readonly releaseListeners = new Set<(cluster: ClusterRecord) => void>();
  /** One per disconnected cluster that still holds routes: when it fires, they are released. */
  private readonly graceTimers = new Map<ClusterRecord, NodeJS.Timeout>();
  /**
   * Extra handlers for message types this module does not own (the gateway's proxy replies), with the
   * connection the message came on: an exchange belongs to one connection, and only its answers count.
   */
  readonly agentMessageHandlers = new Map<string, (cluster: ClusterRecord, message: OutboundMessage, from: AgentConnection) => void>();
  /** Told of gateway replies refused at parse time (a malformed answer fails its exchange instead of timing out). */
  readonly refusedReplyListeners = new Set<(cluster: ClusterRecord, refused: RefusedReply, from: AgentConnection) => void>();
  /**
   * Told when an agent socket closes: what the gateway sent through it will never be answered (a killed or
   * replaced agent), so its exchanges fail at once instead of waiting for their timeout.
   */
  readonly socketClosedListeners = new Set<(socket: WebSocket) => void>();
  /** Registrations so far: each connection's `order`. */
  private registrations = 0;
  /** Pings agent sockets and terminates the silent ones. */
  private keepAlive?: NodeJS.Timeout;

  constructor(private readonly options: ReferenceControlPlaneOptions) {
    this.store = new RouteStore(options.allowCatchAll ?? false, options.maxClustersPerCredential);
    this.gatewayAddress = options.gatewayAddress;
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.maxFrameBytes, perMessageDeflate: false });
    this.http = createServer((req, res) => this.guarded('admin request', () => this.admin(req, res), () => failRequest(res, 500, 'internal error')));
    this.http.on('upgrade', (req, socket: Duplex, head) => this.guarded('agent handshake', () => this.upgrade(req, socket, head), () => socket.destroy()));
  }

  get logger(): Logger {
    return this.options.logger;
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.http.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', resolve));
    // Checked four times per period, so a dead socket is found at most a quarter period past its deadline.
    this.keepAlive = setInterval(() => this.sweep(Date.now()), Math.max(10, Math.min(this.pingIntervalMs, this.deadAfterMs) / 4));
    this.keepAlive.unref();
    if (!this.options.token) {
      this.options.logger.warn('no token set: agents are not authenticated and the admin API is open; for local runs only', { controller: 'reference-control-plane' });
    }
    return (this.http.address() as AddressInfo).port;
  }

  /** The token the agent of `clusterName` dials with ('' when no secret is set: agents are not authenticated). */
  agentToken(clusterName: string): string {
    return this.options.token ? agentToken(this.options.token, clusterName) : '';
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    clearInterval(this.keepAlive);
    for (const timer of this.graceTimers.values()) clearTimeout(timer);
    this.graceTimers.clear();
    for (const agent of this.agents) agent.socket.terminate();
    this.wss.close();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  onMessage(listener: (m: ReceivedMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Told when a disconnected cluster's grace ends and its routes are released. */
  onRoutesReleased(listener: (cluster: ClusterRecord) => void): () => void {
    this.releaseListeners.add(listener);
    return () => this.releaseListeners.delete(listener);
  }

  get disconnectedGraceMs(): number {
    return this.options.disconnectedGraceMs ?? DEFAULT_DISCONNECTED_GRACE_MS;
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

  get pingIntervalMs(): number {
    return this.options.agentPingIntervalMs ?? DEFAULT_AGENT_PING_INTERVAL_MS;
  }

  get deadAfterMs(): number {
    return this.options.agentDeadAfterMs ?? DEFAULT_AGENT_DEAD_AFTER_MS;
  }

  /** Pings each agent socket every pingIntervalMs; one silent (no frame, no pong) for deadAfterMs is terminated. */
  private sweep(now: number): void {
    for (const agent of this.agents) {
      if (agent.socket.readyState !== WebSocket.OPEN || agent.readingPaused) continue;
      if (now - agent.lastFrameAt >= this.deadAfterMs) {
        this.options.logger.warn('terminated a silent agent socket', { controller: 'reference-control-plane', cluster: agent.cluster?.name, agent_id: agent.agentId, silent_ms: now - agent.lastFrameAt });
        agent.socket.terminate();
      } else if (now - agent.lastPingAt >= this.pingIntervalMs) {
        agent.lastPingAt = now;
        agent.socket.ping();
      }
    }
  }

  /** The open, registered connections of a cluster, earliest registered first. */
  private connectionsOf(cluster: ClusterRecord): AgentConnection[] {
    return [...this.agents].filter((a) => a.cluster === cluster && a.socket.readyState === WebSocket.OPEN).sort((a, b) => a.order - b.order);
  }

  private connectionsByUuid(clusterUuid: string): AgentConnection[] {
    const cluster = this.store.cluster(clusterUuid);
    return cluster ? this.connectionsOf(cluster) : [];
  }

  /** A cluster's connections as the admin API shows them. */
  connections(clusterUuid: string): ConnectionView[] {
    return this.connectionsByUuid(clusterUuid).map((a) => ({ agent_id: a.agentId ?? '', role: a.role ?? 'tunnel', draining: a.draining, in_flight: a.inFlight }));
  }

  /**
   * Gateway use: the connection a new request or stream of the cluster goes to (connections.ts,
   * pickConnection); with `draining: false`, never a draining one (a retry goes only where it will be served).
   */
  pickConnection(clusterUuid: string, { draining = true }: { draining?: boolean } = {}): AgentConnection | undefined {
    return pickConnection(this.connectionsByUuid(clusterUuid).filter((a) => draining || !a.draining));
  }

  /** Gateway use: a message on one connection; false when it is not open. */
  sendOn<T extends InboundType>(connection: AgentConnection, type: T, payload: InboundPayloads[T], requestId?: string): boolean {
    if (connection.socket.readyState !== WebSocket.OPEN) return false;
    connection.socket.send(JSON.stringify(envelope(type, payload, requestId)));
    return true;
  }

  /** Gateway use: the bytes of a body or stream on one connection, as a binary frame where agreed, else base64 in JSON. */
  sendBodyOn(connection: AgentConnection, kind: BinaryKind, requestId: string, data: Buffer): boolean {
    if (connection.socket.readyState !== WebSocket.OPEN) return false;
    connection.socket.send(connection.binary ? encodeBinaryFrame(kind, requestId, data) : JSON.stringify(bodyMessage(kind, requestId, data)));
    return true;
  }

  /** The connection a cluster-wide test hook uses: its route-sync connection, else the earliest registered. */
  private mainConnection(clusterUuid: string): AgentConnection | undefined {
    const connections = this.connectionsByUuid(clusterUuid);
    return connections.find((a) => a.role === 'sync') ?? connections[0];
  }

  /** Test hook: sends a raw text frame to a cluster's socket (its sync connection, else its earliest). */
  sendRaw(clusterUuid: string, text: string): boolean {
    const connection = this.mainConnection(clusterUuid);
    connection?.socket.send(text);
    return connection !== undefined;
  }

  /** Test hook: sends a raw text frame to the connection of one replica (by its register's agent_id). */
  sendRawTo(clusterUuid: string, agentId: string, text: string): boolean {
    const connection = this.connectionsByUuid(clusterUuid).find((a) => a.agentId === agentId);
    connection?.socket.send(text);
    return connection !== undefined;
  }

  /** Test hook: stop (or resume) reading a cluster's socket, as a congested peer would; its agent's buffer fills. */
  pauseReading(clusterUuid: string, paused: boolean): void {
    const connection = this.mainConnection(clusterUuid);
    if (!connection) return;
    const raw = (connection.socket as unknown as { _socket?: { pause(): void; resume(): void } })._socket;
    connection.readingPaused = paused;
    // The silence while paused was ours: the dead-peer clock starts again when reading does.
    if (!paused) connection.lastFrameAt = Date.now();
    if (paused) raw?.pause();
    else raw?.resume();
  }

  /** Test hook: a message to a cluster's socket (its sync connection, else its earliest). */
  sendTo<T extends InboundType>(clusterUuid: string, type: T, payload: InboundPayloads[T], requestId?: string): boolean {
    const connection = this.mainConnection(clusterUuid);
    return connection !== undefined && this.sendOn(connection, type, payload, requestId);
  }

  /** Test hook: the bytes of a body or stream to a cluster's socket (its sync connection, else its earliest). */
  sendBody(clusterUuid: string, kind: BinaryKind, requestId: string, data: Buffer): boolean {
    const connection = this.mainConnection(clusterUuid);
    return connection !== undefined && this.sendBodyOn(connection, kind, requestId, data);
  }

  /** Test hook: the socket of a connected cluster (its sync connection, else its earliest). */
  socketOf(clusterUuid: string): WebSocket | undefined {
    return this.mainConnection(clusterUuid)?.socket;
  }

  get maxFrameBytes(): number {
    return this.options.maxFrameBytes ?? 16 * 1024 * 1024;
  }

  /**
   * Runs an I/O handler so that nothing it throws ends the process (every cluster's gateway lives in it):
   * the error is logged and `recover` answers what can still be answered.
   */
  private guarded(what: string, handle: () => void, recover: () => void): void {
    try {
      handle();
    } catch (err) {
      this.options.logger.error(`${what} failed`, { controller: 'reference-control-plane', err });
      try {
        recover();
      } catch {
        // Nothing more can be answered.
      }
    }
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== AGENT_WS_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    const auth = this.authenticate(req.headers.authorization);
    if (!auth.ok) {
      this.refusedHandshakes++;
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, auth));
  }

  /**
   * Who an agent is. With a secret, only a token bound to a cluster name is taken, and the identity is that
   * name (a rotated secret keeps every cluster); without one, any token is taken and is itself the identity.
   */
  private authenticate(authorization: string | undefined): Authentication {
    if (!this.options.token) return { ok: true, credential: digest(authorization ?? '') };
    const checked = verifyAgentToken(this.options.token, bearerToken(authorization) ?? '');
    return checked.ok ? { ok: true, credential: digest(`agent:${checked.clusterName}`), boundName: checked.clusterName } : { ok: false };
  }

  private accept(socket: WebSocket, auth: { credential: string; boundName?: string }): void {
    const now = Date.now();
    const agent: AgentConnection = { socket, credential: auth.credential, boundName: auth.boundName, draining: false, order: 0, inFlight: 0, lastFrameAt: now, lastPingAt: now };
    this.agents.add(agent);
    socket.on('pong', () => (agent.lastFrameAt = Date.now()));
    // Any bytes count as life, not only whole frames: a pong queued behind a large frame on a slow uplink
    // must not get a busy connection cut as silent.
    (socket as unknown as { _socket?: { on(event: 'data', listener: () => void): void } })._socket?.on('data', () => (agent.lastFrameAt = Date.now()));
    const onMessage = (data: WebSocket.RawData, isBinary: boolean): void => (isBinary ? this.onBinaryFrame(agent, data as Buffer) : this.onFrame(agent, data.toString()));
    socket.on('message', (data, isBinary) => {
      agent.lastFrameAt = Date.now();
      this.guarded('agent frame', () => onMessage(data, isBinary), () => this.refuse(agent, 'internal', 'the control plane failed on this frame'));
    });
    socket.on('close', () => {
      this.agents.delete(agent);
      // The cluster stays connected while any of its connections is open: its routes are served through them.
      const cluster = agent.cluster;
      if (cluster && ![...this.agents].some((a) => a.cluster === cluster)) this.clusterDisconnected(cluster);
      else if (cluster) this.tellConnections(cluster);
      for (const listener of this.socketClosedListeners) this.guarded('socket closed', () => listener(socket), () => undefined);
    });
    socket.on('error', () => undefined);
  }

  private reply<T extends InboundType>(agent: AgentConnection, type: T, payload: InboundPayloads[T], requestId?: string): void {
    if (agent.socket.readyState === WebSocket.OPEN) agent.socket.send(JSON.stringify(envelope(type, payload, requestId)));
  }

  private refuse(agent: AgentConnection, code: string, message: string, requestId?: string, type?: string): void {
    this.options.logger.warn('rejected an agent frame', { controller: 'reference-control-plane', code, err: message, cluster: agent.cluster?.name, type });
    this.reply(agent, 'error', { code, message, ...(type ? { type } : {}) }, requestId);
  }

  private onFrame(agent: AgentConnection, text: string): void {
    const parsed = parseFrame<OutboundMessage>(text, OUTBOUND_SCHEMAS);
    if (!parsed.ok) {
      // A malformed route message is answered as what it is, so the agent never takes it as applied.
      if (parsed.type && isRouteMessageType(parsed.type) && parsed.requestId !== undefined && agent.cluster) {
        this.nack(agent, parsed.requestId, 0, { code: 'bad_payload', message: parsed.error, retryable: false });
        return;
      }
      this.refuse(agent, parsed.code, parsed.error, parsed.requestId, parsed.type);
      // A malformed answer to a proxied request or stream fails that exchange now, not at its timeout.
      const cluster = agent.cluster;
      if (cluster && parsed.code === 'bad_payload' && parsed.type && parsed.requestId !== undefined && this.agentMessageHandlers.has(parsed.type)) {
        for (const listener of this.refusedReplyListeners) listener(cluster, { type: parsed.type, requestId: parsed.requestId, problem: parsed.error }, agent);
      }
      return;
    }
    const message = parsed.message;
    const { type, request_id: requestId } = message;
    const received = this.record({ cluster: agent.cluster?.cluster_uuid, type, request_id: requestId, payload: message.payload, bytes: Buffer.byteLength(text) });

    if (message.type === 'register') {
      this.register(agent, message.payload, requestId, received);
      return;
    }
    const cluster = agent.cluster;
    if (!cluster) {
      if (type !== 'pong' && type !== 'error') this.refuse(agent, 'not_registered', `${type} before register`, requestId, type);
      return;
    }
    if (isRouteMessage(message)) {
      // One connection per cluster carries the route sync: routes from another would race the leader's.
      if (agent.role !== 'sync') {
        this.refuse(agent, 'not_sync_connection', `${type} on a connection that is not the cluster's route-sync connection (send sync_claim first); not applied`, requestId, type);
        return;
      }
      this.onRouteMessage(agent, cluster, message, received.bytes);
      return;
    }
    switch (message.type) {
      case 'sync_claim':
        if (agent.version !== 3) return this.refuse(agent, 'bad_envelope', `sync_claim is a version 3 message; this socket speaks version ${agent.version}`, requestId, type);
        // A draining replica has given up leading: it never takes the route sync from the new leader.
        if (agent.draining) return this.refuse(agent, 'draining', 'a draining connection cannot take the route sync', requestId, type);
        this.makeSync(agent, cluster);
        this.reply(agent, 'sync_granted', { resume_revision: cluster.lastRevision, connections: this.connectionsOf(cluster).length }, requestId);
        this.tellConnections(cluster);
        return;
      case 'drain':
        if (agent.version !== 3) return this.refuse(agent, 'bad_envelope', `drain is a version 3 message; this socket speaks version ${agent.version}`, requestId, type);
        if (!agent.draining) this.options.logger.info('an agent connection is draining', { controller: 'reference-control-plane', cluster: cluster.name, agent_id: agent.agentId, in_flight: agent.inFlight });
        agent.draining = true;
        // Sent after anything already on its way to this socket: once the agent has it, nothing new comes.
        this.reply(agent, 'drain_ack', {}, requestId);
        this.tellConnections(cluster);
        return;
      case 'heartbeat': {
        const { payload } = message;
        const problem = checkFields(payload.metadata, HEARTBEAT_METADATA_SCHEMA, 'heartbeat.metadata');
        if (problem || payload.cluster_id !== cluster.cluster_id) {
          this.refuse(agent, 'bad_payload', problem ?? `cluster_id ${payload.cluster_id} is not this socket's cluster`, requestId, type);
          return;
        }
        cluster.last_heartbeat = new Date().toISOString();
        cluster.is_private = payload.metadata.is_private;
        cluster.routing_mode = payload.metadata.routing_mode;
        this.reply(agent, 'heartbeat_ack', {}, requestId);
        return;
      }
      case 'pong':
        return;
      case 'error':
        this.options.logger.warn('agent reported an error', { controller: 'reference-control-plane', cluster: cluster.name, code: message.payload.code, detail: message.payload.message });
        return;
      default:
        this.agentMessageHandlers.get(type)?.(cluster, message, agent);
    }
  }

  /** Messages received since `mark` (a receivedCount read earlier), as far as they are still kept. */
  receivedSince(mark: number): ReceivedMessage[] {
    const first = this.received.findIndex((m) => m.seq >= mark);
    return first === -1 ? [] : this.received.slice(first);
  }

  /** Keeps a received message for tests (the newest RECEIVED_KEPT or a few more, bodies left out) and tells the listeners. */
  private record(message: Omit<ReceivedMessage, 'seq' | 'at' | 'payload'> & { payload: object }): ReceivedMessage {
    // Kept as a plain record: tests read its fields whatever the message type.
    const payload = withoutBodies(message.type, message.payload as Record<string, unknown>);
    const received: ReceivedMessage = { seq: this.receivedCount++, at: Date.now(), ...message, payload };
    if (received.request_id === undefined) delete received.request_id;
    this.received.push(received);
    this.receivedBytes = trimReceived(this.received, this.receivedBytes + received.bytes);
    for (const listener of this.listeners) listener(received);
    return received;
  }

  /** A binary frame from an agent: the bytes of a response body or a stream message, to the gateway. */
  private onBinaryFrame(agent: AgentConnection, frame: Buffer): void {
    const cluster = agent.cluster;
    if (!cluster || !agent.binary) return this.refuse(agent, 'bad_envelope', 'binary frames were not agreed on this socket');
    const decoded = decodeBinaryFrame(frame);
    if (!decoded.ok) return this.refuse(agent, 'bad_envelope', decoded.error);
    const { kind, requestId, data } = decoded;
    let message: OutboundMessage;
    if (kind === 'proxy_response_chunk') message = { type: kind, request_id: requestId, payload: { data }, timestamp: '' };
    else if (kind === 'ws_message_text' || kind === 'ws_message_binary') message = { type: 'ws_message', request_id: requestId, payload: { data, binary: kind === 'ws_message_binary' }, timestamp: '' };
    else return this.refuse(agent, 'bad_envelope', `a binary ${kind} frame is not sent to a control plane`);
    this.record({ cluster: cluster.cluster_uuid, type: message.type, request_id: requestId, payload: message.payload, bytes: frame.length });
    this.agentMessageHandlers.get(message.type)?.(cluster, message, agent);
  }

  /**
   * Identity is the credential with cluster_id and fingerprint (RouteStore.register), never the name alone.
   * With a secret, the credential is the cluster name the socket's token is bound to, and a register under
   * any other name is refused: an agent that learnt another cluster's id or name cannot take over its socket
   * and its users' requests. A cluster holds many connections (one per replica, at most
   * maxConnectionsPerCluster) and a new one never closes another; a register for the sync role (every
   * version 2 register) makes this the cluster's route-sync connection (makeSync).
   */
  private register(agent: AgentConnection, payload: RegisterPayload, requestId: string | undefined, received: ReceivedMessage): void {
    if (agent.boundName !== undefined && payload.cluster_name !== agent.boundName) {
      const message = `this socket's token is for cluster name "${agent.boundName}", not "${payload.cluster_name}": dial with the agent token of "${payload.cluster_name}"`;
      this.refuse(agent, 'identity_mismatch', message, requestId, 'register');
      return;
    }
    const offered = payload.protocol_versions ?? [1];
    const version = negotiateVersion(offered, SERVED_PROTOCOL_VERSIONS);
    if (version === undefined) {
      this.refuse(
        agent,
        'unsupported_protocol_version',
        `this control plane speaks protocol versions ${SERVED_PROTOCOL_VERSIONS.join(' and ')} only (offered: ${offered.join(', ')}); version 1's cumulative acknowledgements and single-frame snapshots can report lost changes as applied, so it is not served`,
        requestId,
        'register',
      );
      return;
    }
    const clusterId = payload.cluster_id || undefined;
    const registration = this.store.register({ name: payload.cluster_name, credential: agent.credential, clusterId, fingerprint: payload.cluster_fingerprint });
    if (!registration.ok) {
      this.refuse(agent, registration.code, registration.message, requestId, 'register');
      return;
    }
    const cluster = registration.cluster;
    const maxConnections = this.options.maxConnectionsPerCluster ?? DEFAULT_MAX_CLUSTER_CONNECTIONS;
    const others = this.connectionsOf(cluster).filter((a) => a !== agent);
    // A version 2 register replaces the cluster's version 2 connection, so it never needs room of its own.
    const replaces = version === 2 && others.some((a) => a.role === 'sync' && a.version === 2);
    if (others.length >= maxConnections && !replaces) {
      this.refuse(agent, 'too_many_connections', `cluster ${cluster.name} already has ${others.length} connections, the most one cluster may hold`, requestId, 'register');
      return;
    }
    if (clusterId !== undefined && cluster.cluster_id !== clusterId) {
      // Its cached id is another cluster's (a state ConfigMap copied from elsewhere), or this store lost that
      // id and found the cluster by its fingerprint: the agent keeps the id it is answered with.
      this.options.logger.info('registered under another cluster_id than the one presented', { controller: 'reference-control-plane', cluster: cluster.name, presented: clusterId, cluster_id: cluster.cluster_id, by: registration.by });
    }
    const before = agent.cluster;
    agent.cluster = cluster;
    agent.snapshot = undefined;
    agent.binary = this.binaryFrames && payload.features.binary_frames === true;
    agent.trailers = this.trailers && payload.features.trailers === true;
    agent.version = version;
    agent.agentId = payload.agent_id;
    agent.order = ++this.registrations;
    // A replica that reconnects while draining says so in its register: nothing new goes to it from the start.
    agent.draining = version === 3 && payload.draining === true;
    agent.told = undefined;
    // Version 2 knows no roles: its one connection per cluster carries the route sync; a draining one never does.
    const role: ConnectionRole = version === 2 ? 'sync' : agent.draining ? 'tunnel' : (payload.role ?? 'sync');
    agent.role = 'tunnel';
    if (role === 'sync') this.makeSync(agent, cluster);
    // Registered again for another cluster: the one it left may have no connection now.
    if (before && before !== cluster) {
      if (this.connectionsOf(before).length === 0) this.clusterDisconnected(before);
      else this.tellConnections(before);
    }
    this.clusterConnected(cluster);
    received.cluster = cluster.cluster_uuid;
    this.reply(
      agent,
      'register_success',
      {
        cluster_id: cluster.cluster_id,
        cluster_uuid: cluster.cluster_uuid,
        protocol_version: version,
        resume_revision: cluster.lastRevision,
        binary_frames: agent.binary,
        trailers: agent.trailers,
        ...(this.announceMaxFrame ? { max_frame_bytes: this.maxFrameBytes } : {}),
        ...(this.gatewayAddress ? { gateway_address: this.gatewayAddress } : {}),
        ...(version >= 3 ? { role: agent.role, connections: this.connectionsOf(cluster).length } : {}),
      },
      requestId,
    );
    this.tellConnections(cluster);
  }

  /**
   * Makes `agent` the cluster's one route-sync connection. The previous one, if version 3, is demoted: it
   * keeps carrying traffic, its snapshot in progress is dropped, and it is told (sync_revoked). A version 2
   * one is closed (4000) as version 2 has it, one socket per cluster; its later frames are unregistered.
   */
  private makeSync(agent: AgentConnection, cluster: ClusterRecord): void {
    for (const other of this.agents) {
      if (other === agent || other.cluster !== cluster || other.role !== 'sync') continue;
      if (other.version === 2) {
        other.cluster = undefined;
        other.role = undefined;
        other.socket.close(4000, 'replaced by a newer connection of this cluster');
        continue;
      }
      other.role = 'tunnel';
      other.snapshot = undefined;
      other.told = undefined;
      this.reply(other, 'sync_revoked', { reason: `another connection of this cluster${agent.agentId ? ` (agent ${agent.agentId})` : ''} claimed the route sync` });
    }
    agent.role = 'sync';
  }

  /**
   * Tells the cluster's route-sync connection (version 3) how many connections the cluster has and how
   * many drain, when that changed since it was last told.
   */
  private tellConnections(cluster: ClusterRecord): void {
    const connections = this.connectionsOf(cluster);
    const sync = connections.find((a) => a.role === 'sync');
    if (!sync || sync.version !== 3) return;
    const counts = { count: connections.length, draining: connections.filter((a) => a.draining).length };
    const told = `${counts.count}/${counts.draining}`;
    if (sync.told === told) return;
    sync.told = told;
    this.reply(sync, 'connections', counts);
  }

  /** Within its grace nothing of a cluster is dropped: a reconnect finds its routes as it left them. */
  private clusterConnected(cluster: ClusterRecord): void {
    clearTimeout(this.graceTimers.get(cluster));
    this.graceTimers.delete(cluster);
    this.store.markConnected(cluster);
  }

  /**
   * The cluster's last socket closed: its hosts answer 503 (or go to a connected cluster that takes them
   * over) for the grace period, then its routes are released so its hosts stop answering for a ghost.
   */
  private clusterDisconnected(cluster: ClusterRecord): void {
    this.store.markDisconnected(cluster, new Date());
    clearTimeout(this.graceTimers.get(cluster));
    const timer = setTimeout(() => this.releaseDisconnected(cluster), this.disconnectedGraceMs);
    timer.unref(); // a process ends without waiting for a grace
    this.graceTimers.set(cluster, timer);
  }

  private releaseDisconnected(cluster: ClusterRecord): void {
    this.graceTimers.delete(cluster);
    if (cluster.connected) return;
    const routes = cluster.routes.size;
    this.store.releaseRoutes(cluster);
    this.options.logger.info('released the routes of a disconnected cluster after its grace', {
      controller: 'reference-control-plane',
      cluster: cluster.name,
      cluster_id: cluster.cluster_id,
      disconnected_at: cluster.disconnected_at,
      routes,
    });
    for (const listener of this.releaseListeners) listener(cluster);
  }

  private onRouteMessage(agent: AgentConnection, cluster: ClusterRecord, message: RouteMessage, frameBytes: number): void {
    const { type, request_id: requestId } = message;
    const revision = message.payload.revision;
    if (requestId === undefined) {
      this.refuse(agent, 'bad_envelope', `${type} needs a request_id`, undefined, type);
      return;
    }
    if (message.type === 'routes_sync_begin' || message.type === 'routes_change') {
      if (message.payload.cluster_uuid !== cluster.cluster_uuid) {
        this.nack(agent, requestId, revision, { code: 'bad_payload', message: `cluster_uuid ${message.payload.cluster_uuid} is not this socket's cluster`, retryable: false });
        return;
      }
      if (revision <= cluster.lastRevision) {
        this.nack(agent, requestId, revision, { code: 'stale_revision', message: `revision ${revision} is not above ${cluster.lastRevision}`, retryable: true }, cluster.lastRevision);
        return;
      }
    }
    switch (message.type) {
      case 'routes_sync_begin':
        agent.snapshot = { requestId, revision, routingMode: message.payload.routing_mode, publicEndpoint: message.payload.public_endpoint, parts: [], chunks: 0, routes: 0, bytes: 0 };
        return;
      case 'routes_sync_chunk': {
        const snapshot = agent.snapshot;
        if (!snapshot || snapshot.requestId !== requestId || snapshot.revision !== revision) {
          this.nack(agent, requestId, revision, { code: 'incomplete_snapshot', message: 'routes_sync_chunk without its routes_sync_begin', retryable: true });
          return;
        }
        // The schema checked only that this is a list: each part is checked here.
        const parts: unknown[] = message.payload.gateway_routes;
        for (const part of parts) {
          const problem = invalidMeta(part, true) ?? (isArray((part as { routes?: unknown }).routes) ? undefined : 'field "routes" must be an array');
          if (problem) {
            agent.snapshot = undefined;
            this.nack(agent, requestId, revision, { code: 'bad_payload', message: `routes_sync_chunk: ${problem}`, retryable: false });
            return;
          }
          snapshot.parts.push(part as ReceivedGatewayRoute);
          snapshot.routes += (part as ReceivedGatewayRoute).routes.length;
        }
        snapshot.chunks++;
        snapshot.bytes += frameBytes;
        // Held until its end: bounded, or an agent could make this process keep any amount.
        const maxRoutes = this.options.maxSnapshotRoutes ?? DEFAULT_MAX_SNAPSHOT_ROUTES;
        const maxBytes = this.options.maxSnapshotBytes ?? DEFAULT_MAX_SNAPSHOT_BYTES;
        if (snapshot.routes > maxRoutes || snapshot.bytes > maxBytes) {
          agent.snapshot = undefined;
          const message = `the snapshot is past this control plane's limit of ${maxRoutes} routes or ${maxBytes} bytes of chunks (${snapshot.routes} routes, ${snapshot.bytes} bytes so far)`;
          this.nack(agent, requestId, revision, { code: 'too_large', message, retryable: false });
        }
        return;
      }
      case 'routes_sync_end': {
        const { payload } = message;
        const snapshot = agent.snapshot;
        agent.snapshot = undefined;
        if (!snapshot || snapshot.requestId !== requestId || snapshot.revision !== revision || snapshot.chunks !== payload.chunks || snapshot.routes !== payload.routes) {
          const got = snapshot ? `${snapshot.chunks} chunk(s), ${snapshot.routes} route(s)` : 'no routes_sync_begin';
          this.nack(agent, requestId, revision, { code: 'incomplete_snapshot', message: `expected ${payload.chunks} chunk(s), ${payload.routes} route(s); got ${got}`, retryable: true });
          return;
        }
        this.answer(agent, cluster, message, requestId, () => {
          cluster.routing_mode = snapshot.routingMode;
          cluster.public_endpoint = snapshot.publicEndpoint;
          return this.store.replaceAll(cluster, snapshot.parts);
        });
        return;
      }
      case 'routes_change': {
        if (agent.snapshot) {
          this.nack(agent, requestId, revision, { code: 'unavailable', message: 'a snapshot is being received', retryable: true });
          return;
        }
        const problem = invalidMeta(message.payload, true);
        if (problem) {
          this.nack(agent, requestId, revision, { code: 'bad_payload', message: `routes_change: ${problem}`, retryable: false });
          return;
        }
        this.answer(agent, cluster, message, requestId, () => this.store.applyChange(cluster, message.payload));
      }
    }
  }

  /** Applies a complete route message (unless a test refuses it) and answers it, now or after answerDelayMs. */
  private answer(agent: AgentConnection, cluster: ClusterRecord, message: RouteMessage, requestId: string, apply: () => ApplyResult): void {
    const revision = message.payload.revision;
    const refusal = this.refuseRouteMessage?.(message.type, message.payload as unknown as Record<string, unknown>);
    const send = (answer: () => void): void => {
      if (this.answerDelayMs > 0) setTimeout(answer, this.answerDelayMs);
      else answer();
    };
    if (refusal) {
      send(() => this.nack(agent, requestId, revision, refusal));
      return;
    }
    cluster.lastRevision = revision;
    const { accepted, rejected, takenOver } = apply();
    for (const { host, path, from } of takenOver) {
      this.options.logger.info('a connected cluster took over a host + path from a disconnected one', {
        controller: 'reference-control-plane',
        cluster: cluster.name,
        host,
        path,
        from: from.name,
        from_cluster_id: from.cluster_id,
        disconnected_at: from.disconnected_at,
      });
    }
    send(() => {
      this.answered++;
      this.reply(agent, 'routes_ack', { revision, accepted, rejected }, requestId);
    });
  }

  private nack(agent: AgentConnection, requestId: string, revision: number, refusal: Refusal, currentRevision?: number): void {
    this.answered++;
    this.options.logger.warn('refused a route message', { controller: 'reference-control-plane', cluster: agent.cluster?.name, code: refusal.code, err: refusal.message });
    const payload: RoutesNackPayload = { revision, ...refusal };
    if (currentRevision !== undefined) payload.current_revision = currentRevision;
    this.reply(agent, 'routes_nack', payload, requestId);
  }

  private admin(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (this.options.token && url.pathname !== '/healthz' && !secretMatches(this.options.token, bearerToken(req.headers.authorization) ?? '')) {
      send(401, { error: 'unauthorized' });
      return;
    }
    const segment = (match: RegExpExecArray): string | undefined => decodePathSegment(match[1] as string);
    const routesMatch = /^\/api\/v1\/gateway\/routes\/cluster\/([^/]+)$/.exec(url.pathname);
    const dropMatch = /^\/api\/v1\/test\/clusters\/([^/]+)\/drop$/.exec(url.pathname);
    if (req.method === 'GET' && url.pathname === '/healthz') return send(200, { status: 'ok' });
    if (req.method === 'GET' && url.pathname === '/api/v1/clusters') {
      return send(200, {
        clusters: this.store.clusters().map((c) => ({
          cluster_id: c.cluster_id,
          cluster_uuid: c.cluster_uuid,
          name: c.name,
          fingerprint: c.fingerprint ?? null,
          connected: c.connected,
          disconnected_at: c.disconnected_at,
          last_heartbeat: c.last_heartbeat,
          is_private: c.is_private,
          routing_mode: c.routing_mode,
          connections: this.connections(c.cluster_uuid),
        })),
      });
    }
    if (req.method === 'GET' && routesMatch) {
      const uuid = segment(routesMatch);
      if (uuid === undefined) return send(400, { error: `malformed percent-encoding in ${url.pathname}` });
      const cluster = this.store.cluster(uuid);
      if (!cluster) return send(404, { error: 'unknown cluster' });
      return send(200, { routes: [...cluster.routes.values()].sort((a, b) => a.key.localeCompare(b.key, 'en')) });
    }
    if (req.method === 'POST' && dropMatch) {
      const target = segment(dropMatch);
      if (target === undefined) return send(400, { error: `malformed percent-encoding in ${url.pathname}` });
      return send(200, { dropped: this.dropConnections(target === 'all' ? undefined : target) });
    }
    send(404, { error: `no such endpoint: ${req.method} ${url.pathname}` });
  }
}

/** A client's response, over HTTP/1.1 or HTTP/2 (the gateway takes both). */
export type ClientResponse = ServerResponse | Http2ServerResponse;

/**
 * Answers a request that failed in the middle with a JSON error, or cuts it when its answer had begun (an
 * HTTP/2 stream is reset with INTERNAL_ERROR: a gRPC client sees the call fail, not end without a status).
 */
export function failRequest(res: ClientResponse, status: number, error: string, details: Record<string, unknown> = {}): void {
  const http2 = res instanceof Http2ServerResponse;
  const gone = http2 ? res.stream.destroyed || res.stream.closed : res.destroyed;
  if (gone) return; // the client is gone
  const cut = (): void => {
    if (http2) res.stream.close(http2Constants.NGHTTP2_INTERNAL_ERROR);
    else res.destroy();
  };
  // Ended: answered, unless an HTTP/2 answer's end threw before its headers went out (the client still waits).
  if (res.writableEnded) return http2 && !res.stream.headersSent ? cut() : undefined;
  if (res.headersSent) return cut();
  try {
    // Headers set for an answer that could not be written (a backend's) are not this one's.
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error, ...details }));
  } catch {
    // Not even the error could be written: the client's stream is reset (its connection closed), never left waiting.
    cut();
  }
}

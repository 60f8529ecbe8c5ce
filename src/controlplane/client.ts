// The one outbound WebSocket to the control plane: dial with Bearer auth, register (resuming the
// cached cluster_id), heartbeat, keep-alive pings with dead-socket detection, and reconnect with
// backoff forever, except after a 401/403 handshake, which is final for that token (a --token-file is
// watched, and a rotated token dials again without a restart).
import { readFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import type { Agent } from 'node:http';
import { rootCertificates } from 'node:tls';
import { HttpProxyAgent, HttpsProxyAgent } from 'hpagent';
import WebSocket from 'ws';
import type { Logger } from '../log.js';
import { metrics } from '../metrics.js';
import { Backoff, type BackoffOptions } from '../operator/backoff.js';
import type { IdentityStore } from './identity.js';
import {
  AGENT_WS_PATH,
  envelope,
  bodyMessage,
  decodeBinaryFrame,
  encodeBinaryFrame,
  envelopeText,
  INBOUND_SCHEMAS,
  isRouteMessageType,
  parseFrame,
  SUPPORTED_PROTOCOL_VERSIONS,
  type BinaryKind,
  type ConnectionRole,
  gatewayAddressOf,
  type ErrorPayload,
  type GatewayAddress,
  type HeartbeatPayload,
  type InboundMessage,
  type OutboundPayloads,
  type OutboundType,
  type PayloadJson,
  type RegisterPayload,
  type RegisterSuccessPayload,
  type SyncGrantedPayload,
} from './protocol.js';

export type ConnectionState = 'idle' | 'connecting' | 'registering' | 'ready' | 'disconnected' | 'unauthorized' | 'stopped';

/** How long the WebSocket opening handshake with the control plane may take before the dial counts as failed. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

export interface Session {
  clusterId: string;
  clusterUuid: string;
  protocolVersion: number;
  /** The highest route revision the control plane applied for this cluster. */
  resumeRevision: number;
  maxFrameBytes?: number;
  /** Bodies and WebSocket data go as binary frames on this socket (both ends agreed). */
  binaryFrames: boolean;
  /** Response trailers go to the control plane on this socket (both ends agreed: HTTP/2 semantics, gRPC's status). */
  trailers: boolean;
  /** Where the hosted gateway takes this cluster's traffic, when the control plane said (checked at parse time). */
  gatewayAddress?: GatewayAddress;
  /** What this socket carries: tunnel traffic always, the route sync only as the cluster's sync connection. */
  role: ConnectionRole;
}

/** The cluster's connections as the control plane last counted them (sent to the sync connection). */
export interface ClusterConnections {
  count: number;
  draining: number;
}

export interface ClientHandlers {
  /** This socket carries the route sync now (registered as sync, or granted a claim): send the full snapshot. */
  onReady?(session: Session): void;
  /** The route sync stopped on this socket: it closed, or another connection claimed the role. */
  onDisconnected?(): void;
  onMessage?(message: InboundMessage): void;
}

export interface ControlPlaneClientOptions {
  url: string;
  token?: string;
  tokenFile?: string;
  clusterName: string;
  agentId: string;
  agentVersion: string;
  k8sVersion: () => string;
  identity: IdentityStore;
  /** The cluster's fingerprint, sent at registration (see identity.ts); undefined when it cannot be read. */
  fingerprint?: () => Promise<string | undefined>;
  heartbeat: () => HeartbeatPayload['metadata'] & { status?: HeartbeatPayload['status'] };
  logger: Logger;
  maxFrameBytes?: number;
  heartbeatIntervalMs?: number;
  pingIntervalMs?: number;
  deadAfterMs?: number;
  handshakeTimeoutMs?: number;
  registerTimeoutMs?: number;
  reconnect?: BackoffOptions;
  /** Past this many buffered bytes the socket is "congested": bulk data (tunnel bodies) waits. */
  highWaterMark?: number;
  /**
   * Bytes written or queued and not yet sent past which the control plane counts as not reading its socket:
   * the socket is dropped (and dialled again), so a peer that ignores its socket cannot grow this process.
   */
  maxBacklogBytes?: number;
  /** A connection must stay up this long before the reconnect backoff starts again from its minimum. */
  stableAfterMs?: number;
  /** PEM files for wss://: CAs trusted besides the system ones, and a client certificate + key. */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /** HTTP(S) proxy for this connection only (CONNECT tunnel). */
  proxyUrl?: string;
  /** How often a refused --token-file is read again to see whether it was rotated. */
  tokenPollMs?: number;
}

/** TLS options for the socket: files are read on every dial, so renewed certificates are picked up. */
async function tlsOptions(files: ControlPlaneClientOptions['tls']): Promise<{ ca?: string[]; cert?: string; key?: string }> {
  const read = async (what: string, path: string): Promise<string> =>
    readFile(path, 'utf8').catch((err: Error) => {
      throw new Error(`reading ${what} ${path}: ${err.message}`);
    });
  const options: { ca?: string[]; cert?: string; key?: string } = {};
  // `ca` replaces Node's bundled roots, so keep them and add the extra bundle.
  if (files?.caFile) options.ca = [...rootCertificates, await read('the CA bundle', files.caFile)];
  if (files?.certFile) options.cert = await read('the client certificate', files.certFile);
  if (files?.keyFile) options.key = await read('the client key', files.keyFile);
  return options;
}

function proxyAgent(proxyUrl: string, target: string, tls: { ca?: string[]; cert?: string; key?: string }): Agent {
  const options = { proxy: proxyUrl, keepAlive: false, ...tls };
  return new URL(target).protocol === 'wss:' ? new HttpsProxyAgent(options) : new HttpProxyAgent(options);
}

/** Requests, bodies and streams of the tunnel, as opposed to registration, heartbeats and route answers. */
function isTunnelMessage(type: string): boolean {
  return type.startsWith('proxy_') || type.startsWith('ws_');
}

function frameBytes(frame: string | Buffer): number {
  return typeof frame === 'string' ? Buffer.byteLength(frame) : frame.length;
}

export function agentSocketUrl(base: string): string {
  const url = new URL(base);
  url.protocol = url.protocol === 'https:' || url.protocol === 'wss:' ? 'wss:' : 'ws:';
  url.pathname = url.pathname.replace(/\/+$/, '') + AGENT_WS_PATH;
  return url.toString();
}

export class ControlPlaneClient {
  state: ConnectionState = 'idle';
  session?: Session;
  lastHeartbeatAt?: Date;
  reconnects = 0;
  lastError?: string;
  /** What the cluster identity rests on: its fingerprint, and whether the ConfigMap cache holds it (why not). */
  identityStatus: { fingerprint?: string; cached?: boolean; problem?: string } = {};
  private socket?: WebSocket;
  private readonly backoff: Backoff;
  private timers: NodeJS.Timeout[] = [];
  private reconnectTimer?: NodeJS.Timeout;
  private lastFrameAt = 0;
  private readonly repliedUnknownTypes = new Set<string>();
  private handlers: ClientHandlers = {};
  private connectedOnce = false;
  private refusedToken?: string;
  private tokenPoll?: NodeJS.Timeout;
  /** Bulk frames (tunnel bodies) waiting for the socket's buffer to drain; control frames never wait. */
  private bulk: Array<{ type: string; frame: string | Buffer }> = [];
  /** Bytes of the frames in `bulk`. */
  private bulkBytes = 0;
  private bulkTimer?: NodeJS.Timeout;
  private readonly writableWaiters: Array<() => void> = [];
  /** The largest frame sent on the current socket, and the limit learnt from a 1009 close. */
  private largestSent = 0;
  private wantSync = false;
  /** Set by drain(): this replica is going away. */
  draining = false;
  private drainAcked = false;
  private drainAckWaiters: Array<() => void> = [];
  /** What the control plane last said of the cluster's connections (sync connection only). */
  clusterConnections?: ClusterConnections;
  private learntFrameLimit = Infinity;

  private readonly logger: Logger;

  constructor(private readonly options: ControlPlaneClientOptions) {
    this.logger = options.logger.child({ controller: 'controlplane' });
    this.backoff = new Backoff(options.reconnect ?? { initialMs: 500, maxMs: 15_000, factor: 2, jitter: 0.25 });
  }

  setHandlers(handlers: ClientHandlers): void {
    this.handlers = handlers;
  }

  private readonly stateListeners: Array<() => void> = [];
  private readonly messageListeners: Array<(message: InboundMessage) => void> = [];

  /** Every valid inbound message, after the client's own handling (e.g. the tunnel's proxy_* frames). */
  addMessageListener(listener: (message: InboundMessage) => void): void {
    this.messageListeners.push(listener);
  }

  /** Called after the connection is registered, lost, or refused (for status reporting). */
  onStateChange(listener: () => void): void {
    this.stateListeners.push(listener);
  }

  private stateChanged(): void {
    metrics.routeSyncConnection.set(this.ready ? 1 : 0);
    for (const listener of this.stateListeners) listener();
  }

  /** Registered: the socket carries tunnel traffic (every replica's does). */
  get registered(): boolean {
    return this.state === 'ready' && this.socket?.readyState === WebSocket.OPEN;
  }

  /** Registered and the cluster's route-sync connection: route messages may be sent. */
  get ready(): boolean {
    return this.registered && this.session?.role === 'sync';
  }

  /**
   * This replica leads: its socket should carry the route sync. Asked for at registration, or claimed on a
   * socket already registered for tunnel traffic (answered by sync_granted).
   */
  claimSync(): void {
    // A draining replica has given up the Lease: it never takes the route sync back from the new leader.
    if (this.wantSync || this.draining) return;
    this.wantSync = true;
    if (this.registered && this.session?.role !== 'sync') this.sendClaim();
  }

  /** Answered by sync_granted (matched by role, not by id: one claim is outstanding at most per socket). */
  private sendClaim(): void {
    this.write('sync_claim', {}, randomUUID());
  }

  /** This replica no longer leads: a reconnect registers for tunnel traffic only, and nothing is claimed. */
  releaseSync(): void {
    this.wantSync = false;
  }

  /**
   * Going away: the control plane sends this socket no new request or stream; those in flight finish. Sent
   * again after a reconnect while draining.
   */
  drain(ackTimeoutMs = 2_000): Promise<void> {
    if (!this.draining) {
      this.draining = true;
      this.wantSync = false;
      if (this.registered) this.write('drain', {});
    }
    if (this.drainAcked || !this.registered) return Promise.resolve();
    // The ack says the control plane sends nothing new; without one (an older or slow peer) wait no longer.
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ackTimeoutMs);
      this.drainAckWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** True while the socket's send buffer is past the high-water mark or bulk frames wait. */
  get congested(): boolean {
    return this.bulk.length > 0 || this.buffered() > this.highWaterMark;
  }

  /** The control plane takes response trailers on this socket (register_success.trailers). */
  get trailersAgreed(): boolean {
    return this.registered && this.session?.trailers === true;
  }

  /** Bulk frames waiting in this process behind the congested socket (not yet handed to it). */
  get queuedBulkFrames(): number {
    return this.bulk.length;
  }

  private get highWaterMark(): number {
    return this.options.highWaterMark ?? 2 * 1024 * 1024;
  }

  private buffered(): number {
    return this.socket?.bufferedAmount ?? 0;
  }

  /** Bytes written or queued towards the control plane and not yet sent (see maxBacklogBytes). */
  get backlogBytes(): number {
    return this.buffered() + this.bulkBytes;
  }

  /** Drops a socket whose peer stopped reading: past maxBacklogBytes, waiting longer only grows memory. */
  private checkBacklog(socket: WebSocket): void {
    const limit = this.options.maxBacklogBytes ?? 64 * 1024 * 1024;
    if (this.backlogBytes <= limit || socket !== this.socket) return;
    this.lastError = `the control plane left ${this.backlogBytes} bytes unread (limit ${limit}); dropped the socket`;
    this.logger.error(this.lastError);
    metrics.backlogCutoffs.inc();
    this.dropBulk();
    socket.terminate();
  }

  /** The largest frame the control plane takes: what it announced, lowered by what a 1009 close taught. */
  get maxOutgoingFrameBytes(): number {
    return Math.min(this.session?.maxFrameBytes ?? Infinity, this.learntFrameLimit);
  }

  /** Resolves once bulk data may be written again (at once when the socket is not congested). */
  whenWritable(): Promise<void> {
    if (!this.congested) return Promise.resolve();
    return new Promise((resolve) => {
      this.writableWaiters.push(resolve);
      this.scheduleBulkDrain();
    });
  }

  start(): void {
    if (this.state !== 'idle') return;
    void this.dial();
  }

  /** Closes with 1001 (going away) and stops reconnecting. */
  async stop(): Promise<void> {
    this.state = 'stopped';
    clearTimeout(this.reconnectTimer);
    clearInterval(this.tokenPoll);
    this.clearTimers();
    const socket = this.socket;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        socket.terminate();
        resolve();
      }, 2_000);
      socket.once('close', () => {
        clearTimeout(force);
        resolve();
      });
      socket.close(1001, 'agent shutting down');
    });
  }

  /**
   * Sends a control or route message now, ahead of any bulk data still waiting; false when the socket is not
   * registered (the caller keeps its state) or the frame is larger than the control plane takes.
   */
  send<T extends OutboundType>(type: T, payload: OutboundPayloads[T], requestId?: string): boolean {
    if (isRouteMessageType(type) ? !this.ready : !this.registered) return false;
    return this.write(type, payload, requestId);
  }

  /** send() for a payload already encoded as JSON (snapshot chunks, measured as they were encoded). */
  sendEncoded<T extends OutboundType>(type: T, payloadJson: PayloadJson<OutboundPayloads[T]>, requestId?: string): boolean {
    if (isRouteMessageType(type) ? !this.ready : !this.registered) return false;
    return this.writeFrame(type, envelopeText(type, payloadJson, requestId));
  }

  /**
   * Bulk data (tunnel bodies): written at once while the socket's buffer is below the high-water mark,
   * else queued behind it, so route and control messages are never stuck behind a download. Producers
   * should also wait on whenWritable() (or check `congested`) and pause their source.
   */
  sendBulk<T extends OutboundType>(type: T, payload: OutboundPayloads[T], requestId?: string): boolean {
    if (!this.registered) return false;
    return this.queueBulk(type, JSON.stringify(envelope(type, payload, requestId)));
  }

  /**
   * Bulk bytes of a request or stream: a binary frame when the control plane agreed to them, else the JSON
   * message they stand for (base64 data).
   */
  sendBody(kind: BinaryKind, requestId: string, data: Buffer): boolean {
    if (!this.registered) return false;
    if (this.session?.binaryFrames) return this.queueBulk(kind, encodeBinaryFrame(kind, requestId, data));
    const message = bodyMessage(kind, requestId, data);
    return this.queueBulk(message.type, JSON.stringify(message));
  }

  private queueBulk(type: string, frame: string | Buffer): boolean {
    const bytes = frameBytes(frame);
    if (bytes > this.maxOutgoingFrameBytes) {
      // Never queued: the control plane would close the socket (1009) and every request on it would be lost.
      this.logger.warn('a tunnel frame is larger than the control plane accepts; not sent', { type, bytes, limit: this.maxOutgoingFrameBytes });
      return false;
    }
    if (!this.bulk.length && this.buffered() <= this.highWaterMark) return this.writeFrame(type, frame);
    this.bulk.push({ type, frame });
    this.bulkBytes += bytes;
    this.scheduleBulkDrain();
    if (this.socket) this.checkBacklog(this.socket);
    return true;
  }

  private scheduleBulkDrain(): void {
    if (this.bulkTimer) return;
    const socket = this.socket;
    const drain = (): void => {
      clearTimeout(this.bulkTimer);
      this.bulkTimer = undefined;
      if (!socket || socket !== this.socket || socket.readyState !== WebSocket.OPEN) {
        this.dropBulk();
        return;
      }
      while (this.bulk.length && this.buffered() <= this.highWaterMark) {
        const { type, frame } = this.bulk.shift() as { type: string; frame: string | Buffer };
        this.bulkBytes -= frameBytes(frame);
        this.transmit(socket, type, frame);
      }
      if (!this.congested) for (const resolve of this.writableWaiters.splice(0)) resolve();
      if (this.bulk.length || this.writableWaiters.length) this.scheduleBulkDrain();
    };
    // The TCP socket's 'drain' says when its buffer emptied (ws has no public event for it); a short timer
    // covers what ws itself still queues.
    const raw = (socket as unknown as { _socket?: { once(event: 'drain', listener: () => void): void; writableLength: number } } | undefined)?._socket;
    if (raw && raw.writableLength > 0) raw.once('drain', () => this.bulkTimer && drain());
    this.bulkTimer = setTimeout(drain, raw && raw.writableLength > 0 ? 20 : 1);
  }

  /** The socket is gone: queued bulk frames belong to requests that are aborted with it. */
  private dropBulk(): void {
    this.bulk = [];
    this.bulkBytes = 0;
    clearTimeout(this.bulkTimer);
    this.bulkTimer = undefined;
    for (const resolve of this.writableWaiters.splice(0)) resolve();
  }

  /** Writes a message now, registered or not (register, and the answers a registering socket owes: pong, error). */
  private write<T extends OutboundType>(type: T, payload: OutboundPayloads[T], requestId?: string): boolean {
    return this.writeFrame(type, JSON.stringify(envelope(type, payload, requestId)));
  }

  private writeFrame(type: string, frame: string | Buffer): boolean {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    const bytes = frameBytes(frame);
    if (bytes > this.maxOutgoingFrameBytes) {
      this.logger.error('a frame is larger than the control plane accepts; not sent', { type, bytes, limit: this.maxOutgoingFrameBytes });
      return false;
    }
    this.transmit(socket, type, frame, bytes);
    this.checkBacklog(socket);
    return true;
  }

  /** Sends one frame and counts it (bytes, the largest frame of this socket). */
  private transmit(socket: WebSocket, type: string, frame: string | Buffer, bytes = frameBytes(frame)): void {
    socket.send(frame);
    this.largestSent = Math.max(this.largestSent, bytes);
    metrics.messages.inc({ direction: 'out', type });
    metrics.bytes.inc({ direction: 'out' }, bytes);
  }



  private async token(): Promise<string | undefined> {
    if (this.options.tokenFile) return (await readFile(this.options.tokenFile, 'utf8')).trim();
    return this.options.token;
  }

  private async dial(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'unauthorized') return;
    this.state = 'connecting';
    let token: string | undefined;
    let tls: Awaited<ReturnType<typeof tlsOptions>>;
    try {
      token = await this.token().catch((err: Error) => {
        throw new Error(`reading the token file: ${err.message}`);
      });
      tls = await tlsOptions(this.options.tls);
    } catch (err) {
      this.lastError = (err as Error).message;
      this.logger.error('cannot dial the control plane', { err });
      this.scheduleReconnect();
      return;
    }
    if ((this.state as ConnectionState) === 'stopped') return; // stopped while reading files
    const url = agentSocketUrl(this.options.url);
    const socket = new WebSocket(url, {
      headers: token ? { Authorization: `Bearer ${token}` } : {},
      handshakeTimeout: this.options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
      maxPayload: this.options.maxFrameBytes ?? 16 * 1024 * 1024,
      perMessageDeflate: false,
      ...tls,
      ...(this.options.proxyUrl ? { agent: proxyAgent(this.options.proxyUrl, url, tls) } : {}),
    });
    this.socket = socket;
    this.largestSent = 0;

    socket.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      if (status === 401 || status === 403) {
        this.state = 'unauthorized';
        this.lastError = this.options.tokenFile
          ? `the control plane refused the token (HTTP ${status}); dialling again when ${this.options.tokenFile} changes`
          : `the control plane refused the token (HTTP ${status}); not reconnecting until restarted with a valid token`;
        this.logger.error(this.lastError);
        this.refusedToken = token ?? '';
        this.watchTokenFile();
        this.stateChanged();
      } else {
        this.lastError = `handshake answered HTTP ${status}`;
      }
      socket.terminate();
    });
    socket.on('open', () => void this.onOpen(socket));
    socket.on('message', (data, isBinary) => this.onFrame(socket, data, isBinary));
    socket.on('pong', () => (this.lastFrameAt = Date.now()));
    socket.on('error', (err) => {
      // terminate() after a refused handshake also errors; keep the refusal as the reason.
      if (this.state !== 'unauthorized') this.lastError = err.message;
      this.logger.debug('control-plane socket error', { err });
    });
    socket.on('close', (code, reason) => this.onClose(socket, code, reason.toString()));
  }

  private async onOpen(socket: WebSocket): Promise<void> {
    if (socket !== this.socket) return;
    this.state = 'registering';
    this.lastFrameAt = Date.now();
    this.startKeepAlive(socket);
    let identity;
    try {
      identity = await this.options.identity.load();
    } catch (err) {
      this.identityStatus.problem = (err as Error).message;
      this.logger.warn('could not load the cached cluster identity; registering with the fingerprint alone', { err });
      identity = {};
    }
    const fingerprint = await this.options.fingerprint?.();
    this.identityStatus.fingerprint = fingerprint;
    if (socket !== this.socket || socket.readyState !== WebSocket.OPEN) return; // closed meanwhile
    const payload: RegisterPayload = {
      agent_id: this.options.agentId,
      cluster_name: this.options.clusterName,
      agent_version: this.options.agentVersion,
      k8s_version: this.options.k8sVersion(),
      protocol_versions: [...SUPPORTED_PROTOCOL_VERSIONS],
      role: this.wantSync ? 'sync' : 'tunnel',
      // A replica that reconnects while draining gets no new request from the first moment.
      ...(this.draining ? { draining: true } : {}),
      features: { gateway_routes: true, routes_ack: true, tunnel: true, websocket: true, binary_frames: true, trailers: true },
      metadata: {},
    };
    if (identity.clusterId) payload.cluster_id = identity.clusterId;
    if (fingerprint) payload.cluster_fingerprint = fingerprint;
    const requestId = randomUUID();
    this.write('register', payload, requestId);
    const timeout = setTimeout(() => {
      if (socket === this.socket && this.state === 'registering') {
        this.lastError = 'no answer to register';
        socket.terminate();
      }
    }, this.options.registerTimeoutMs ?? 10_000);
    this.timers.push(timeout);
  }

  private startKeepAlive(socket: WebSocket): void {
    const pingEvery = this.options.pingIntervalMs ?? 10_000;
    const deadAfter = this.options.deadAfterMs ?? 30_000;
    this.timers.push(
      setInterval(() => {
        if (Date.now() - this.lastFrameAt > deadAfter) {
          this.lastError = `no frame for ${deadAfter} ms`;
          this.logger.warn('control-plane socket is silent, dropping it');
          socket.terminate();
          return;
        }
        if (socket.readyState === WebSocket.OPEN) socket.ping();
      }, pingEvery),
    );
  }

  private onFrame(socket: WebSocket, data: WebSocket.RawData, isBinary: boolean): void {
    if (socket !== this.socket) return;
    this.lastFrameAt = Date.now();
    const raw = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    metrics.bytes.inc({ direction: 'in' }, raw.length);
    if (isBinary) return this.onBinaryFrame(raw);
    const text = raw.toString('utf8');
    const parsed = parseFrame<InboundMessage>(text, INBOUND_SCHEMAS);
    if (!parsed.ok) {
      metrics.messages.inc({ direction: 'in', type: 'invalid' });
      // A request or stream the tunnel cannot take is answered as one, so the gateway's client is not left waiting.
      if (parsed.code === 'bad_payload' && parsed.requestId && (parsed.type === 'proxy_request' || parsed.type === 'ws_open')) {
        metrics.tunnelRefused.inc();
        this.logger.warn('refused a malformed tunnel request', { controller: 'tunnel', requestId: parsed.requestId, err: parsed.error });
        this.write(parsed.type === 'ws_open' ? 'ws_error' : 'proxy_error', { status: 400, error: parsed.error }, parsed.requestId);
        return;
      }
      if (parsed.code === 'unknown_type') {
        if (this.repliedUnknownTypes.has(parsed.type ?? '')) return;
        // Bounded: a peer inventing types must not grow this set; past it every unknown type is answered.
        if (this.repliedUnknownTypes.size < 64) this.repliedUnknownTypes.add(parsed.type ?? '');
      }
      this.reject(parsed.code, parsed.error, parsed.type, parsed.requestId);
      // A registration answer out of bounds (a resume_revision the clock could never pass, say) is not taken:
      // this socket cannot be used, so do not wait for the register timeout.
      if (parsed.type === 'register_success' && this.state === 'registering') {
        this.lastError = `the control plane's register_success was refused: ${parsed.error}`;
        this.logger.error(this.lastError);
        socket.terminate();
      }
      return;
    }
    const message = parsed.message;
    metrics.messages.inc({ direction: 'in', type: message.type });
    if (isTunnelMessage(message.type) && this.state !== 'ready') return; // no request is taken before registration
    switch (message.type) {
      case 'ping':
        this.write('pong', {}, message.request_id);
        return;
      case 'register_success':
        void this.onRegistered(message.payload);
        return;
      case 'sync_granted':
        this.onSyncGranted(message.payload);
        return;
      case 'sync_revoked':
        this.onSyncRevoked(message.payload.reason);
        return;
      case 'drain_ack':
        this.drainAcked = true;
        for (const waiter of this.drainAckWaiters.splice(0)) waiter();
        return;
      case 'connections':
        this.countConnections(message.payload.count, message.payload.draining);
        this.stateChanged();
        return;
      case 'error':
        if (this.state === 'registering') {
          this.lastError = `registration refused: ${message.payload.code} ${message.payload.message ?? ''}`.trim();
          this.logger.error('the control plane refused registration', { code: message.payload.code, detail: message.payload.message });
        } else {
          this.logger.warn('the control plane reported an error', { code: message.payload.code, detail: message.payload.message, type: message.payload.type });
        }
        break;
      default:
        break;
    }
    this.handlers.onMessage?.(message);
    for (const listener of this.messageListeners) listener(message);
  }

  /** A binary frame: bytes for a request or stream, as the JSON message it stands for would carry them. */
  private onBinaryFrame(frame: Buffer): void {
    if (this.state !== 'ready') return; // the session (and its binary frames) is the previous socket's
    if (!this.session?.binaryFrames) return this.reject('bad_envelope', 'binary frames were not agreed on this socket');
    const decoded = decodeBinaryFrame(frame);
    if (!decoded.ok) return this.reject('bad_envelope', decoded.error);
    const { kind, requestId, data } = decoded;
    let message: InboundMessage;
    if (kind === 'proxy_request_chunk') message = { type: kind, request_id: requestId, payload: { data }, timestamp: '' };
    else if (kind === 'ws_message_text' || kind === 'ws_message_binary') message = { type: 'ws_message', request_id: requestId, payload: { data, binary: kind === 'ws_message_binary' }, timestamp: '' };
    else return this.reject('bad_envelope', `a binary ${kind} frame is not sent to an agent`);
    metrics.messages.inc({ direction: 'in', type: message.type });
    this.handlers.onMessage?.(message);
    for (const listener of this.messageListeners) listener(message);
  }

  private reject(code: string, error: string, type?: string, requestId?: string): void {
    this.logger.warn('invalid frame from the control plane', { code, err: error, type });
    const payload: ErrorPayload = { code, message: error };
    if (type) payload.type = type;
    this.write('error', payload, requestId);
  }

  private async onRegistered(payload: RegisterSuccessPayload): Promise<void> {
    if (this.state !== 'registering') return;
    if (!SUPPORTED_PROTOCOL_VERSIONS.includes(payload.protocol_version)) {
      this.lastError = `the control plane chose protocol version ${payload.protocol_version}; this operator speaks ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}`;
      this.logger.error(this.lastError);
      this.socket?.terminate();
      return;
    }
    this.session = {
      clusterId: payload.cluster_id,
      clusterUuid: payload.cluster_uuid,
      protocolVersion: payload.protocol_version,
      resumeRevision: payload.resume_revision,
      maxFrameBytes: payload.max_frame_bytes,
      binaryFrames: payload.binary_frames === true,
      trailers: payload.trailers === true,
      // A control plane that does not say (version 2) gives the role asked for: one connection per cluster.
      role: payload.role ?? (this.wantSync ? 'sync' : 'tunnel'),
    };
    if (payload.connections !== undefined) this.countConnections(payload.connections);
    if (payload.gateway_address) this.session.gatewayAddress = gatewayAddressOf(payload.gateway_address);
    this.state = 'ready';
    this.lastError = undefined;
    // The backoff starts from its minimum again only once this connection proved stable: a peer that
    // accepts the registration and then drops the socket (e.g. over a frame it refuses) is not hammered.
    const socket = this.socket;
    this.timers.push(
      setTimeout(() => {
        if (socket === this.socket && this.registered) this.backoff.reset();
      }, this.options.stableAfterMs ?? 30_000),
    );
    metrics.socketConnected.set(1);
    this.logger.info(this.connectedOnce ? 'reconnected to the control plane' : 'registered with the control plane', {
      clusterId: payload.cluster_id,
      role: this.session.role,
      gatewayAddress: this.session.gatewayAddress,
    });
    this.connectedOnce = true;
    this.options.identity.save({ clusterId: payload.cluster_id, clusterUuid: payload.cluster_uuid }).then(
      () => {
        const changed = this.identityStatus.cached !== true;
        this.identityStatus = { fingerprint: this.identityStatus.fingerprint, cached: true };
        if (changed) this.stateChanged();
      },
      (err: unknown) => {
        const problem = (err as Error).message;
        const changed = this.identityStatus.problem !== problem || this.identityStatus.cached !== false;
        this.identityStatus = { fingerprint: this.identityStatus.fingerprint, cached: false, problem };
        const resumesBy = this.identityStatus.fingerprint ? 'restarts resume this cluster by its fingerprint' : 'no fingerprint either: a restart registers a new cluster';
        this.logger.warn(`could not cache the cluster identity; ${resumesBy}`, { err });
        if (changed) this.stateChanged();
      },
    );
    this.sendHeartbeat();
    this.timers.push(setInterval(() => this.sendHeartbeat(), this.options.heartbeatIntervalMs ?? 30_000));
    this.drainAcked = false;
    if (this.draining) this.write('drain', {});
    if (this.session.role === 'sync') this.handlers.onReady?.(this.session);
    // Leadership came while registering as a tunnel connection: claim the role now.
    else if (this.wantSync) this.sendClaim();
    this.stateChanged();
  }

  /** A count without the draining ones (register_success, sync_granted) keeps the last draining count. */
  private countConnections(count: number, draining = this.clusterConnections?.draining ?? 0): void {
    this.clusterConnections = { count, draining };
  }

  private onSyncGranted(payload: SyncGrantedPayload): void {
    if (!this.session || this.session.role === 'sync' || !this.wantSync) return;
    // A new session object: a snapshot still being written for the old one sees it is no longer current.
    this.session = { ...this.session, role: 'sync', resumeRevision: payload.resume_revision };
    this.countConnections(payload.connections);
    this.logger.info('this connection carries the route sync now', { clusterId: this.session.clusterId, connections: payload.connections });
    this.sendHeartbeat();
    this.handlers.onReady?.(this.session);
    this.stateChanged();
  }

  /** Another replica's connection claimed the route sync (it leads now); this one keeps carrying traffic. */
  private onSyncRevoked(reason: string): void {
    if (!this.session || this.session.role !== 'sync') return;
    this.session = { ...this.session, role: 'tunnel' };
    this.wantSync = false;
    this.logger.warn('the control plane moved the route sync to another connection', { reason });
    this.handlers.onDisconnected?.();
    this.stateChanged();
  }

  /** Only the sync connection's: its metadata (routing mode, Prometheus) is the leader's, which a standby does not compute. */
  sendHeartbeat(): void {
    if (!this.ready || !this.session) return;
    const { status, ...metadata } = this.options.heartbeat();
    const payload: HeartbeatPayload = {
      cluster_id: this.session.clusterId,
      agent_id: this.options.agentId,
      status: status ?? 'healthy',
      tunnel_status: 'connected',
      metadata,
    };
    if (this.write('heartbeat', payload)) {
      this.lastHeartbeatAt = new Date();
      metrics.lastHeartbeat.set(this.lastHeartbeatAt.getTime() / 1000);
    }
  }

  private onClose(socket: WebSocket, code: number, reason: string): void {
    if (socket !== this.socket) return;
    this.clearTimers();
    this.dropBulk();
    if (code === 1009) {
      // The peer refused a frame as too large: never send one that size again. Halving (not "one byte
      // less") finds a limit the peer takes in a few reconnects, whatever it is.
      this.learntFrameLimit = Math.min(this.learntFrameLimit, Math.max(16 * 1024, Math.floor(this.largestSent / 2)));
      this.lastError = `the control plane closed the socket over a frame of up to ${this.largestSent} bytes (1009); frames stay at or below ${this.learntFrameLimit} bytes now`;
      this.logger.error(this.lastError, { reason });
    }
    const wasReady = this.state === 'ready';
    const hadSync = wasReady && this.session?.role === 'sync';
    metrics.socketConnected.set(0);
    metrics.routeSyncConnection.set(0);
    if (this.state === 'stopped' || this.state === 'unauthorized') return;
    this.state = 'disconnected';
    if (hadSync) this.handlers.onDisconnected?.();
    if (wasReady) {
      this.logger.warn('control-plane socket closed', { code, reason });
      this.stateChanged();
    }
    this.scheduleReconnect();
  }

  /** After a refusal: poll the token file (a mounted Secret is swapped, not edited) and dial once it changes. */
  private watchTokenFile(): void {
    if (!this.options.tokenFile || this.tokenPoll) return;
    this.tokenPoll = setInterval(() => {
      void this.token().then(
        (current) => {
          if (this.state !== 'unauthorized' || current === this.refusedToken) return;
          clearInterval(this.tokenPoll);
          this.tokenPoll = undefined;
          this.logger.info('the token file changed; dialling the control plane again');
          this.state = 'disconnected';
          this.backoff.reset();
          void this.dial();
        },
        () => undefined, // missing while the Secret is being swapped: try again on the next tick
      );
    }, this.options.tokenPollMs ?? 2_000);
  }

  private scheduleReconnect(): void {
    if (this.state === 'stopped' || this.state === 'unauthorized') return;
    this.state = 'disconnected';
    const delay = this.backoff.next();
    this.reconnects++;
    metrics.reconnects.inc();
    this.reconnectTimer = setTimeout(() => void this.dial(), delay);
  }

  private clearTimers(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers = [];
  }
}

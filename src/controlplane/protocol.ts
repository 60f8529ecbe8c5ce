// Control-plane protocol, version 3 (docs/protocol.md), both ends' one definition of it: every message type
// with its payload, each direction as a map (InboundPayloads, OutboundPayloads), the schemas each end checks
// the other's frames with, and the frame encodings. Inbound and outbound are named from the agent's side:
// the operator sends OutboundPayloads and parses InboundPayloads, the reference control plane the reverse.
// Pure.
import { isIP } from 'node:net';
import { PATH_TYPES, type PathType, type RoutingMode } from '../api/v1alpha1/types.js';

export { wireRouteKey } from '../api/v1alpha1/route-key.js';

export const PROTOCOL_VERSION = 3;
/**
 * The versions this operator speaks, offered in `register`; the control plane picks one. Version 3 only: a
 * version 2 control plane keeps one socket per cluster and would close every standby's (4000).
 */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly number[] = [PROTOCOL_VERSION];
/** The versions the reference control plane serves: a version 2 agent is one sync connection per cluster. */
export const SERVED_PROTOCOL_VERSIONS: readonly number[] = [2, PROTOCOL_VERSION];

/**
 * A connection's role (version 3): every replica's connection carries tunnel traffic; exactly one per
 * cluster, the leader's, also carries the route sync.
 */
export type ConnectionRole = 'sync' | 'tunnel';
export const isConnectionRole = (v: unknown): v is ConnectionRole => v === 'sync' || v === 'tunnel';
export const AGENT_WS_PATH = '/api/v1/clusters/agent/ws';
/** Snapshot frames are cut to stay under this many bytes unless configured otherwise. */
export const DEFAULT_FRAME_BUDGET_BYTES = 1024 * 1024;

export interface Envelope<T extends string = string, P = unknown> {
  type: T;
  request_id?: string;
  payload: P;
  timestamp: string;
}

/** A route's pathType is sent as the CRD spells it. */
export type PathTypeWire = PathType;

/** One host + path of a GatewayRoute, as sent. What identifies its GatewayRoute is sent once, in WireGatewayRoute. */
export interface WireRouteBody {
  host: string;
  path: string;
  path_type: PathTypeWire;
  service: string;
  /** The Service's namespace when it is not the GatewayRoute's (an HTTPRoute backend a ReferenceGrant allows). */
  service_namespace?: string;
  port: number;
  tls: boolean;
}

/** The fields a route is sent with (its key is not sent: both ends derive it, see wireRouteKey). */
export const WIRE_ROUTE_FIELDS: ReadonlyArray<keyof WireRouteBody> = ['host', 'path', 'path_type', 'service', 'service_namespace', 'port', 'tls'];

/** A route with its key, as both ends hold it. */
export interface WireRoute extends WireRouteBody {
  key: string;
}

/** The route as sent: its key left out. */
export function wireRouteBody(route: WireRoute): WireRouteBody {
  const body: WireRouteBody = { host: route.host, path: route.path, path_type: route.path_type, service: route.service, port: route.port, tls: route.tls };
  if (route.service_namespace) body.service_namespace = route.service_namespace;
  return body;
}

/** What a route belongs to: sent once per GatewayRoute in a snapshot chunk or a change. */
export interface WireGatewayRouteMeta {
  namespace: string;
  name: string;
  /** The object the GatewayRoute was made from; absent for a hand-written one. */
  source?: { kind: string; name: string };
  annotations: Record<string, string>;
}

/** A GatewayRoute with its routes (held with their keys; sent without them). */
export interface WireGatewayRoute extends WireGatewayRouteMeta {
  routes: WireRoute[];
}

/** A route with the namespace its backend lives in: what the tunnel matches and may reach. */
export interface ExposedRoute extends WireRoute {
  namespace: string;
}

export interface RegisterPayload {
  agent_id: string;
  cluster_name: string;
  cluster_id?: string;
  /**
   * What this cluster is as long as it exists (the UID of its kube-system Namespace): with the same credential
   * the control plane resumes the same cluster for it, even when the cached cluster_id is lost.
   */
  cluster_fingerprint?: string;
  agent_version: string;
  k8s_version: string;
  /** The versions the agent speaks; absent from a version 1 agent. */
  protocol_versions?: number[];
  /** Version 3: the role asked for (absent: sync, as every version 2 connection). */
  role?: ConnectionRole;
  /** Version 3: a replica that reconnects while draining: send it nothing new (as after `drain`). */
  draining?: boolean;
  features: Record<string, boolean>;
  metadata: Record<string, unknown>;
}

export interface RegisterSuccessPayload {
  /** The control plane takes and sends binary frames (bodies and WebSocket data) on this socket. */
  binary_frames?: boolean;
  /**
   * The control plane takes response trailers (`proxy_response_end.trailers`) and passes `TE: trailers` on to
   * the agent on this socket (the agent offered `features.trailers`): HTTP/2 semantics such as gRPC's status.
   */
  trailers?: boolean;
  cluster_id: string;
  cluster_uuid: string;
  protocol_version: number;
  /** The highest route revision the control plane applied for this cluster: the agent continues above it. */
  resume_revision: number;
  /** The largest frame the control plane accepts; bigger ones close the socket with 1009. */
  max_frame_bytes?: number;
  /**
   * Where the hosted gateway takes this cluster's traffic (added to version 2 without a version bump: an agent
   * that does not know it ignores it). Ingresses of the operator's IngressClass show it as their address.
   */
  gateway_address?: GatewayAddress;
  /** Version 3: the role this connection has; `resume_revision` matters only to the sync role. */
  role?: ConnectionRole;
  /** Version 3: how many connections the control plane holds for the cluster, this one included. */
  connections?: number;
}

/** Version 3, control plane → agent, answering `sync_claim`: this connection carries the route sync now. */
export interface SyncGrantedPayload {
  resume_revision: number;
  connections: number;
}

/** Version 3, control plane → agent: another connection of the cluster claimed the route sync. */
export interface SyncRevokedPayload {
  reason: string;
}

/** Version 3, control plane → agent (the sync connection): the cluster's connections, sent when they change. */
export interface ConnectionsPayload {
  /** Open connections of the cluster, draining ones included. */
  count: number;
  draining: number;
}

/** An address as Kubernetes' status.loadBalancer.ingress[] holds one: a DNS name, an IP, or both. */
export interface GatewayAddress {
  hostname?: string;
  ip?: string;
}

export interface HeartbeatPayload {
  cluster_id: string;
  agent_id: string;
  status: 'healthy' | 'degraded';
  tunnel_status: string;
  metadata: {
    is_private: boolean;
    routing_mode: 'tunnel' | 'direct';
    public_endpoint?: string;
    gateway_routes: number;
    k8s_version: string;
    agent_version: string;
    prometheus?: { namespace: string; service: string; port: number; url: string };
  };
}

export interface RoutesSyncBeginPayload {
  cluster_uuid: string;
  revision: number;
  routing_mode: RoutingMode;
  public_endpoint?: string;
}

/**
 * A GatewayRoute as a snapshot chunk carries it: its routes without their keys, and the whole of it or one
 * part of one too large for a chunk (its first part carries annotations and source, later parts only
 * namespace, name and further routes).
 */
export interface WireGatewayRoutePart extends Omit<WireGatewayRouteMeta, 'annotations'> {
  annotations?: Record<string, string>;
  routes: WireRouteBody[];
}

export interface RoutesSyncChunkPayload {
  revision: number;
  gateway_routes: WireGatewayRoutePart[];
}

export interface RoutesSyncEndPayload {
  revision: number;
  chunks: number;
  routes: number;
}

/**
 * One GatewayRoute's change against what the control plane holds for it: `upsert` adds or replaces routes
 * by key, `remove` drops keys, `deleted` drops the GatewayRoute with every route. `source` and
 * `annotations` are sent when they changed (absent: unchanged).
 */
export interface RoutesChangePayload {
  cluster_uuid: string;
  revision: number;
  namespace: string;
  name: string;
  deleted?: boolean;
  source?: { kind: string; name: string };
  annotations?: Record<string, string>;
  upsert: WireRouteBody[];
  remove: string[];
}

export interface RoutesAckPayload {
  revision: number;
  accepted: string[];
  rejected: Array<{ key: string; reason: string }>;
}

export interface RoutesNackPayload {
  revision: number;
  code: string;
  message: string;
  retryable: boolean;
  /** With stale_revision: the revision the control plane holds; the agent continues above it. */
  current_revision?: number;
}

export interface ErrorPayload {
  code: string;
  message?: string;
  type?: string;
}

/** A message without fields (ping, pong, heartbeat_ack, the ends of bodies, proxy_cancel). */
export type EmptyPayload = Record<string, never>;

/** The bytes of a request or response body: base64 in a JSON frame, bytes from a binary frame. */
export interface BodyChunkPayload {
  data: string | Buffer;
}

/** Backpressure for one request or stream, either way: pause (or resume) sending its body or messages. */
export interface FlowPayload {
  paused: boolean;
}

export interface ProxyRequestPayload {
  method: string;
  path: string;
  query?: string;
  headers: Record<string, string | string[]>;
  body?: string;
  host: string;
  namespace?: string;
  service_name?: string;
  service_port?: number;
  timeout_ms?: number;
  /** Who sent the request, as the gateway names it (its address): the tunnel's fair share is per client. */
  client?: string;
}

/** A whole response: a small body of known length, base64. */
export interface ProxyResponsePayload {
  status: number;
  headers: Record<string, string | string[]>;
  body: string;
}

/** The start of a streamed response: its body follows as proxy_response_chunk frames, then proxy_response_end. */
export interface ProxyResponseHeaderPayload {
  status: number;
  headers: Record<string, string | string[]>;
}

/**
 * The end of a streamed response. `trailers`: the backend's trailer fields (gRPC's grpc-status and
 * grpc-message), only on a socket that agreed to them (register_success.trailers); held to limits of their
 * own, and one string per name (TRAILER_LIMITS: a list is refused when parsed).
 */
export interface ProxyResponseEndPayload {
  trailers?: Record<string, string | string[]>;
}

/** No answer from the backend (proxy_error) or no stream (ws_error): the status the client gets, and why. */
export interface ExchangeErrorPayload {
  status: number;
  error: string;
}

/** Opens a WebSocket stream to a backend: the upgrade request, without its hop-by-hop and handshake headers. */
export interface WebSocketOpenPayload {
  path: string;
  query?: string;
  headers: Record<string, string | string[]>;
  host: string;
  /** Subprotocols the client offered (Sec-WebSocket-Protocol), in its order. */
  protocols?: string[];
  namespace?: string;
  service_name?: string;
  service_port?: number;
  /** As in proxy_request. */
  client?: string;
}

/** The backend's upgrade succeeded, with the subprotocol it chose (empty or absent: none). */
export interface WebSocketOpenedPayload {
  protocol?: string;
}

/** One WebSocket message of a stream, either way (data: base64 in a JSON frame, bytes from a binary frame). */
export interface WebSocketMessagePayload {
  data: string | Buffer;
  binary: boolean;
}

/** The end of a stream, either way: the close code and reason to pass on (absent: none was given). */
export interface WebSocketClosePayload {
  code?: number;
  reason?: string;
}

/** Control plane → agent: each message type and its payload. */
export interface InboundPayloads {
  register_success: RegisterSuccessPayload;
  sync_granted: SyncGrantedPayload;
  sync_revoked: SyncRevokedPayload;
  connections: ConnectionsPayload;
  /**
   * Version 3, answering `drain`: nothing new is sent on this connection from here on (a request sent before
   * it arrives before it: the socket keeps order), so once it came, what is in flight is all there is.
   */
  drain_ack: EmptyPayload;
  heartbeat_ack: EmptyPayload;
  routes_ack: RoutesAckPayload;
  routes_nack: RoutesNackPayload;
  error: ErrorPayload;
  ping: EmptyPayload;
  proxy_request: ProxyRequestPayload;
  proxy_request_chunk: BodyChunkPayload;
  proxy_request_end: EmptyPayload;
  proxy_cancel: EmptyPayload;
  proxy_flow: FlowPayload;
  ws_open: WebSocketOpenPayload;
  ws_message: WebSocketMessagePayload;
  ws_close: WebSocketClosePayload;
  ws_flow: FlowPayload;
}

/** Agent → control plane: each message type and its payload. */
export interface OutboundPayloads {
  register: RegisterPayload;
  /** Version 3: this connection takes the route-sync role (the replica leads now); answered by sync_granted. */
  sync_claim: EmptyPayload;
  /** Version 3: this replica is going away: send it no new request or stream; those in flight finish. */
  drain: EmptyPayload;
  heartbeat: HeartbeatPayload;
  routes_sync_begin: RoutesSyncBeginPayload;
  routes_sync_chunk: RoutesSyncChunkPayload;
  routes_sync_end: RoutesSyncEndPayload;
  routes_change: RoutesChangePayload;
  pong: EmptyPayload;
  error: ErrorPayload;
  proxy_response: ProxyResponsePayload;
  proxy_response_header: ProxyResponseHeaderPayload;
  proxy_response_chunk: BodyChunkPayload;
  proxy_response_end: ProxyResponseEndPayload;
  proxy_error: ExchangeErrorPayload;
  proxy_flow: FlowPayload;
  ws_opened: WebSocketOpenedPayload;
  ws_error: ExchangeErrorPayload;
  ws_message: WebSocketMessagePayload;
  ws_close: WebSocketClosePayload;
  ws_flow: FlowPayload;
}

export type InboundType = keyof InboundPayloads;
export type OutboundType = keyof OutboundPayloads;

/** One envelope per message type of a payload map: a union that narrows on `type`. */
type MessageOf<Payloads> = { [T in keyof Payloads & string]: Envelope<T, Payloads[T]> }[keyof Payloads & string];

/** Messages the control plane sends to the agent. */
export type InboundMessage = MessageOf<InboundPayloads>;

/** Messages the agent sends to the control plane. */
export type OutboundMessage = MessageOf<OutboundPayloads>;

declare const encodes: unique symbol;
/** A payload already encoded as JSON text, typed by what it encodes (snapshot chunks are encoded once, when measured). */
export type PayloadJson<P> = string & { readonly [encodes]: P };

export type ParseResult<T> = { ok: true; message: T } | { ok: false; code: 'bad_json' | 'bad_envelope' | 'unknown_type' | 'bad_payload'; error: string; type?: string; requestId?: string };

// Field checks for payload schemas; both ends of the protocol validate with these.
export type FieldCheck = (value: unknown) => boolean;
export const isString: FieldCheck = (v) => typeof v === 'string';
export const isNumber: FieldCheck = (v) => typeof v === 'number' && Number.isFinite(v);
export const isBool: FieldCheck = (v) => typeof v === 'boolean';
export const isObject: FieldCheck = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
export const isArray: FieldCheck = Array.isArray;
export const optional = (check: FieldCheck): FieldCheck => (v) => v === undefined || check(v);
export const nonEmptyString: FieldCheck = (v) => typeof v === 'string' && v.length > 0;
/** Revisions are non-negative integers that JSON carries exactly. */
export const isRevision: FieldCheck = (v) => Number.isSafeInteger(v) && (v as number) >= 0;
export const isRoutingMode: FieldCheck = (v) => v === 'tunnel' || v === 'direct';

export type Schema = Record<string, FieldCheck>;

export function checkFields(payload: unknown, schema: Schema, where: string): string | undefined {
  if (!isObject(payload)) return `${where}: payload must be an object`;
  for (const [field, check] of Object.entries(schema)) {
    if (!check((payload as Record<string, unknown>)[field])) return `${where}: field "${field}" is missing or of the wrong type`;
  }
  return undefined;
}

/**
 * Limits every inbound field is held to at parse time (docs/protocol.md, "Limits"): a frame past one is
 * refused as a whole, before any of it is acted on.
 */
export const LIMITS = {
  /** request_id: printable ASCII; binary frames carry its length in one byte. */
  requestIdChars: 128,
  headerCount: 256,
  headerBytes: 64 * 1024,
  /** Trailers (proxy_response_end) are counted as headers are, with limits of their own. */
  trailerCount: 256,
  trailerBytes: 64 * 1024,
  hostChars: 261,
  methodChars: 32,
  /** setTimeout's largest delay; a larger timeout_ms would fire at once. */
  timeoutMs: 2_147_483_647,
  subprotocols: 32,
  /** A WebSocket close reason is cut to 123 bytes when passed on; a longer one is not worth parsing. */
  closeReasonChars: 1024,
  identifierChars: 253,
  /**
   * The highest resume_revision taken from a control plane: 2^52 leaves room for 2^52 more revisions below
   * Number.MAX_SAFE_INTEGER (a revision that cannot grow would leave every change unacknowledgeable).
   */
  resumeRevision: 2 ** 52,
  /** A message type: the longest is 21 characters. */
  typeChars: 64,
  /** Keys in one routes_ack (accepted + rejected): a GatewayRoute holds at most 1,000 routes, a snapshot more. */
  ackKeys: 1_000_000,
} as const;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Header values: visible ASCII and Latin-1, spaces and tabs; no CR, LF or NUL.
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const PRINTABLE = /^[\x21-\x7e]+$/;
// A Host header: a DNS name or an IP literal, with an optional port; no userinfo, path or spaces.
const HOST = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]*)(:[0-9]{1,5})?$/;
// Kubernetes names: a DNS label (lower case, digits, inner dashes) and a DNS subdomain (labels and dots).
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export const isRequestId: FieldCheck = (v) => typeof v === 'string' && v.length <= LIMITS.requestIdChars && PRINTABLE.test(v);
export const isHttpToken = (v: unknown, maxChars = 256): boolean => typeof v === 'string' && v.length <= maxChars && TOKEN.test(v);
const isHost: FieldCheck = (v) => typeof v === 'string' && v.length <= LIMITS.hostChars && HOST.test(v);
const isDnsLabel: FieldCheck = (v) => typeof v === 'string' && v.length <= 63 && LABEL.test(v);
const isPort: FieldCheck = (v) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;
const isIdentifier: FieldCheck = (v) => typeof v === 'string' && v.length <= LIMITS.identifierChars && PRINTABLE.test(v);
/** A count of one cluster's connections (the reference control plane holds at most 64 per cluster). */
const isConnectionCount: FieldCheck = (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 1_000_000;
const isTimeout: FieldCheck = (v) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= LIMITS.timeoutMs;

/**
 * Why `v` is not a field section (headers or trailers) within `limits`, or undefined when it is one: names are
 * tokens, values strings (or, where `limits.lists` allows, lists of them) without CR, LF or NUL, at most
 * `count` entries and `bytes` of names and values together.
 */
export function invalidFieldSection(v: unknown, limits: { count: number; bytes: number; lists?: boolean }, what = 'headers'): string | undefined {
  if (!isObject(v)) return `${what} must be an object`;
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length > limits.count) return `${entries.length} ${what}, more than ${limits.count}`;
  const lists = limits.lists ?? true;
  let bytes = 0;
  for (const [name, value] of entries) {
    const values = typeof value === 'string' ? [value] : lists && Array.isArray(value) ? value : undefined;
    if (!isHttpToken(name)) return `${what} name ${quoted(name)} is not a token`;
    if (!values) return `${what} ${name} must be ${lists ? 'a string or a list of strings' : 'a single string'}`;
    for (const one of values) {
      if (typeof one !== 'string' || !HEADER_VALUE.test(one)) return `${what} ${name} has a value that is not a string without CR, LF or NUL`;
      bytes += name.length + one.length;
    }
  }
  return bytes <= limits.bytes ? undefined : `${what} of ${bytes} bytes, more than ${limits.bytes}`;
}

const HEADER_LIMITS = { count: LIMITS.headerCount, bytes: LIMITS.headerBytes };
/** Trailers: one string per name (an HTTP/2 trailer HEADERS frame takes no list under several names, e.g. date). */
export const TRAILER_LIMITS = { count: LIMITS.trailerCount, bytes: LIMITS.trailerBytes, lists: false };

/** Header names are tokens, values hold no CR, LF or NUL, and there are not too many of them. */
export const headersOk: FieldCheck = (v) => invalidFieldSection(v, HEADER_LIMITS) === undefined;

/** Trailers (proxy_response_end): checked as headers are, against their own limits. */
export const trailersOk: FieldCheck = (v) => invalidFieldSection(v, TRAILER_LIMITS, 'trailers') === undefined;

const subprotocolsOk: FieldCheck = (v) =>
  isArray(v) && (v as unknown[]).length <= LIMITS.subprotocols && (v as unknown[]).every((p) => isHttpToken(p)) && new Set(v as string[]).size === (v as unknown[]).length;

/** The backend a request names explicitly (all three or none; the tunnel checks it against the routes). */
const EXPLICIT_TARGET: Schema = { namespace: optional(isDnsLabel), service_name: optional(isDnsLabel), service_port: optional(isPort) };

/** WebSocket stream frames, the same both ways. */
const WEBSOCKET_MESSAGE_SCHEMA: Schema = { data: isString, binary: isBool };
const WEBSOCKET_CLOSE_SCHEMA: Schema = {
  code: optional((v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535),
  reason: optional((v) => typeof v === 'string' && v.length <= LIMITS.closeReasonChars),
};

/** What the agent checks the control plane's frames with. */
export const INBOUND_SCHEMAS: Record<InboundType, Schema> = {
  register_success: {
    cluster_id: (v) => nonEmptyString(v) && isIdentifier(v),
    cluster_uuid: (v) => nonEmptyString(v) && isIdentifier(v),
    protocol_version: isNumber,
    resume_revision: (v) => isRevision(v) && (v as number) <= LIMITS.resumeRevision,
    max_frame_bytes: optional((v) => Number.isInteger(v) && (v as number) >= 1024),
    binary_frames: optional(isBool),
    trailers: optional(isBool),
    gateway_address: optional((v) => invalidGatewayAddress(v) === undefined),
    role: optional(isConnectionRole),
    connections: optional(isConnectionCount),
  },
  sync_granted: {
    resume_revision: (v) => isRevision(v) && (v as number) <= LIMITS.resumeRevision,
    connections: isConnectionCount,
  },
  sync_revoked: { reason: (v) => typeof v === 'string' && v.length <= 1024 },
  connections: { count: isConnectionCount, draining: isConnectionCount },
  drain_ack: {},
  heartbeat_ack: {},
  routes_ack: {
    revision: isRevision,
    accepted: (v) => isArray(v) && (v as unknown[]).length <= LIMITS.ackKeys && (v as unknown[]).every(isString),
    rejected: (v) =>
      isArray(v) && (v as unknown[]).length <= LIMITS.ackKeys && (v as unknown[]).every((r) => isObject(r) && isString((r as { key?: unknown }).key) && isString((r as { reason?: unknown }).reason)),
  },
  routes_nack: {
    revision: isRevision,
    code: nonEmptyString,
    message: isString,
    retryable: isBool,
    // Bounded like resume_revision: a revision the clock jumps to must leave it room to grow.
    current_revision: optional((v) => isRevision(v) && (v as number) <= LIMITS.resumeRevision),
  },
  error: { code: isString, message: optional(isString) },
  ping: {},
  proxy_request: {
    method: (v) => isHttpToken(v, LIMITS.methodChars),
    path: isString,
    query: optional(isString),
    headers: headersOk,
    body: optional(isString),
    host: isHost,
    ...EXPLICIT_TARGET,
    timeout_ms: optional(isTimeout),
    client: optional(isIdentifier),
  },
  proxy_request_chunk: { data: isString },
  proxy_request_end: {},
  proxy_cancel: {},
  proxy_flow: { paused: isBool },
  ws_open: {
    path: isString,
    query: optional(isString),
    headers: headersOk,
    host: isHost,
    protocols: optional(subprotocolsOk),
    ...EXPLICIT_TARGET,
    client: optional(isIdentifier),
  },
  ws_message: WEBSOCKET_MESSAGE_SCHEMA,
  ws_close: WEBSOCKET_CLOSE_SCHEMA,
  ws_flow: { paused: isBool },
};

/** A cluster_fingerprint as accepted on the wire: 1-128 printable ASCII characters (0x21-0x7E). */
export const isClusterFingerprint: FieldCheck = (v) => typeof v === 'string' && v.length <= 128 && PRINTABLE.test(v);

/**
 * A final status the gateway can answer a client with. 1xx are informational (Node sends them ahead of
 * the answer and the client keeps waiting for one), and 101 would switch protocols, so neither is final.
 */
export const isFinalStatus: FieldCheck = (v) => Number.isInteger(v) && (v as number) >= 200 && (v as number) <= 599;

/**
 * The names HTTP/2 allows once in a header section (Node's list, kSingleValueHeaders in node:http2): a list
 * under one of them cannot be written to an HTTP/2 client, so an answer that carries one is refused.
 */
export const SINGLE_VALUE_HEADERS: ReadonlySet<string> = new Set(
  [
    ':status', ':method', ':authority', ':scheme', ':path', ':protocol',
    'access-control-allow-credentials', 'access-control-max-age', 'access-control-request-method',
    'age', 'authorization', 'content-encoding', 'content-language', 'content-length', 'content-location', 'content-md5',
    'content-range', 'content-type', 'date', 'dnt', 'etag', 'expires', 'from', 'host', 'if-match', 'if-modified-since',
    'if-none-match', 'if-range', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards',
    'proxy-authorization', 'range', 'referer', 'retry-after', 'tk', 'upgrade-insecure-requests', 'user-agent',
    'x-content-type-options',
  ],
);

/**
 * Why a header map from an agent cannot be written to a client (names are tokens, values have no CR, LF or NUL,
 * a list only under a name that may repeat: SINGLE_VALUE_HEADERS), or undefined when it can.
 */
export function invalidHeaders(headers: unknown): string | undefined {
  if (!isObject(headers)) return 'headers must be an object';
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
    if (!TOKEN.test(name)) return `header name ${JSON.stringify(name)} is not a token`;
    const values = Array.isArray(value) ? (value as unknown[]) : [value];
    for (const v of values) {
      if (typeof v !== 'string') return `header ${name} must be a string or a list of strings`;
      if (!HEADER_VALUE.test(v)) return `header ${name} has a control character in its value`;
    }
    if (values.length > 1 && SINGLE_VALUE_HEADERS.has(name.toLowerCase())) return `header ${name} may have one value only, not a list`;
  }
  return undefined;
}

const isHeaderMap: FieldCheck = (v) => invalidHeaders(v) === undefined;
const isStringList: FieldCheck = (v) => isArray(v) && (v as unknown[]).every(isString);

/** What the control plane checks an agent's frames with. GatewayRoutes and routes inside are checked as they are applied (invalidMeta, invalidRoute). */
export const OUTBOUND_SCHEMAS: Record<OutboundType, Schema> = {
  register: {
    agent_id: nonEmptyString,
    cluster_name: nonEmptyString,
    cluster_id: optional(isString),
    cluster_fingerprint: optional(isClusterFingerprint),
    agent_version: isString,
    k8s_version: isString,
    // Absent: a version 1 agent, which the control plane answers with unsupported_protocol_version.
    protocol_versions: optional((v) => isArray(v) && (v as unknown[]).every(isNumber)),
    role: optional(isConnectionRole),
    draining: optional(isBool),
    features: isObject,
    metadata: isObject,
  },
  sync_claim: {},
  drain: {},
  heartbeat: { cluster_id: nonEmptyString, agent_id: nonEmptyString, status: (v) => v === 'healthy' || v === 'degraded', tunnel_status: isString, metadata: isObject },
  routes_sync_begin: { cluster_uuid: nonEmptyString, revision: isRevision, routing_mode: isRoutingMode, public_endpoint: optional(isString) },
  routes_sync_chunk: { revision: isRevision, gateway_routes: isArray },
  routes_sync_end: { revision: isRevision, chunks: isRevision, routes: isRevision },
  routes_change: {
    cluster_uuid: nonEmptyString,
    revision: isRevision,
    namespace: nonEmptyString,
    name: nonEmptyString,
    deleted: optional(isBool),
    source: optional(isObject),
    annotations: optional(isObject),
    upsert: isArray,
    remove: isStringList,
  },
  pong: {},
  error: { code: isString },
  // The answers to proxy_request and ws_open: nothing reaches a client before they pass.
  proxy_response: { status: isFinalStatus, headers: isHeaderMap, body: isString },
  proxy_response_header: { status: isFinalStatus, headers: isHeaderMap },
  proxy_response_chunk: { data: isString },
  proxy_response_end: { trailers: optional(trailersOk) },
  proxy_error: { status: isFinalStatus, error: isString },
  proxy_flow: { paused: isBool },
  ws_opened: { protocol: optional(isString) },
  ws_error: { status: isFinalStatus, error: isString },
  ws_message: WEBSOCKET_MESSAGE_SCHEMA,
  ws_close: WEBSOCKET_CLOSE_SCHEMA,
  ws_flow: { paused: isBool },
};

/** A heartbeat's metadata, checked once its cluster is known (a heartbeat before register is not_registered, whatever it holds). */
export const HEARTBEAT_METADATA_SCHEMA: Schema = { is_private: isBool, routing_mode: isRoutingMode, gateway_routes: isNumber, k8s_version: isString, agent_version: isString };

/** The messages that carry routes: each has a request_id and is answered by routes_ack or routes_nack. */
export type RouteMessage = Extract<OutboundMessage, { type: 'routes_sync_begin' | 'routes_sync_chunk' | 'routes_sync_end' | 'routes_change' }>;
const ROUTE_MESSAGE_TYPES: ReadonlySet<string> = new Set<RouteMessage['type']>(['routes_sync_begin', 'routes_sync_chunk', 'routes_sync_end', 'routes_change']);

export function isRouteMessageType(type: string): type is RouteMessage['type'] {
  return ROUTE_MESSAGE_TYPES.has(type);
}

export function isRouteMessage(message: OutboundMessage): message is RouteMessage {
  return isRouteMessageType(message.type);
}

/** Where one proxied request's answer is: not begun, or its header sent and chunks flowing. */
export type AnswerState = 'awaiting' | 'streaming';

export type AnswerStep = { ok: true; next: AnswerState | 'done' } | { ok: false; problem: string };

/**
 * The next state of an answer after a frame of `type`: one proxy_response or proxy_error, or one
 * proxy_response_header, then chunks, then proxy_response_end (or proxy_error, which cuts the response).
 * Anything else is out of order.
 */
export function answerStep(state: AnswerState, type: string): AnswerStep {
  switch (`${state} ${type}`) {
    case 'awaiting proxy_response':
    case 'awaiting proxy_error':
    case 'streaming proxy_error':
    case 'streaming proxy_response_end':
      return { ok: true, next: 'done' };
    case 'awaiting proxy_response_header':
    case 'streaming proxy_response_chunk':
      return { ok: true, next: 'streaming' };
    default:
      return { ok: false, problem: state === 'awaiting' ? `${type} before proxy_response_header` : `${type} after proxy_response_header` };
  }
}

// A route's host: a DNS name in lower case, or a wildcard one label deep.
const ROUTE_HOST = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const isRecord = (v: unknown): v is Record<string, unknown> => isObject(v);

/**
 * Why a GatewayRoute's identifying data (a snapshot chunk's part, a routes_change) is invalid, or undefined
 * when it is valid. `partial`: a later part of a split GatewayRoute, or a change, may leave annotations out.
 */
export function invalidMeta(meta: unknown, partial = false): string | undefined {
  if (!isRecord(meta)) return 'gateway route must be an object';
  if (typeof meta.namespace !== 'string' || !LABEL.test(meta.namespace)) return `namespace "${String(meta.namespace)}" is not valid`;
  if (typeof meta.name !== 'string' || !SUBDOMAIN.test(meta.name)) return `name "${String(meta.name)}" is not valid`;
  if (meta.annotations === undefined && partial) return undefined;
  if (!isRecord(meta.annotations) || Object.values(meta.annotations).some((v) => typeof v !== 'string')) return 'field "annotations" must be an object of strings';
  if (Object.keys(meta.annotations).some((k) => k.startsWith('kubectl.kubernetes.io/'))) return 'kubectl annotations must not be sent';
  if (meta.source !== undefined && (!isRecord(meta.source) || typeof meta.source.kind !== 'string' || typeof meta.source.name !== 'string')) {
    return 'field "source" must be {kind, name}';
  }
  return undefined;
}

/** Why a route as sent is invalid, or undefined when it is valid; an empty host (catch-all) only where allowed. */
export function invalidRoute(route: unknown, allowCatchAll: boolean): string | undefined {
  if (!isRecord(route)) return 'route must be an object';
  for (const field of ['host', 'path', 'path_type', 'service']) if (typeof route[field] !== 'string') return `field "${field}" must be a string`;
  const r = route as unknown as WireRouteBody;
  if (!isPort(r.port)) return 'field "port" must be 1-65535';
  if (typeof r.tls !== 'boolean') return 'field "tls" must be a boolean';
  if (r.host === '' && !allowCatchAll) return 'catch-all routes (empty host) are not allowed';
  if (r.host !== '' && !ROUTE_HOST.test(r.host)) return `host "${r.host}" is not a DNS name`;
  if (!r.path.startsWith('/')) return `path "${r.path}" must start with /`;
  if (!PATH_TYPES.includes(r.path_type)) return `path_type "${r.path_type}" is not one of ${PATH_TYPES.join(', ')}`;
  if (!LABEL.test(r.service)) return `service "${r.service}" is not valid`;
  if (r.service_namespace !== undefined && (typeof r.service_namespace !== 'string' || !LABEL.test(r.service_namespace))) {
    return `service_namespace "${String(r.service_namespace)}" is not valid`;
  }
  return undefined;
}

/** Parses one frame against `schemas`: JSON, then the envelope, then the payload of its type. */
export function parseFrame<T extends { type: string }>(text: string, schemas: Record<string, Schema>): ParseResult<T> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, code: 'bad_json', error: `frame is not JSON: ${(err as Error).message}` };
  }
  if (!isObject(value)) return { ok: false, code: 'bad_envelope', error: 'frame must be a JSON object' };
  const frame = value as Record<string, unknown>;
  const requestId = isRequestId(frame.request_id) ? (frame.request_id as string) : undefined;
  if (!nonEmptyString(frame.type) || (frame.type as string).length > LIMITS.typeChars) {
    return { ok: false, code: 'bad_envelope', error: `field "type" must be a string of 1-${LIMITS.typeChars} characters`, requestId };
  }
  const type = frame.type as string;
  if (frame.request_id !== undefined && !isRequestId(frame.request_id)) {
    return { ok: false, code: 'bad_envelope', error: `field "request_id" must be a string of 1-${LIMITS.requestIdChars} printable ASCII characters`, type };
  }
  const schema = Object.prototype.hasOwnProperty.call(schemas, type) ? schemas[type] : undefined;
  if (!schema) return { ok: false, code: 'unknown_type', error: `unknown message type "${type}"`, type, requestId };
  const payload = frame.payload ?? {};
  const problem = checkFields(payload, schema, type);
  if (problem) return { ok: false, code: 'bad_payload', error: problem, type, requestId };
  return { ok: true, message: { ...frame, payload } as unknown as T };
}

export function envelope<T extends string, P>(type: T, payload: P, requestId?: string): Envelope<T, P> {
  const message: Envelope<T, P> = { type, payload, timestamp: new Date().toISOString() };
  if (requestId !== undefined) message.request_id = requestId;
  return message;
}

/** The text of an envelope whose payload is already JSON: snapshot chunks are encoded once, when measured. */
export function envelopeText(type: string, payloadJson: string, requestId?: string): string {
  const id = requestId === undefined ? '' : `"request_id":${JSON.stringify(requestId)},`;
  return `{"type":${JSON.stringify(type)},${id}"payload":${payloadJson},"timestamp":"${new Date().toISOString()}"}`;
}

/**
 * Binary frames (negotiated: `register.features.binary_frames` and `register_success.binary_frames`) carry
 * bodies and WebSocket data without base64 or JSON: one byte naming what the frame is, one byte with the
 * length of the request_id, the request_id (ASCII), then the bytes themselves.
 */
export const BINARY_KINDS = {
  proxy_request_chunk: 1,
  proxy_response_chunk: 2,
  ws_message_text: 3,
  ws_message_binary: 4,
} as const;
export type BinaryKind = keyof typeof BINARY_KINDS;
const KIND_BY_CODE = new Map(Object.entries(BINARY_KINDS).map(([kind, code]) => [code as number, kind as BinaryKind]));

export function encodeBinaryFrame(kind: BinaryKind, requestId: string, data: Uint8Array): Buffer {
  const id = Buffer.from(requestId, 'latin1');
  // Inbound request_ids are held to LIMITS.requestIdChars at parse time, so only a bug gets here.
  if (id.length > 255 || id.length === 0) throw new Error(`request_id ${requestId.slice(0, 20)}… must be 1-255 bytes`);
  const frame = Buffer.allocUnsafe(2 + id.length + data.length);
  frame[0] = BINARY_KINDS[kind];
  frame[1] = id.length;
  id.copy(frame, 2);
  frame.set(data, 2 + id.length);
  return frame;
}

export type BinaryFrame = { ok: true; kind: BinaryKind; requestId: string; data: Buffer } | { ok: false; error: string };

/** Decodes a binary frame; the data is a view into `frame`, not a copy. */
export function decodeBinaryFrame(frame: Buffer): BinaryFrame {
  if (frame.length < 2) return { ok: false, error: `binary frame of ${frame.length} byte(s) has no header` };
  const kind = KIND_BY_CODE.get(frame[0] as number);
  if (!kind) return { ok: false, error: `binary frame of unknown kind ${frame[0]}` };
  const idLength = frame[1] as number;
  if (idLength === 0 || frame.length < 2 + idLength) return { ok: false, error: 'binary frame with a missing or cut request_id' };
  const requestId = frame.toString('latin1', 2, 2 + idLength);
  if (!isRequestId(requestId)) return { ok: false, error: `binary frame whose request_id is not 1-${LIMITS.requestIdChars} printable ASCII characters` };
  return { ok: true, kind, requestId, data: frame.subarray(2 + idLength) };
}

/** The JSON message a binary frame stands for, for a peer that did not agree to binary frames (base64 data). */
export function bodyMessage(kind: BinaryKind, requestId: string, data: Buffer): Envelope {
  const encoded = data.toString('base64');
  if (kind === 'ws_message_text' || kind === 'ws_message_binary') return envelope('ws_message', { data: encoded, binary: kind === 'ws_message_binary' }, requestId);
  return envelope(kind, { data: encoded }, requestId);
}

/** A body or message as it arrived: base64 text in a JSON frame, or bytes from a binary frame. */
export function bytesOf(data: string | Uint8Array): Buffer {
  return typeof data === 'string' ? Buffer.from(data, 'base64') : Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** A value quoted for an error message, cut short: what a peer sent may be long or hold control characters. */
function quoted(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

// A DNS name as Kubernetes takes it in status.loadBalancer.ingress[].hostname (an RFC 1123 subdomain), and
// a dotted quad, which the apiserver refuses there ("must be a DNS name, not an IP address").
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DOTTED_QUAD = /^[0-9]+(\.[0-9]+){3}$/;

/** Why `value` cannot be a load balancer's hostname, or undefined when it can. */
export function invalidAddressHostname(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > LIMITS.identifierChars || !DNS_SUBDOMAIN.test(value)) {
    return `hostname ${quoted(value)} is not a lower-case DNS name of at most ${LIMITS.identifierChars} characters`;
  }
  if (DOTTED_QUAD.test(value)) return `hostname ${quoted(value)} is an IP address: give it as ip`;
  return undefined;
}

/**
 * Why `value` cannot be a load balancer's IP, or undefined when it can: an IPv4 or IPv6 literal as the
 * apiserver's strict validation takes it (no zone, no IPv4-mapped IPv6, no leading zeros), and not the
 * unspecified address, which no client can reach.
 */
export function invalidAddressIp(value: unknown): string | undefined {
  const version = typeof value === 'string' ? isIP(value) : 0;
  if (version === 0) return `ip ${quoted(value)} is not an IPv4 or IPv6 address`;
  const ip = value as string;
  if (ip.includes('%')) return `ip ${quoted(ip)} has a zone, which means something on one host only`;
  if (version === 6 && ip.includes('.')) return `ip ${quoted(ip)} is an IPv4 address written as IPv6: give the IPv4 address`;
  const unspecified = version === 4 ? ip === '0.0.0.0' : ip.split(':').every((group) => /^0*$/.test(group));
  if (unspecified) return `ip ${quoted(ip)} is the unspecified address`;
  return undefined;
}

/** Why `value` is not a gateway address ({hostname?, ip?}, at least one), or undefined when it is. */
export function invalidGatewayAddress(value: unknown): string | undefined {
  if (!isRecord(value)) return 'gateway address must be an object {hostname?, ip?}';
  if (value.hostname === undefined && value.ip === undefined) return 'gateway address needs a hostname or an ip';
  return (value.hostname === undefined ? undefined : invalidAddressHostname(value.hostname)) ?? (value.ip === undefined ? undefined : invalidAddressIp(value.ip));
}

/** The address fields of a checked gateway_address, and nothing else a peer put next to them. */
export function gatewayAddressOf(value: GatewayAddress): GatewayAddress {
  const address: GatewayAddress = {};
  if (value.hostname !== undefined) address.hostname = value.hostname;
  if (value.ip !== undefined) address.ip = value.ip;
  return address;
}

/** A hostname or an IP given as one string (a command-line flag): the address, or why it is neither. */
export function parseGatewayAddress(text: string): { ok: true; address: GatewayAddress } | { ok: false; error: string } {
  const looksLikeIp = isIP(text) !== 0 || DOTTED_QUAD.test(text);
  const problem = looksLikeIp ? invalidAddressIp(text) : invalidAddressHostname(text);
  if (problem === undefined) return { ok: true, address: looksLikeIp ? { ip: text } : { hostname: text } };
  if (looksLikeIp) return { ok: false, error: problem };
  return { ok: false, error: `${quoted(text)} is neither an IP address nor a lower-case DNS name of at most ${LIMITS.identifierChars} characters (no scheme, port or path), e.g. gateway.example.com or 203.0.113.10` };
}

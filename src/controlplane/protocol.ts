// Control-plane protocol, version 1: message types as discriminated unions and one validator that
// turns an inbound text frame into a typed message or a precise error. Pure.
export const PROTOCOL_VERSION = 1;
export const AGENT_WS_PATH = '/api/v1/clusters/agent/ws';

export interface Envelope<T extends string = string, P = unknown> {
  type: T;
  request_id?: string;
  payload: P;
  timestamp: string;
}

export type PathTypeWire = 'Prefix' | 'Exact' | 'ImplementationSpecific';

export interface WireRoute {
  key: string;
  host: string;
  path: string;
  path_type: PathTypeWire;
  namespace: string;
  service: string;
  port: number;
  tls: boolean;
  ingress_name: string;
  gateway_route: string;
  annotations: Record<string, string>;
}

export interface RegisterPayload {
  agent_id: string;
  cluster_name: string;
  cluster_id?: string;
  agent_version: string;
  k8s_version: string;
  features: Record<string, boolean>;
  metadata: Record<string, unknown>;
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

export interface RoutesSyncPayload {
  cluster_uuid: string;
  revision: number;
  routing_mode: 'tunnel' | 'direct';
  public_endpoint?: string;
  routes: WireRoute[];
}

export type RouteAction = 'add' | 'update' | 'delete';

export interface IngressRoutesPayload {
  cluster_uuid: string;
  revision: number;
  action: RouteAction;
  routes: WireRoute[];
  /** The GatewayRoute this change is about ("namespace/name"), so an update or delete of an empty set is unambiguous. */
  gateway_route?: string;
}

export interface RoutesAckPayload {
  revision: number;
  accepted: string[];
  rejected: Array<{ key: string; reason: string }>;
}

export interface ErrorPayload {
  code: string;
  message?: string;
  type?: string;
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
}

/** Messages the control plane sends to the agent. */
export type InboundMessage =
  | Envelope<'register_success', { cluster_id: string; cluster_uuid: string }>
  | Envelope<'heartbeat_ack', Record<string, unknown>>
  | Envelope<'routes_ack', RoutesAckPayload>
  | Envelope<'error', ErrorPayload>
  | Envelope<'ping', Record<string, unknown>>
  | Envelope<'proxy_request', ProxyRequestPayload>
  | Envelope<'proxy_request_chunk', { data: string }>
  | Envelope<'proxy_request_end', Record<string, unknown>>
  | Envelope<'proxy_cancel', Record<string, unknown>>;

/** Messages the agent sends to the control plane. */
export type OutboundMessage =
  | Envelope<'register', RegisterPayload>
  | Envelope<'heartbeat', HeartbeatPayload>
  | Envelope<'routes_sync', RoutesSyncPayload>
  | Envelope<'ingress_routes', IngressRoutesPayload>
  | Envelope<'pong', Record<string, never>>
  | Envelope<'error', ErrorPayload>
  | Envelope<string, unknown>;

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
export const isRoutingMode: FieldCheck = (v) => v === 'tunnel' || v === 'direct';

export type Schema = Record<string, FieldCheck>;

export function checkFields(payload: unknown, schema: Schema, where: string): string | undefined {
  if (!isObject(payload)) return `${where}: payload must be an object`;
  for (const [field, check] of Object.entries(schema)) {
    if (!check((payload as Record<string, unknown>)[field])) return `${where}: field "${field}" is missing or of the wrong type`;
  }
  return undefined;
}

const headersOk: FieldCheck = (v) =>
  isObject(v) && Object.values(v as object).every((h) => typeof h === 'string' || (Array.isArray(h) && h.every(isString)));

export const INBOUND_SCHEMAS: Record<InboundMessage['type'], Schema> = {
  register_success: { cluster_id: nonEmptyString, cluster_uuid: nonEmptyString },
  heartbeat_ack: {},
  routes_ack: {
    revision: isNumber,
    accepted: (v) => isArray(v) && (v as unknown[]).every(isString),
    rejected: (v) => isArray(v) && (v as unknown[]).every((r) => isObject(r) && isString((r as { key?: unknown }).key) && isString((r as { reason?: unknown }).reason)),
  },
  error: { code: isString, message: optional(isString) },
  ping: {},
  proxy_request: {
    method: nonEmptyString,
    path: isString,
    query: optional(isString),
    headers: headersOk,
    body: optional(isString),
    host: isString,
    namespace: optional(isString),
    service_name: optional(isString),
    service_port: optional(isNumber),
    timeout_ms: optional(isNumber),
  },
  proxy_request_chunk: { data: isString },
  proxy_request_end: {},
  proxy_cancel: {},
};

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
  const requestId = typeof frame.request_id === 'string' ? frame.request_id : undefined;
  if (!nonEmptyString(frame.type)) return { ok: false, code: 'bad_envelope', error: 'field "type" must be a non-empty string', requestId };
  const type = frame.type as string;
  if (frame.request_id !== undefined && !isString(frame.request_id)) {
    return { ok: false, code: 'bad_envelope', error: 'field "request_id" must be a string', type, requestId };
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

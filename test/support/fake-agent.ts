// A fake agent written with `ws` against docs/protocol.md, and plain HTTP/1.1 and HTTP/2 clients that set the
// host: for tests of the reference control plane and its gateway without an operator.
import { expect } from '@jest/globals';
import { request } from 'node:http';
import http2, { type ClientHttp2Session } from 'node:http2';
import WebSocket from 'ws';
import { AGENT_WS_PATH, envelope } from '../../src/controlplane/protocol.js';

export interface Frame {
  type: string;
  request_id?: string;
  payload: Record<string, unknown>;
}

/** Rejects with `what` unless `promise` settles within `ms`: a broken server fails the test, not hangs it. */
export function within<T>(what: string, promise: Promise<T>, ms = 5_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)));
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

export interface FakeAgentOptions {
  /** The body of its 200 answer to GETs of /ok (tests with several agents tell them apart by it). */
  okBody?: string;
}

/** What an agent registers with, besides its name. */
export interface ServeOptions {
  clusterId?: string;
  fingerprint?: string;
  /** Features offered besides binary_frames (e.g. trailers). */
  features?: Record<string, boolean>;
}

/**
 * An agent written against docs/protocol.md: it registers, sends a snapshot of the hosts it serves, answers
 * GETs of /ok itself and keeps every other frame for the test, which then answers with whatever it likes.
 */
export class FakeAgent {
  readonly socket: WebSocket;
  readonly closed: Promise<number>;
  private readonly inbox: Frame[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(url: string, token: string, { okBody = 'ok' }: FakeAgentOptions = {}) {
    this.socket = new WebSocket(`${url.replace('http', 'ws')}${AGENT_WS_PATH}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
    this.closed = new Promise((resolve) => this.socket.once('close', (code) => resolve(code)));
    this.socket.on('error', () => undefined);
    this.socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      const frame = JSON.parse(data.toString()) as Frame;
      if (frame.type === 'proxy_request' && String(frame.payload.path).startsWith('/ok')) {
        this.send('proxy_response', { status: 200, headers: { 'content-type': 'text/plain' }, body: Buffer.from(okBody).toString('base64') }, frame.request_id);
        return;
      }
      this.inbox.push(frame);
      for (const wake of this.waiters) wake();
    });
  }

  /** The handshake's answer: true when the socket opened, else the HTTP status it was refused with. */
  opened(): Promise<true | number> {
    return within('the handshake', new Promise((resolve) => {
      this.socket.once('open', () => resolve(true));
      this.socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    }));
  }

  send(type: string, payload: unknown, requestId?: string): void {
    this.socket.send(JSON.stringify(envelope(type, payload, requestId)));
  }

  sendBinary(data: Buffer): void {
    this.socket.send(data, { binary: true });
  }

  /** The first frame (received or still to come) that `match` takes; it is taken out of the inbox. */
  next(match: (f: Frame) => boolean, what = 'a frame'): Promise<Frame> {
    return within(what, new Promise<Frame>((resolve) => {
      const look = (): void => {
        const index = this.inbox.findIndex(match);
        if (index === -1) return;
        this.waiters.delete(look);
        resolve(this.inbox.splice(index, 1)[0]!);
      };
      this.waiters.add(look);
      look();
    }), 10_000);
  }

  nextOf(type: string, requestId?: string): Promise<Frame> {
    return this.next((f) => f.type === type && (requestId === undefined || f.request_id === requestId), `${type}${requestId ? ` of ${requestId}` : ''}`);
  }

  async register(clusterName: string, extra: Record<string, unknown> = {}): Promise<Frame> {
    this.send('register', { agent_id: `agent-${clusterName}`, cluster_name: clusterName, agent_version: 'hostile', k8s_version: 'test', protocol_versions: [2], features: {}, metadata: {}, ...extra }, `reg-${clusterName}`);
    return this.next((f) => f.request_id === `reg-${clusterName}`, 'the answer to register');
  }

  /** Registers with binary frames (resuming `clusterId` when given, with `fingerprint` when given); resolves with register_success. */
  async registered(clusterName: string, { clusterId, fingerprint, features }: ServeOptions = {}): Promise<Frame> {
    const answer = await this.register(clusterName, { features: { binary_frames: true, ...features }, ...(clusterId ? { cluster_id: clusterId } : {}), ...(fingerprint ? { cluster_fingerprint: fingerprint } : {}) });
    if (answer.type !== 'register_success') throw new Error(`register refused: ${JSON.stringify(answer.payload)}`);
    return answer;
  }

  /** Sends a snapshot serving `hosts` (GatewayRoute shop/<name>) above `resumeRevision`; resolves with its routes_ack. */
  async snapshot(registration: Frame, name: string, hosts: string[]): Promise<Frame> {
    const uuid = registration.payload.cluster_uuid as string;
    const revision = (registration.payload.resume_revision as number) + 1;
    const routes = hosts.map((host) => ({ host, path: '/', path_type: 'Prefix', service: 'web', port: 80, tls: false }));
    this.send('routes_sync_begin', { cluster_uuid: uuid, revision, routing_mode: 'tunnel' }, 'snap');
    this.send('routes_sync_chunk', { revision, gateway_routes: [{ namespace: 'shop', name, annotations: {}, routes }] }, 'snap');
    this.send('routes_sync_end', { revision, chunks: 1, routes: routes.length }, 'snap');
    return this.nextOf('routes_ack', 'snap');
  }

  /** Registers and sends a snapshot serving `hosts`; resolves with the cluster's id once every route is accepted. */
  async serve(clusterName: string, hosts: string[], options: ServeOptions = {}): Promise<string> {
    const registration = await this.registered(clusterName, options);
    const ack = await this.snapshot(registration, clusterName, hosts);
    expect(ack.payload.rejected).toEqual([]);
    return registration.payload.cluster_id as string;
  }

  close(): void {
    this.socket.terminate();
  }
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The response was cut after it began (the connection dropped). */
  cut: boolean;
}

export interface CallOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Called when the response begins (its status and headers arrived). */
  onResponse?: () => void;
}

/** An HTTP request to `port` with this Host (fetch() may not set Host); `body` is sent whole. */
export function call(port: number, host: string, path: string, { method = 'GET', headers = {}, body, onResponse }: CallOptions = {}): Promise<Answer> {
  return within(`${method} ${host}${path}`, new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: { Host: host, ...headers }, agent: false }, (res) => {
      onResponse?.();
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, cut: false }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, cut: true }));
    });
    req.on('error', reject);
    req.end(body);
  }));
}

export interface Http2Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The response ended with its headers (HEADERS with END_STREAM: no body, no trailers). */
  headersOnly: boolean;
  body: string;
  trailers?: Record<string, string | string[] | undefined>;
  /** The stream's RST_STREAM code (0 when it ended normally): a cut answer is reset with INTERNAL_ERROR (2). */
  rstCode: number;
}

/**
 * A request over HTTP/2 with prior knowledge (h2c) to `port`, naming `host` as its :authority; `session`
 * (the caller's to close) carries several on one connection. `body` is sent whole and ends the stream.
 */
export function callHttp2(
  session: ClientHttp2Session,
  host: string,
  path: string,
  { method = 'GET', headers = {}, body, onResponse }: CallOptions = {},
): Promise<Http2Answer> {
  return within(`HTTP/2 ${method} ${host}${path}`, new Promise((resolve) => {
    const stream = session.request({ ':method': method, ':path': path, ':authority': host, ...headers }, { endStream: body === undefined });
    let answer: Http2Answer = { status: 0, headers: {}, headersOnly: false, body: '', rstCode: 0 };
    stream.on('response', (fields, flags) => {
      onResponse?.();
      const { ':status': status, ...rest } = fields;
      answer = { ...answer, status: Number(status), headers: rest, headersOnly: (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0 };
    });
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => (answer.body += c));
    stream.on('trailers', (trailers) => (answer.trailers = { ...trailers }));
    stream.on('error', () => undefined); // a reset stream: its rstCode says how
    stream.on('close', () => resolve({ ...answer, rstCode: stream.rstCode ?? 0 }));
    if (body !== undefined) stream.end(body);
  }));
}

// gRPC end to end: a @grpc/grpc-js client → reference gateway (h2c with prior knowledge on its plain port, or
// HTTP/2 over TLS by ALPN on its TLS listener) → control-plane socket (trailers agreed) → operator's tunnel →
// a @grpc/grpc-js server on loopback, which the operator reaches over h2c because its Service port declares
// appProtocol kubernetes.io/h2c (mapped with --service-address, as there is no cluster DNS here). No protobuf:
// the service is generic, with Buffers as messages. A GRPCRoute (on a Gateway of a class of this file's own)
// reaches the same server through a Service port without appProtocol: the GRPCRoute alone makes it h2c.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  credentials,
  makeGenericClientConstructor,
  Metadata,
  Server,
  ServerCredentials,
  status,
  type Client,
  type ClientDuplexStream,
  type ClientUnaryCall,
  type ClientReadableStream,
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceError,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { request } from 'node:http';
import { randomUUID } from 'node:crypto';
import { envelope } from '../../src/controlplane/protocol.js';
import { Gateway } from '../../src/reference-control-plane/gateway.js';
import type { ReferenceControlPlane } from '../../src/reference-control-plane/server.js';
import { makeCa, type TestCa } from '../support/certs.js';
import { clients as kubeClients, eventually, TestNamespaces } from '../support/kube.js';
import { createIngress, createService, ingressObject, serviceObject } from '../support/fixtures.js';
import { clusterByName, heldRoutes, startControlPlane } from '../support/control-plane.js';
import { createGatewayApiObject, createTunnelGateway, GATEWAY_API_GROUP, routeParentCondition } from '../support/gateway-api.js';
import { operatorArgs, OperatorPool, type OperatorProcess } from '../support/operator.js';
import { startRefusingServer, type RefusingServer } from '../support/refusing-server.js';

const MiB = 1024 * 1024;
const HOST = 'grpc.example.com';
const bytes = (b: Buffer): Buffer => b;
const method = (name: string, requestStream: boolean, responseStream: boolean, service = 'test.Echo') => ({
  path: `/${service}/${name}`,
  requestStream,
  responseStream,
  requestSerialize: bytes,
  requestDeserialize: bytes,
  responseSerialize: bytes,
  responseDeserialize: bytes,
});
const ECHO = {
  unary: method('Unary', false, false),
  serverStream: method('ServerStream', false, true),
  clientStream: method('ClientStream', true, false),
  bidi: method('Bidi', true, true),
};
const EchoClient = makeGenericClientConstructor(ECHO, 'Echo');
/** The service the GRPCRoute matches, and one it does not (the backend serves both). */
const GREETER = { sayHello: method('SayHello', false, false, 'demo.Greeter') };
const OTHER = { method: method('Method', false, false, 'other.Service') };
type UnaryOnly<K extends string> = Client & Record<K, (request: Buffer, callback: (err: ServiceError | null, value?: Buffer) => void) => ClientUnaryCall>;

interface Echo extends Client {
  unary(request: Buffer, metadata: Metadata, options: { deadline?: Date }, callback: (err: ServiceError | null, value?: Buffer) => void): ClientUnaryCall;
  serverStream(request: Buffer, metadata?: Metadata): ClientReadableStream<Buffer>;
  clientStream(callback: (err: ServiceError | null, value?: Buffer) => void): { write(b: Buffer): boolean; end(): void };
  bidi(): ClientDuplexStream<Buffer, Buffer>;
}

/** gRPC messages over 4 MiB are refused by default on both sides; the tests send 4 MiB plus framing. */
const MESSAGE_LIMITS = { 'grpc.max_receive_message_length': 16 * MiB, 'grpc.max_send_message_length': 16 * MiB };

const operators = new OperatorPool();
const namespaces = new TestNamespaces();
let operator: OperatorProcess;
let ns: string;
/** The GatewayClass of this file's operator (its own --gateway-controller-name). */
let controllerName: string;
let className: string;
let cp: ReferenceControlPlane;
let gateway: Gateway;
let gatewayPort: number;
let ca: TestCa;
let grpcServer: Server;
/** Stands for a Service no route exposes: counts every connection made to it. */
let forbidden: RefusingServer | undefined;
/** What the backend handlers saw: the metadata and :authority of unary calls, and calls cancelled (by their 'cancelled' event). */
const seenMetadata: Array<{ metadata: Metadata; host: string }> = [];
const cancelled: string[] = [];
const hanging = new Set<string>();
/** The deadlines the backend saw (from the grpc-timeout header the client sent). */
const deadlines: Array<Date | number> = [];

const unary = (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>): void => {
  const text = call.request.length > 64 ? '' : call.request.toString();
  seenMetadata.push({ metadata: call.metadata, host: call.getHost() });
  if (text.startsWith('fail:')) return callback({ code: status.NOT_FOUND, details: text.slice(5) });
  if (text.startsWith('sleep:')) {
    deadlines.push(call.getDeadline());
    const timer = setTimeout(() => callback(null, Buffer.from('woke')), Number(text.slice(6)));
    call.on('cancelled', () => clearTimeout(timer));
    return;
  }
  if (text.startsWith('trailers:')) {
    // Status metadata travels in the trailers.
    const trailer = new Metadata();
    for (let i = 0; i < Number(text.slice(9)); i++) trailer.set(`x-t-${i}`, 'v');
    return callback(null, Buffer.from('ok'), trailer);
  }
  if (call.request.length > 64) return callback(null, Buffer.alloc(call.request.length, 0x5a)); // as big as it came
  const header = new Metadata();
  header.set('x-backend', 'grpc');
  call.sendMetadata(header);
  callback(null, Buffer.concat([Buffer.from('echo:'), call.request]));
};

const serverStream = (call: ServerWritableStream<Buffer, Buffer>): void => {
  const text = call.request.toString();
  if (text.startsWith('hang:')) {
    const name = text.slice(5);
    hanging.add(name);
    call.write(Buffer.from('started'));
    call.on('cancelled', () => cancelled.push(name));
    return;
  }
  const [count, failAfter] = text.split('/').map(Number) as [number, number | undefined];
  for (let i = 0; i < count; i++) {
    if (failAfter !== undefined && i === failAfter) return void call.emit('error', { code: status.RESOURCE_EXHAUSTED, details: `stopped after ${failAfter}` });
    call.write(Buffer.from(`msg-${i}`));
  }
  call.end();
};

const clientStream = (call: ServerReadableStream<Buffer, Buffer>, callback: sendUnaryData<Buffer>): void => {
  const parts: Buffer[] = [];
  call.on('data', (b: Buffer) => parts.push(b));
  call.on('end', () => callback(null, Buffer.from(`${parts.length}:${Buffer.concat(parts).toString()}`)));
};

const bidi = (call: ServerDuplexStream<Buffer, Buffer>): void => {
  call.on('data', (b: Buffer) => call.write(Buffer.concat([Buffer.from('echo:'), b])));
  call.on('end', () => call.end());
};

async function startGrpcServer(): Promise<{ server: Server; port: number }> {
  const server = new Server(MESSAGE_LIMITS);
  server.addService(ECHO, { unary, serverStream, clientStream, bidi });
  server.addService(GREETER, { sayHello: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => callback(null, Buffer.concat([Buffer.from('hello '), call.request])) });
  server.addService(OTHER, { method: (_call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => callback(null, Buffer.from('reached other.Service')) });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return { server, port };
}

/** A client through the gateway's plain port (h2c), naming HOST as its :authority. */
function plainClient(): Echo {
  return new EchoClient(`127.0.0.1:${gatewayPort}`, credentials.createInsecure(), { 'grpc.default_authority': HOST, ...MESSAGE_LIMITS }) as unknown as Echo;
}

const clients: Client[] = [];
let client: Echo;

const callUnary = (c: Echo, message: Buffer | string, options: { deadline?: Date; metadata?: Metadata } = {}): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    c.unary(Buffer.from(message), options.metadata ?? new Metadata(), { deadline: options.deadline }, (err, value) => (err ? reject(err) : resolve(value as Buffer)));
  });

const collect = (stream: ClientReadableStream<Buffer>): Promise<{ messages: string[]; error?: ServiceError }> =>
  new Promise((resolve) => {
    const messages: string[] = [];
    stream.on('data', (b: Buffer) => messages.push(b.toString()));
    stream.on('error', (error: ServiceError) => resolve({ messages, error }));
    stream.on('end', () => resolve({ messages }));
  });

/** The operator's answer to the control plane for request `id` (its first answer frame). */
const answerTo = (id: string) => eventually(`the answer to ${id}`, async () => cp.received.find((m) => m.request_id === id && (m.type === 'proxy_error' || m.type.startsWith('proxy_response'))));

beforeAll(async () => {
  ca = makeCa();
  const started = await startGrpcServer();
  grpcServer = started.server;
  forbidden = await startRefusingServer();
  const forbiddenPort = forbidden.port;
  cp = await startControlPlane({ token: 'e2e' });
  const served = ca.issue([HOST]);
  // One address for every client of this file, and one test makes 100 calls at once.
  gateway = new Gateway(cp, { maxExchangesPerSource: 1_000, tls: served });
  gatewayPort = await gateway.listen();
  ns = await namespaces.create('grpc');
  controllerName = `gateway.pipeops.io/test-${ns}`;
  className = `tunnel-${ns}`;
  await createService(serviceObject(ns, 'echo', [{ name: 'grpc', port: 50051, appProtocol: 'kubernetes.io/h2c' }]));
  await createService(serviceObject(ns, 'hidden', [{ name: 'grpc', port: 50051, appProtocol: 'kubernetes.io/h2c' }])); // no route names it
  await createService(serviceObject(ns, 'greeter', [{ name: 'grpc', port: 50051 }])); // no appProtocol
  await createIngress(ingressObject(ns, 'echo', [{ host: HOST, paths: [{ service: 'echo', port: 'grpc' }] }]));
  operator = operators.start(operatorArgs(ns, { cp }, [
    '--service-address', `${ns}/echo=127.0.0.1:${started.port}`,
    '--service-address', `${ns}/hidden=127.0.0.1:${forbiddenPort}`,
    '--service-address', `${ns}/greeter=127.0.0.1:${started.port}`,
    '--gateway-controller-name', controllerName,
  ]));
  await operator.registered();
  await eventually('the route at the gateway', async () => heldRoutes(cp, ns).length === 1);
  client = plainClient();
  clients.push(client);
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await operators.stopAll();
  await gateway?.close();
  await cp?.close();
  grpcServer?.forceShutdown();
  await forbidden?.close();
  ca?.remove();
  await kubeClients().custom.deleteClusterCustomObject({ group: GATEWAY_API_GROUP, version: 'v1', plural: 'gatewayclasses', name: className }).catch(() => undefined);
  await namespaces.deleteAll();
});

describe('gRPC through the tunnel (h2c at both ends)', () => {
  it('unary: the answer, the metadata each way, and the original :authority', async () => {
    const metadata = new Metadata();
    metadata.set('x-request', 'one');
    const { value, header } = await new Promise<{ value: Buffer; header?: Metadata }>((resolve, reject) => {
      let header: Metadata | undefined;
      const call = client.unary(Buffer.from('hello'), metadata, {}, (err, answer) => (err ? reject(err) : resolve({ value: answer as Buffer, header })));
      call.on('metadata', (m: Metadata) => (header = m));
    });
    expect(value.toString()).toBe('echo:hello');
    expect(header?.get('x-backend')).toEqual(['grpc']);
    const seen = seenMetadata.at(-1)!;
    expect(seen.metadata.get('x-request')).toEqual(['one']);
    expect(seen.host).toBe(HOST);
  });

  it('server-streaming: every message, in order', async () => {
    const { messages, error } = await collect(client.serverStream(Buffer.from('50')));
    expect(error).toBeUndefined();
    expect(messages).toEqual(Array.from({ length: 50 }, (_, i) => `msg-${i}`));
  });

  it('client-streaming: every message reaches the backend before its one answer', async () => {
    const answer = new Promise<Buffer>((resolve, reject) => {
      const call = client.clientStream((err, value) => (err ? reject(err) : resolve(value as Buffer)));
      for (let i = 0; i < 20; i++) call.write(Buffer.from(String(i % 10)));
      call.end();
    });
    expect((await answer).toString()).toBe('20:01234567890123456789');
  });

  it('bidirectional: each answer arrives before the next request is sent (the response flows while the request is open)', async () => {
    const call = client.bidi();
    const replies: string[] = [];
    let wake: (() => void) | undefined;
    call.on('data', (b: Buffer) => {
      replies.push(b.toString());
      wake?.();
    });
    const ended = new Promise<void>((resolve, reject) => {
      call.on('end', resolve);
      call.on('error', reject);
    });
    for (let i = 0; i < 10; i++) {
      const answered = new Promise<void>((resolve) => (wake = resolve));
      call.write(Buffer.from(`ping-${i}`));
      await answered;
      expect(replies.at(-1)).toBe(`echo:ping-${i}`);
    }
    call.end();
    await ended;
    expect(replies).toHaveLength(10);
  });

  it('an error status reaches the client with its code and message intact: trailers-only, and after messages', async () => {
    const details = 'no such thing: ünïcödé, 100% & more';
    await expect(callUnary(client, `fail:${details}`)).rejects.toMatchObject({ code: status.NOT_FOUND, details });
    const { messages, error } = await collect(client.serverStream(Buffer.from('5/2')));
    expect(messages).toEqual(['msg-0', 'msg-1']);
    expect(error).toMatchObject({ code: status.RESOURCE_EXHAUSTED, details: 'stopped after 2' });
  });

  it('a deadline shorter than the handler: DEADLINE_EXCEEDED', async () => {
    const started = Date.now();
    await expect(callUnary(client, 'sleep:3000', { deadline: new Date(Date.now() + 300) })).rejects.toMatchObject({ code: status.DEADLINE_EXCEEDED });
    expect(Date.now() - started).toBeLessThan(2_500);
    // grpc-timeout reached the backend: its handler knew the deadline (without it, Infinity).
    const deadline = Number(deadlines.at(-1)); // a Date or milliseconds, as grpc-js keeps it
    expect(Number.isFinite(deadline)).toBe(true);
    expect(deadline).toBeGreaterThan(started);
    expect(deadline).toBeLessThanOrEqual(started + 400);
  });

  it('a 4 MiB message each way', async () => {
    const big = Buffer.alloc(4 * MiB, 0x42);
    const answer = await callUnary(client, big);
    expect(answer.length).toBe(4 * MiB);
    expect(answer.every((b) => b === 0x5a)).toBe(true);
  }, 60_000);

  it('100 concurrent calls on one connection each get their own answer', async () => {
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => callUnary(client, `n-${i}`)));
    expect(answers.map((a) => a.toString())).toEqual(Array.from({ length: 100 }, (_, i) => `echo:n-${i}`));
  });

  it('a call the client cancels is cancelled at the backend handler', async () => {
    const name = randomUUID();
    const call = client.serverStream(Buffer.from(`hang:${name}`));
    const first = new Promise<string>((resolve) => call.once('data', (b: Buffer) => resolve(b.toString())));
    call.on('error', () => undefined); // CANCELLED, as asked
    expect(await first).toBe('started');
    expect(hanging.has(name)).toBe(true);
    call.cancel();
    await eventually('the backend handler saw the cancellation', async () => cancelled.includes(name), 10_000);
  });

  it('an HTTP/1.1 client reaches the same h2c backend: a gRPC call framed by hand, its status in the HTTP/1.1 trailers', async () => {
    const message = Buffer.from('over-http1');
    const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, message.length]), message]);
    const answer = await new Promise<{ status: number; body: Buffer; trailers: Record<string, string | undefined>; contentType?: string }>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: gatewayPort, path: '/test.Echo/Unary', method: 'POST', agent: false, headers: { Host: HOST, 'Content-Type': 'application/grpc', TE: 'trailers' } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), trailers: res.trailers, contentType: res.headers['content-type'] }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(framed);
    });
    expect(answer.status).toBe(200);
    expect(answer.contentType).toBe('application/grpc+proto');
    expect(answer.body.subarray(5).toString()).toBe('echo:over-http1');
    expect(answer.trailers['grpc-status']).toBe('0');
  });
});

describe('a GRPCRoute to a Service port without appProtocol', () => {
  const GREETER_HOST = 'greeter.example.com';
  const through = <K extends string>(service: Record<K, unknown>, name: string): UnaryOnly<K> => {
    const Constructor = makeGenericClientConstructor(service as never, name);
    const c = new Constructor(`127.0.0.1:${gatewayPort}`, credentials.createInsecure(), { 'grpc.default_authority': GREETER_HOST }) as unknown as UnaryOnly<K>;
    clients.push(c);
    return c;
  };
  const unaryCall = <K extends string>(c: UnaryOnly<K>, name: K, message: string): Promise<Buffer> =>
    new Promise((resolve, reject) => void c[name](Buffer.from(message), (err, value) => (err ? reject(err) : resolve(value as Buffer))));
  const parent = () => ({ kind: 'GRPCRoute' as const, namespace: ns, name: 'greeter', controllerName });

  beforeAll(async () => {
    await createTunnelGateway({ className, controllerName, namespace: ns, listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] });
    await createGatewayApiObject('GRPCRoute', {
      metadata: { name: 'greeter', namespace: ns },
      spec: { parentRefs: [{ name: 'tunnel', sectionName: 'http' }], hostnames: [GREETER_HOST], rules: [{ matches: [{ method: { service: 'demo.Greeter' } }], backendRefs: [{ name: 'greeter', port: 50051 }] }] },
    });
    await eventually('the GRPCRoute at the gateway', async () => heldRoutes(cp, ns).includes(`${GREETER_HOST}/demo.Greeter/ → greeter:50051`));
  });

  it('a unary call through the gateway is answered (the GRPCRoute makes the backend H2C); Accepted and ResolvedRefs True', async () => {
    expect((await unaryCall(through(GREETER, 'Greeter'), 'sayHello', 'route')).toString()).toBe('hello route');
    await routeParentCondition(parent(), { type: 'Accepted', status: 'True', reason: 'Accepted' });
    await routeParentCondition(parent(), { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs' });
  });

  it('a method of a service the GRPCRoute does not match fails at the gateway, though the backend serves it', async () => {
    await expect(unaryCall(through(OTHER, 'Other'), 'method', 'x')).rejects.toMatchObject({ code: status.UNIMPLEMENTED, details: 'Received HTTP status code 404' });
  });
});

describe('the gateway TLS listener', () => {
  it('gRPC over TLS by ALPN h2, with a CA made in the test', async () => {
    const tlsClient = new EchoClient(`127.0.0.1:${gateway.tlsPort}`, credentials.createSsl(Buffer.from(ca.cert)), {
      'grpc.ssl_target_name_override': HOST,
      'grpc.default_authority': HOST,
    }) as unknown as Echo;
    clients.push(tlsClient);
    expect((await callUnary(tlsClient, 'secure')).toString()).toBe('echo:secure');
    const { messages } = await collect(tlsClient.serverStream(Buffer.from('3')));
    expect(messages).toEqual(['msg-0', 'msg-1', 'msg-2']);
    await expect(callUnary(tlsClient, 'fail:over tls')).rejects.toMatchObject({ code: status.NOT_FOUND, details: 'over tls' });
  });
});

describe('the boundary holds for HTTP/2', () => {
  it('an HTTP/2 request for an explicit target no route exposes gets 403 and opens no connection', async () => {
    const uuid = clusterByName(cp, ns)!.cluster_uuid;
    const before = forbidden!.connections;
    const id = randomUUID();
    const headers = { 'content-type': 'application/grpc', te: 'trailers', 'transfer-encoding': 'chunked' };
    cp.sendRaw(uuid, JSON.stringify(envelope('proxy_request', { method: 'POST', path: '/test.Echo/Unary', headers, host: HOST, namespace: ns, service_name: 'hidden', service_port: 50051 }, id)));
    expect(await answerTo(id)).toMatchObject({ type: 'proxy_error', payload: { status: 403, error: `backend ${ns}/hidden:50051 is not exposed by any route of this cluster` } });
    expect(forbidden!.connections).toBe(before);
  });

  it("a backend's trailers past the limits are refused: the call fails, the operator says why and serves on", async () => {
    const mark = cp.receivedCount;
    await expect(callUnary(client, 'trailers:300')).rejects.toMatchObject({ code: status.INTERNAL });
    const refused = await eventually('the refusal', async () => cp.receivedSince(mark).find((m) => m.type === 'proxy_error'));
    // 300 of the handler's, with grpc-status and grpc-message.
    expect(String(refused.payload.error)).toContain("the backend's trailers were refused: 302 trailers, more than 256");
    await operator.waitForLog("the refusal's log line", (l) => l.msg === "refused a backend's trailers");
    // Within the limits they pass.
    expect((await callUnary(client, 'trailers:20')).toString()).toBe('ok');
    expect(operator.running).toBe(true);
  });

  it('malformed trailers in a frame from the control plane are ignored: the request completes and the operator lives', async () => {
    const uuid = clusterByName(cp, ns)!.cluster_uuid;
    const id = randomUUID();
    const message = Buffer.from('hi');
    const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, message.length]), message]);
    cp.sendRaw(uuid, JSON.stringify(envelope('proxy_request', { method: 'POST', path: '/test.Echo/Unary', headers: { 'content-type': 'application/grpc', te: 'trailers', 'transfer-encoding': 'chunked' }, host: HOST }, id)));
    cp.sendRaw(uuid, JSON.stringify(envelope('proxy_request_chunk', { data: framed.toString('base64') }, id)));
    cp.sendRaw(uuid, JSON.stringify(envelope('proxy_request_end', { trailers: { 'bad name': '\r\n', ':status': ['x'] } }, id)));
    cp.sendRaw(uuid, JSON.stringify(envelope('proxy_response_end', { trailers: 'not a map' }, id)));
    const end = await eventually('the end of the answer', async () => cp.received.find((m) => m.request_id === id && (m.type === 'proxy_response_end' || m.type === 'proxy_error')));
    expect(end).toMatchObject({ type: 'proxy_response_end', payload: { trailers: { 'grpc-status': '0' } } });
    expect((await callUnary(client, 'still')).toString()).toBe('echo:still');
    expect(operator.running).toBe(true);
  });
});

// TLS backends end to end: client → reference gateway → control-plane socket → operator's tunnel → a backend
// on loopback that serves TLS with a certificate from a CA made in the test (mapped with --service-address).
// The GatewayRoutes are written by hand with backend.protocol HTTPS (HTTP/1.1 over TLS) or H2 (gRPC over TLS).
// The system roots cannot verify the certificate: the request is refused with 502 and a message naming the
// verification failure, and logged; backend.tls.insecureSkipVerify serves it. A BackendTLSPolicy (CA ConfigMap
// and validation.hostname) on a Service an Ingress exposes with nginx.ingress.kubernetes.io/backend-protocol:
// HTTPS: verified against the policy's CA, changed CAs taken without a restart, a policy whose CA ConfigMap is
// missing refuses the backend without dialling it. (The dialler with a CA given directly is tested in
// test/integration/backend-dialler.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { credentials, makeGenericClientConstructor, Metadata, Server, ServerCredentials, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { request, type IncomingMessage, type RequestListener } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest, type RequestOptions, type Server as HttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { Gateway } from '../../src/reference-control-plane/gateway.js';
import type { ReferenceControlPlane } from '../../src/reference-control-plane/server.js';
import { makeCa, type TestCa } from '../support/certs.js';
import { clients, eventually, TestNamespaces } from '../support/kube.js';
import { condition, createIngress, createService, gatewayRouteCondition, getGatewayRoute, ingressObject, serviceObject } from '../support/fixtures.js';
import { createBackendTlsPolicy } from '../support/gateway-api.js';
import { heldRoutes, startControlPlane } from '../support/control-plane.js';
import { operatorArgs, OperatorPool, type OperatorProcess } from '../support/operator.js';
import { startRefusingServer, type RefusingServer } from '../support/refusing-server.js';

const operators = new OperatorPool();
const namespaces = new TestNamespaces();
const kube = clients();
let operator: OperatorProcess;
let ns: string;
let cp: ReferenceControlPlane;
let gateway: Gateway;
let gatewayPort: number;
let ca: TestCa;
let httpsBackend: HttpsServer;
let wss: WebSocketServer;
let grpcServer: Server;
/** Another CA, which signed nothing the backends serve. */
let wrongCa: TestCa;
/** Serves a certificate for web.internal (the policy's validation.hostname), signed by `ca`. */
let internalBackend: HttpsServer;
/** A cleartext listener behind a policy whose CA ConfigMap does not exist: counts every connection made to it. */
let sealed: RefusingServer | undefined;

const bytes = (b: Buffer): Buffer => b;
const ECHO = {
  unary: { path: '/test.Echo/Unary', requestStream: false, responseStream: false, requestSerialize: bytes, requestDeserialize: bytes, responseSerialize: bytes, responseDeserialize: bytes },
};
const EchoClient = makeGenericClientConstructor(ECHO, 'Echo');
type Echo = Client & { unary(request: Buffer, metadata: Metadata, callback: (err: ServiceError | null, value?: Buffer) => void): void };
const grpcClients: Client[] = [];

function callGrpc(host: string, message: string): Promise<Buffer> {
  const client = new EchoClient(`127.0.0.1:${gatewayPort}`, credentials.createInsecure(), { 'grpc.default_authority': host }) as unknown as Echo;
  grpcClients.push(client);
  return new Promise((resolve, reject) => client.unary(Buffer.from(message), new Metadata(), (err, value) => (err ? reject(err) : resolve(value as Buffer))));
}

function call(host: string, path = '/'): Promise<{ status: number; body: string; headers: IncomingMessage['headers'] }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: gatewayPort, path, headers: { Host: host }, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A WebSocket through the gateway: its first echo, or the status its upgrade was answered with. */
function echoOverWebSocket(host: string): Promise<{ echo: string } | { status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${gatewayPort}/ws`, { headers: { host } });
    ws.once('open', () => ws.send('over wss'));
    ws.once('message', (data) => {
      resolve({ echo: data.toString() });
      ws.close();
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('error', (err) => (err.message.startsWith('Unexpected server response') ? undefined : reject(err)));
  });
}

/** A GatewayRoute written by hand: `host` → Service `service` port 443, spoken as `protocol`. */
async function gatewayRoute(name: string, host: string, service: string, protocol: 'HTTPS' | 'H2', insecureSkipVerify?: boolean): Promise<void> {
  await kube.custom.createNamespacedCustomObject({
    group: 'gateway.pipeops.io', version: 'v1alpha1', plural: 'gatewayroutes', namespace: ns,
    body: {
      apiVersion: 'gateway.pipeops.io/v1alpha1', kind: 'GatewayRoute', metadata: { name, namespace: ns },
      spec: { routes: [{ host, path: '/', pathType: 'Prefix', backend: { service, port: { number: 443 }, protocol, ...(insecureSkipVerify ? { tls: { insecureSkipVerify } } : {}) } }] },
    },
  });
}

const answerJson: RequestListener = (req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ host: req.headers.host, url: req.url, tls: true }));
};

const listenOnLoopback = async (server: HttpsServer): Promise<number> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
};

beforeAll(async () => {
  ca = makeCa();
  wrongCa = makeCa('a CA that signed no backend');
  ns = await namespaces.create('backend-tls');
  // Certificates for the names the operator checks by default: the Services' cluster DNS names.
  httpsBackend = createHttpsServer(ca.issue([`web.${ns}.svc.cluster.local`]), answerJson);
  wss = new WebSocketServer({ server: httpsBackend });
  wss.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })));
  const webPort = await listenOnLoopback(httpsBackend);
  internalBackend = createHttpsServer(ca.issue(['web.internal']), answerJson);
  const internalPort = await listenOnLoopback(internalBackend);
  sealed = await startRefusingServer();
  const sealedPort = sealed.port;
  const grpcCert = ca.issue([`grpcs.${ns}.svc.cluster.local`]);
  grpcServer = new Server();
  grpcServer.addService(ECHO, { unary: (call: { request: Buffer }, callback: (err: null, value: Buffer) => void) => callback(null, Buffer.concat([Buffer.from('tls:'), call.request])) });
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync('127.0.0.1:0', ServerCredentials.createSsl(null, [{ private_key: Buffer.from(grpcCert.key), cert_chain: Buffer.from(grpcCert.cert) }], false), (err, port) => (err ? reject(err) : resolve(port))),
  );
  cp = await startControlPlane({ token: 'e2e' });
  // A TLS listener too, for the test of HTTP/1.1 clients over TLS.
  gateway = new Gateway(cp, { tls: ca.issue(['skip.example.com']) });
  gatewayPort = await gateway.listen();
  await createService(serviceObject(ns, 'web', [{ name: 'https', port: 443 }]));
  await createService(serviceObject(ns, 'grpcs', [{ name: 'grpcs', port: 443 }]));
  await createService(serviceObject(ns, 'internal', [{ name: 'https', port: 443 }]));
  await createService(serviceObject(ns, 'sealed', [{ name: 'https', port: 443 }]));
  await gatewayRoute('strict', 'strict.example.com', 'web', 'HTTPS');
  await gatewayRoute('skip', 'skip.example.com', 'web', 'HTTPS', true);
  await gatewayRoute('grpc-strict', 'grpc-strict.example.com', 'grpcs', 'H2');
  await gatewayRoute('grpc-skip', 'grpc-skip.example.com', 'grpcs', 'H2', true);
  operator = operators.start(operatorArgs(ns, { cp }, [
    '--service-address', `${ns}/web=127.0.0.1:${webPort}`,
    '--service-address', `${ns}/grpcs=127.0.0.1:${grpcPort}`,
    '--service-address', `${ns}/internal=127.0.0.1:${internalPort}`,
    '--service-address', `${ns}/sealed=127.0.0.1:${sealedPort}`,
  ]));
  await operator.registered();
  await eventually('the routes at the gateway', async () => heldRoutes(cp, ns).length === 4);
}, 60_000);

afterAll(async () => {
  for (const client of grpcClients) client.close();
  await operators.stopAll();
  await gateway?.close();
  await cp?.close();
  for (const client of wss?.clients ?? []) client.terminate();
  httpsBackend?.closeAllConnections();
  await new Promise((r) => httpsBackend?.close(r));
  grpcServer?.forceShutdown();
  internalBackend?.closeAllConnections();
  await new Promise((r) => internalBackend?.close(r));
  await sealed?.close();
  ca?.remove();
  wrongCa?.remove();
  await namespaces.deleteAll();
});

describe('an HTTPS backend (HTTP/1.1 over TLS)', () => {
  it('whose certificate the system roots cannot verify is refused: 502 naming the verification failure, logged', async () => {
    const res = await call('strict.example.com');
    expect(res.status).toBe(502);
    const { error } = JSON.parse(res.body) as { error: string };
    expect(error).toContain(`(HTTPS): TLS verification failed: the certificate is not trusted by the system roots (route protocol HTTPS names no CA)`);
    expect(error).toContain('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    await operator.waitForLog('the TLS failure logged', (l) => l.msg === 'backend TLS handshake failed' && String(l.err).includes('not trusted by the system roots'));
    // A WebSocket to it goes over wss with the same settings, and is refused the same way.
    const refused = await echoOverWebSocket('strict.example.com');
    expect(refused).toMatchObject({ status: 502 });
    expect((refused as { body: string }).body).toContain('the certificate is not trusted by the system roots');
  });

  it('served with backend.tls.insecureSkipVerify: the original Host, and a WebSocket over wss', async () => {
    const res = await call('skip.example.com', '/hello?x=1');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ host: 'skip.example.com', url: '/hello?x=1', tls: true });
    expect(await echoOverWebSocket('skip.example.com')).toEqual({ echo: 'over wss' });
  });
});

describe('an H2 backend (gRPC over TLS)', () => {
  it('whose certificate the system roots cannot verify is refused: the call is UNAVAILABLE, the operator says why', async () => {
    const mark = cp.receivedCount;
    await expect(callGrpc('grpc-strict.example.com', 'x')).rejects.toMatchObject({ code: status.UNAVAILABLE });
    const refused = await eventually('the refusal', async () => cp.receivedSince(mark).find((m) => m.type === 'proxy_error'));
    expect(refused.payload.status).toBe(502);
    expect(String(refused.payload.error)).toContain('(H2): TLS verification failed: the certificate is not trusted by the system roots');
  });

  it('served with backend.tls.insecureSkipVerify', async () => {
    expect((await callGrpc('grpc-skip.example.com', 'hello')).toString()).toBe('tls:hello');
  });
});

describe("the gateway's TLS listener", () => {
  it('serves HTTP/1.1 clients (ALPN http/1.1), WebSocket upgrades included, to the same backends', async () => {
    const answer = await new Promise<{ status: number; body: string; alpn: string | false | null }>((resolve, reject) => {
      const options = { host: '127.0.0.1', port: gateway.tlsPort, path: '/over-tls', servername: 'skip.example.com', ca: ca.cert, ALPNProtocols: ['http/1.1'], headers: { Host: 'skip.example.com' }, agent: false };
      const req = httpsRequest(options as RequestOptions, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, alpn: (res.socket as TLSSocket).alpnProtocol }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(answer).toEqual({ status: 200, body: JSON.stringify({ host: 'skip.example.com', url: '/over-tls', tls: true }), alpn: 'http/1.1' });
    const echo = await new Promise<string>((resolve, reject) => {
      // ws passes TLS options on to tls.connect: the name the gateway's certificate carries, and the test's CA.
      const options = { headers: { host: 'skip.example.com' }, servername: 'skip.example.com', ca: ca.cert };
      const ws = new WebSocket(`wss://127.0.0.1:${gateway.tlsPort}/ws`, options as WebSocket.ClientOptions);
      ws.once('open', () => ws.send('through both TLS hops'));
      ws.once('message', (data) => {
        resolve(data.toString());
        ws.close();
      });
      ws.once('error', reject);
    });
    expect(echo).toBe('through both TLS hops');
  });
});

describe('a BackendTLSPolicy on a Service an Ingress exposes with backend-protocol HTTPS', () => {
  const { core } = kube;
  const HOST = 'internal.example.com';
  const SEALED_HOST = 'sealed.example.com';
  const policy = () => `${ns}/internal-tls`;
  /** Puts `pem` in the policy's CA ConfigMap (key ca.crt). */
  const trust = (pem: string) => core.replaceNamespacedConfigMap({ name: 'internal-ca', namespace: ns, body: { metadata: { name: 'internal-ca', namespace: ns }, data: { 'ca.crt': pem } } });
  /** The gateway's answer for HOST once its body passes `check` (the operator takes ConfigMap changes from a watch). */
  const answerOnce = (what: string, check: (res: Awaited<ReturnType<typeof call>>) => boolean) =>
    eventually(what, async () => {
      const res = await call(HOST);
      return check(res) ? res : undefined;
    });

  beforeAll(async () => {
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'internal-ca', namespace: ns }, data: { 'ca.crt': ca.cert } } });
    await createBackendTlsPolicy(ns, 'internal-tls', { service: 'internal', caConfigMap: 'internal-ca', hostname: 'web.internal' });
    await createIngress(ingressObject(ns, 'internal', [{ host: HOST, paths: [{ service: 'internal', port: 443 }] }], { annotations: { 'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS' } }));
    // No annotation here: were the unusable policy ignored, this backend would be dialled in cleartext.
    await createBackendTlsPolicy(ns, 'sealed-tls', { service: 'sealed', caConfigMap: 'absent-ca', hostname: 'web.internal' });
    await createIngress(ingressObject(ns, 'sealed', [{ host: SEALED_HOST, paths: [{ service: 'sealed', port: 443 }] }]));
    await eventually('both routes at the gateway', async () => [`${HOST}/ → internal:443`, `${SEALED_HOST}/ → sealed:443`].every((r) => heldRoutes(cp, ns).includes(r)));
  });

  it("with the CA that signed the backend's certificate: 200 through the gateway, and ResolvedRefs names the policy", async () => {
    await trust(ca.cert);
    const res = await answerOnce('200 from the backend', (r) => r.status === 200);
    expect(JSON.parse(res.body)).toEqual({ host: HOST, url: '/', tls: true });
    const refs = await gatewayRouteCondition(ns, 'internal', { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs' });
    expect(refs.message).toBe(`all backend Services and ports exist; dialled as: internal:443 HTTPS (route protocol HTTPS; BackendTLSPolicy ${policy()})`);
  });

  it('with another CA in the ConfigMap: 502 naming the verification failure and the policy, logged; the right CA again serves, without a restart', async () => {
    await trust(wrongCa.cert);
    const refused = await answerOnce('502 naming the policy', (r) => r.status === 502 && r.body.includes(policy()));
    const { error } = JSON.parse(refused.body) as { error: string };
    expect(error).toContain(`(HTTPS): TLS verification failed: the certificate is not trusted by the CA of BackendTLSPolicy ${policy()}`);
    expect(error).toContain('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    await operator.waitForLog('the TLS failure logged', (l) => l.msg === 'backend TLS handshake failed' && String(l.err).includes(`the CA of BackendTLSPolicy ${policy()}`));
    // A CA that parses cannot be told wrong before a handshake: the GatewayRoute still says how it is dialled,
    // and a Warning Event on it (kubectl describe gatewayroute) says why its requests are refused.
    expect(condition(await getGatewayRoute(ns, 'internal'), 'ResolvedRefs')?.message).toContain(`BackendTLSPolicy ${policy()}`);
    const gatewayRoute = await getGatewayRoute(ns, 'internal');
    const event = await eventually('a BackendTLSFailed Event on the GatewayRoute', async () =>
      (await core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.kind=GatewayRoute,involvedObject.name=internal,involvedObject.uid=${gatewayRoute?.metadata.uid}` })).items.find((e) => e.reason === 'BackendTLSFailed'),
    );
    expect(event).toMatchObject({ type: 'Warning', message: expect.stringContaining(`not trusted by the CA of BackendTLSPolicy ${policy()}`) });

    await trust(ca.cert);
    const served = await answerOnce('200 again', (r) => r.status === 200);
    expect(JSON.parse(served.body)).toEqual({ host: HOST, url: '/', tls: true });
    expect(operator.running).toBe(true); // the same process: the ConfigMap change was watched, not read at start
  });

  it('whose CA ConfigMap does not exist: the backend is refused and never dialled, ResolvedRefs False InvalidBackendTLSPolicy', async () => {
    const refs = await gatewayRouteCondition(ns, 'sealed', { type: 'ResolvedRefs', status: 'False', reason: 'InvalidBackendTLSPolicy' });
    const why = `BackendTLSPolicy ${ns}/sealed-tls cannot be used: validation.caCertificateRefs[0]: ConfigMap ${ns}/absent-ca not found`;
    expect(refs.message).toBe(`sealed:443: ${why}; the tunnel refuses this backend`);
    const res = await call(SEALED_HOST);
    const upgrade = await echoOverWebSocket(SEALED_HOST);
    expect(sealed!.connections).toBe(0);
    expect(res.status).toBe(502);
    expect((JSON.parse(res.body) as { error: string }).error).toBe(why);
    expect(upgrade).toMatchObject({ status: 502 });
    expect((upgrade as { body: string }).body).toContain(why);
  });
});

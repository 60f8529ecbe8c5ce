// The tunnel's boundary with transports: a route whose transport cannot be used (a BackendTLSPolicy whose CA
// cannot be read) is answered 502 with the reason, for requests and WebSocket streams alike, and nothing is
// dialled; the transport is asked only for a route the boundary let through. `TE: trailers` reaches an HTTP/2
// backend only where the socket agreed to carry trailers.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer as createH2cServer, type Http2Server } from 'node:http2';
import { createServer, type AddressInfo, type Server } from 'node:net';
import type { ExposedRoute } from '../../../src/controlplane/protocol.js';
import { silentLogger } from '../../../src/log.js';
import { DEFAULT_TUNNEL_OPTIONS, Tunnel } from '../../../src/tunnel/tunnel.js';

let backend: Server;
let connections = 0;
/** An HTTP/2 backend that answers with the TE it was sent. */
let h2c: Http2Server;
beforeAll(async () => {
  h2c = createH2cServer((req, res) => {
    res.setHeader('x-te', String(req.headers.te));
    res.end();
  });
  await new Promise<void>((resolve) => h2c.listen(0, '127.0.0.1', resolve));
  backend = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  await new Promise((resolve) => backend.close(resolve));
  await new Promise((resolve) => h2c.close(resolve));
});

describe('TE: trailers to an HTTP/2 backend', () => {
  it.each([
    { trailersAgreed: true, te: 'trailers' },
    { trailersAgreed: false, te: 'undefined' },
  ])('is passed on only where the socket agreed to trailers (agreed: $trailersAgreed)', async ({ trailersAgreed, te }) => {
    let answered: (payload: { status: number; headers: Record<string, string> }) => void = () => undefined;
    const answer = new Promise<{ status: number; headers: Record<string, string> }>((resolve) => (answered = resolve));
    const socket = {
      trailersAgreed,
      send: () => true,
      sendBulk: (type: string, payload: never) => (type === 'proxy_response' && answered(payload), true),
      sendBody: () => true,
      congested: false,
      backlogBytes: 0,
      whenWritable: async () => undefined,
    };
    const routes: ExposedRoute[] = [{ key: 'ns/grpc/Prefix:grpc.example.com/', host: 'grpc.example.com', path: '/', path_type: 'Prefix', service: 'grpc', port: 50051, tls: false, namespace: 'ns' }];
    const tunnel = new Tunnel({
      socket: socket as never,
      routes: () => routes,
      transport: () => ({ protocol: 'H2C' }),
      options: { ...DEFAULT_TUNNEL_OPTIONS, serviceAddresses: new Map([['ns/grpc', `127.0.0.1:${(h2c.address() as AddressInfo).port}`]]) },
      logger: silentLogger(),
    });
    tunnel.handle({ type: 'proxy_request', request_id: 'call', payload: { method: 'POST', host: 'grpc.example.com', path: '/pkg.Svc/Call', headers: { te: 'trailers' }, body: '' } } as never);
    expect(await answer).toMatchObject({ status: 200, headers: { 'x-te': te } });
    tunnel.abortAll();
  });
});

describe('a transport that cannot be used', () => {
  it('is answered 502 with its reason and opens no connection; a target outside the routes is 403 before any transport is asked', async () => {
    const sent: Array<{ type: string; payload: unknown; id?: string }> = [];
    const socket = {
      send: (type: string, payload: unknown, id?: string) => (sent.push({ type, payload, id }), true),
      sendBulk: (type: string, payload: unknown, id?: string) => (sent.push({ type, payload, id }), true),
      sendBody: () => true,
      congested: false,
      backlogBytes: 0,
      whenWritable: async () => undefined,
    };
    const routes: ExposedRoute[] = [{ key: 'ns/web/Prefix:shop.example.com/', host: 'shop.example.com', path: '/', path_type: 'Prefix', service: 'web', port: 443, tls: false, namespace: 'ns' }];
    const asked: string[] = [];
    const port = (backend.address() as AddressInfo).port;
    const tunnel = new Tunnel({
      socket: socket as never,
      routes: () => routes,
      transport: (route) => (asked.push(route.key), { error: 'BackendTLSPolicy ns/web-tls cannot be used: ConfigMap ns/ca has no ca.crt' }),
      options: { ...DEFAULT_TUNNEL_OPTIONS, serviceAddresses: new Map([['ns/web', `127.0.0.1:${port}`], ['ns/other', `127.0.0.1:${port}`]]) },
      logger: silentLogger(),
    });
    tunnel.handle({ type: 'proxy_request', request_id: 'matched', payload: { method: 'GET', host: 'shop.example.com', path: '/', headers: {} } } as never);
    tunnel.handle({ type: 'proxy_request', request_id: 'explicit', payload: { method: 'GET', host: 'x', path: '/', headers: {}, namespace: 'ns', service_name: 'web', service_port: 443 } } as never);
    tunnel.handle({ type: 'ws_open', request_id: 'stream', payload: { host: 'shop.example.com', path: '/ws', headers: {} } } as never);
    tunnel.handle({ type: 'proxy_request', request_id: 'outside', payload: { method: 'GET', host: 'x', path: '/', headers: {}, namespace: 'ns', service_name: 'other', service_port: 443 } } as never);
    const reason = 'BackendTLSPolicy ns/web-tls cannot be used: ConfigMap ns/ca has no ca.crt';
    expect(sent).toEqual([
      { type: 'proxy_error', payload: { status: 502, error: reason }, id: 'matched' },
      { type: 'proxy_error', payload: { status: 502, error: reason }, id: 'explicit' },
      { type: 'ws_error', payload: { status: 502, error: reason }, id: 'stream' },
      { type: 'proxy_error', payload: { status: 403, error: 'backend ns/other:443 is not exposed by any route of this cluster' }, id: 'outside' },
    ]);
    expect(asked).toEqual([routes[0]!.key, routes[0]!.key, routes[0]!.key]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(connections).toBe(0);
    expect(tunnel.inFlight).toBe(0);
    tunnel.abortAll();
  });
});

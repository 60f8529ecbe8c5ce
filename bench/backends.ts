// The backends of the tunnel, gRPC and HTTPS benches, in a process of their own so that what a bench measures of
// the tunnel is not the backends' CPU:
//   gRPC    an echo (HTTP/2 cleartext)
//   HTTP    an HTTP/1.1 server: a small JSON answer, GET /big (10 MiB), POST /upload (a sink answering the bytes
//           it read) and a WebSocket echo on upgrade
//   HTTPS   the same answers over TLS, when BENCH_TLS_CERT / BENCH_TLS_KEY give its PEM certificate and key;
//           GET /handshakes answers how many TLS connections it has accepted
// Prints one JSON line with the ports (httpsPort only with a certificate).
import * as grpc from '@grpc/grpc-js';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { BULK_BYTES, ECHO_SERVICE } from './backend-api.js';

const SMALL_BODY = Buffer.from('{"ok":true}');
const BULK_BODY = Buffer.alloc(BULK_BYTES, 7);

const answer = (req: IncomingMessage, res: ServerResponse) => {
  if (req.url === '/big') {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': BULK_BYTES });
    return void res.end(BULK_BODY);
  }
  if (req.url === '/upload') {
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    return void req.on('end', () => res.end(JSON.stringify({ bytes })));
  }
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': SMALL_BODY.length });
  res.end(SMALL_BODY);
};

const listen = (server: { listen(port: number, host: string, cb: () => void): unknown; address(): AddressInfo | string | null }) =>
  new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

const grpcServer = new grpc.Server();
grpcServer.addService(ECHO_SERVICE, { unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => done(null, call.request) });
const grpcPort = await new Promise<number>((resolve, reject) =>
  grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
);

const httpServer = createHttpServer({ keepAliveTimeout: 60_000 }, answer);
const echo = new WebSocketServer({ noServer: true, perMessageDeflate: false });
httpServer.on('upgrade', (req, socket, head) => echo.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }))));
const httpPort = await listen(httpServer);

// The bench checks with /handshakes that the tunnel keeps TLS connections alive rather than paying a handshake
// per request.
let httpsPort: number | undefined;
if (process.env.BENCH_TLS_CERT && process.env.BENCH_TLS_KEY) {
  let handshakes = 0;
  const httpsServer = createHttpsServer({ cert: process.env.BENCH_TLS_CERT, key: process.env.BENCH_TLS_KEY, keepAliveTimeout: 60_000 }, (req, res) =>
    req.url === '/handshakes' ? res.end(String(handshakes)) : answer(req, res),
  );
  httpsServer.on('secureConnection', () => handshakes++);
  httpsPort = await listen(httpsServer);
}
console.log(JSON.stringify({ grpcPort, httpPort, httpsPort }));
process.on('SIGTERM', () => process.exit(0));

// The backends of the gRPC and HTTPS bench, in a process of their own so that what the bench measures of the
// tunnel is not the backends' CPU: a gRPC echo (HTTP/2 cleartext), an HTTP/1.1 server and the same server over
// TLS (its PEM certificate and key in BENCH_TLS_CERT / BENCH_TLS_KEY). Prints one JSON line with the three ports.
import * as grpc from '@grpc/grpc-js';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ECHO_SERVICE } from './grpc-echo.js';

const SMALL_BODY = Buffer.from('{"ok":true}');
const answer = (_req: IncomingMessage, res: ServerResponse) => {
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
const httpPort = await listen(createHttpServer({ keepAliveTimeout: 60_000 }, answer));
// GET /handshakes on the TLS server answers how many TLS connections it has accepted: the bench checks that
// the tunnel keeps them alive rather than paying a handshake per request.
let handshakes = 0;
const httpsServer = createHttpsServer({ cert: process.env.BENCH_TLS_CERT, key: process.env.BENCH_TLS_KEY, keepAliveTimeout: 60_000 }, (req, res) =>
  req.url === '/handshakes' ? res.end(String(handshakes)) : answer(req, res),
);
httpsServer.on('secureConnection', () => handshakes++);
const httpsPort = await listen(httpsServer);
console.log(JSON.stringify({ grpcPort, httpPort, httpsPort }));
process.on('SIGTERM', () => process.exit(0));

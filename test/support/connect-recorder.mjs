// Test-only preload (node --import, see connectionRecording in netpol.ts): appends every outbound flow of the
// process to the file $GATEWAY_TEST_CONNECTIONS, one JSON line each. Hooks net.Socket.prototype.connect, which
// every TCP client goes through (net.connect, tls.connect, http(s) agents, ws, fetch); the 'net.client.socket'
// diagnostics channel is published by net.connect only, so on Node 20 it misses every TLS connection.
import { appendFileSync } from 'node:fs';
import dgram from 'node:dgram';
import net from 'node:net';

const file = process.env.GATEWAY_TEST_CONNECTIONS;
if (!file) throw new Error('connect-recorder: GATEWAY_TEST_CONNECTIONS names no file');

/** Synchronous: recorded before a byte is sent, and before the process can exit. */
function record(protocol, remoteAddress, remotePort) {
  appendFileSync(file, `${JSON.stringify({ protocol, remoteAddress: remoteAddress.replace(/^::ffff:/, ''), remotePort: Number(remotePort) })}\n`);
}

/** Host and port of connect()'s arguments: (options), (port, host), or net.connect's normalized [options]; none for a pipe (a path, as net decides: agents pass path: null). */
function tcpTarget(args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (typeof first === 'object' && first !== null) return first.path ? undefined : { host: first.host ?? 'localhost', port: first.port };
  if (typeof first === 'string' && !/^\d+$/.test(first)) return undefined;
  return { host: typeof args[1] === 'string' ? args[1] : 'localhost', port: first };
}

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const target = tcpTarget(args);
  if (target) {
    // The intent, so a refused or failed connection is a flow too; then where it went (a name resolved).
    record('TCP', target.host, target.port);
    this.once('connect', () => record('TCP', this.remoteAddress, this.remotePort));
  }
  return connect.apply(this, args);
};

const udpConnect = dgram.Socket.prototype.connect;
dgram.Socket.prototype.connect = function (port, ...rest) {
  record('UDP', typeof rest[0] === 'string' ? rest[0] : 'localhost', port);
  return udpConnect.call(this, port, ...rest);
};

// send(msg[, offset, length][, port][, address][, callback]): no port when the socket is connected (recorded above).
const send = dgram.Socket.prototype.send;
dgram.Socket.prototype.send = function (msg, ...rest) {
  const args = rest.filter((arg) => typeof arg !== 'function');
  const [port, address] = args.length > 2 ? args.slice(2) : typeof args[1] === 'number' ? [] : args;
  if (port !== undefined) record('UDP', address ?? 'localhost', port);
  return send.call(this, msg, ...rest);
};

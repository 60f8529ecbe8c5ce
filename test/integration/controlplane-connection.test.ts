// How the operator reaches a control plane in a corporate network: wss:// with a private CA (--ca-file)
// and a client certificate (--client-cert-file / --client-key-file), and through an HTTP CONNECT proxy
// (--proxy-url). Real TLS (certificates made with openssl), a real proxy on loopback, the real operator.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import type { ReferenceControlPlane } from '../../src/reference-control-plane/server.js';
import { eventually, TestNamespaces } from '../support/kube.js';
import { clusterByName, connectProxy, startControlPlane } from '../support/control-plane.js';
import { operatorArgs, OperatorPool } from '../support/operator.js';
import { runCommandSync } from '../support/processes.js';

const TOKEN = 'connection-test-token';
const operators = new OperatorPool();
const namespaces = new TestNamespaces();
const dir = mkdtempSync(join(tmpdir(), 'gateway-tls-'));
const file = (name: string) => join(dir, name);
let cp: ReferenceControlPlane;
let ns: string;

/** A private CA, a server certificate for 127.0.0.1 and a client certificate, all signed by it. */
function makeCertificates(): void {
  const openssl = (...args: string[]): void => {
    const result = runCommandSync('openssl', args);
    if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
  };
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=gateway-test-ca', '-keyout', file('ca.key'), '-out', file('ca.crt'));
  for (const [name, subject, extension] of [
    ['server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1'],
    ['client', '/CN=cluster-agent', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', subject, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`));
    writeFileSync(file(`${name}.ext`), `${extension}\n`);
    openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', file(`${name}.ext`), '-out', file(`${name}.crt`));
  }
}

/** Terminates TLS (client certificate required) in front of the plain reference control plane. */
function tlsFront(target: number): Promise<{ server: TlsServer; port: number; peers: string[] }> {
  const peers: string[] = [];
  const server = createTlsServer(
    { key: readFileSync(file('server.key')), cert: readFileSync(file('server.crt')), ca: readFileSync(file('ca.crt')), requestCert: true, rejectUnauthorized: true },
    (socket: TLSSocket) => {
      peers.push(String(socket.getPeerCertificate().subject?.CN));
      const upstream = connect(target, '127.0.0.1');
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    },
  );
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port, peers })));
}

beforeAll(async () => {
  makeCertificates();
  cp = await startControlPlane({ token: TOKEN });
  ns = await namespaces.create('cp-conn');
});

afterAll(async () => {
  await operators.stopAll();
  await cp?.close();
  await namespaces.deleteAll();
});

/** An operator of `ns` registering as `cluster` through `url` (the TLS front), with the connection flags `extra`. */
const argsVia = (cluster: string, url: string, extra: string[]) => operatorArgs(ns, { cp, url, clusterName: cluster, reconnectMaxMs: 1000 }, extra);

describe('reaching the control plane', () => {
  it('wss:// with a private CA and a client certificate, through an HTTP CONNECT proxy', async () => {
    const front = await tlsFront(cp.port);
    const proxy = await connectProxy();
    try {
      const cluster = `${ns}-tls`;
      const op = operators.start(
        argsVia(cluster, `https://127.0.0.1:${front.port}`, [
          '--ca-file', file('ca.crt'), '--client-cert-file', file('client.crt'), '--client-key-file', file('client.key'), '--proxy-url', `http://127.0.0.1:${proxy.port}`,
        ]),
      );
      await op.registered();
      expect(clusterByName(cp, cluster)?.connected).toBe(true);
      expect(front.peers).toContain('cluster-agent');
      expect(proxy.tunnels).toContain(`127.0.0.1:${front.port}`);
      await op.stop();
    } finally {
      front.server.close();
      proxy.server.close();
    }
  }, 30_000);

  it('without the CA the server certificate is refused, and the detailed health says why', async () => {
    const front = await tlsFront(cp.port);
    try {
      const op = operators.start(argsVia(`${ns}-noca`, `https://127.0.0.1:${front.port}`, ['--client-cert-file', file('client.crt'), '--client-key-file', file('client.key')]));
      const error = await eventually('a TLS error in the detailed health', async () => {
        const connection = (await op.get('/api/health/detailed')).body.connection as { state: string; lastError?: string };
        return connection.lastError && connection.state !== 'ready' ? connection.lastError : undefined;
      });
      expect(error).toMatch(/self-signed|unable to verify|certificate/i);
      expect(clusterByName(cp, `${ns}-noca`)).toBeUndefined();
      await op.stop();
    } finally {
      front.server.close();
    }
  }, 30_000);
});

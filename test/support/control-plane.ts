// The reference control plane in the test process, readers that compare what it holds with what the test
// put in the cluster, and an HTTP CONNECT proxy to reach it through.
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { ReferenceControlPlane } from '../../src/reference-control-plane/server.js';
import type { ClusterRecord } from '../../src/reference-control-plane/store.js';
import type { WireRoute } from '../../src/controlplane/protocol.js';
import { silentLogger } from '../../src/log.js';
import { eventually } from './kube.js';

export async function startControlPlane(options: { token?: string; port?: number; maxFrameBytes?: number } = {}): Promise<ReferenceControlPlane> {
  const cp = new ReferenceControlPlane({ token: options.token, port: options.port, maxFrameBytes: options.maxFrameBytes, logger: silentLogger() });
  await cp.listen();
  return cp;
}

export function clusterByName(cp: ReferenceControlPlane, name: string) {
  return cp.store.clusters().find((c) => c.name === name);
}

/**
 * Another cluster (its own credential) holding `routes` under GatewayRoute x/y, and connected as far as the
 * store knows, so its host + path claims stand (a disconnected one's are taken over).
 */
export function clusterHolding(cp: ReferenceControlPlane, name: string, routes: unknown[]): ClusterRecord {
  const registered = cp.store.register({ name, credential: `another-credential-${name}` });
  if (!registered.ok) throw new Error(registered.message);
  cp.store.markConnected(registered.cluster);
  cp.store.replaceAll(registered.cluster, [{ namespace: 'x', name: 'y', annotations: {}, routes }]);
  return registered.cluster;
}

/** The routes a cluster holds, as sorted "host path → service:port" lines (easy to diff). */
export function heldRoutes(cp: ReferenceControlPlane, clusterName: string): string[] {
  const cluster = clusterByName(cp, clusterName);
  return [...(cluster?.routes.values() ?? [])].map(describeRoute).sort();
}

export function describeRoute(r: Pick<WireRoute, 'host' | 'path' | 'service' | 'port'> & Partial<WireRoute>): string {
  return `${r.host}${r.path} → ${r.service}:${r.port}`;
}

export async function waitForRoutes(cp: ReferenceControlPlane, clusterName: string, expected: string[], timeoutMs = 30_000): Promise<void> {
  const want = [...expected].sort();
  let last: string[] = [];
  try {
    await eventually('control plane routes equal the cluster', async () => {
      last = heldRoutes(cp, clusterName);
      return JSON.stringify(last) === JSON.stringify(want);
    }, timeoutMs);
  } catch (err) {
    const missing = want.filter((r) => !last.includes(r));
    const stale = last.filter((r) => !want.includes(r));
    throw new Error(`${(err as Error).message}\nmissing: ${missing.slice(0, 10).join(', ')}\nstale: ${stale.slice(0, 10).join(', ')}`);
  }
}

/** An HTTP CONNECT proxy that records what it was asked to reach. */
export function connectProxy(): Promise<{ server: Server; port: number; tunnels: string[] }> {
  const tunnels: string[] = [];
  const server = createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req, client: Socket, head: Buffer) => {
    tunnels.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client).pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port, tunnels })));
}

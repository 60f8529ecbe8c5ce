// The reference control plane in the test process, plus readers that compare what it holds with
// what the test put in the cluster.
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

// What the availability bench stands on, all in its process (it restarts the control plane): a test apiserver,
// a loopback backend, the reference control plane (admin secret `token`) and its gateway in front of it.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gateway, type GatewayOptions } from '../src/reference-control-plane/gateway.js';
import { startControlPlane } from '../test/support/control-plane.js';
import { startBenchCluster } from './children.js';
import { TestCluster } from '../test/support/test-cluster.js';

export async function startBenchStack(backend: Server, token: string, gatewayOptions: GatewayOptions = {}) {
  const cluster = new TestCluster({ controllerManager: false });
  const kc = await startBenchCluster(cluster);
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  const backendPort = (backend.address() as AddressInfo).port;
  const cp = await startControlPlane({ token });
  const gateway = new Gateway(cp, gatewayOptions);
  const gatewayPort = await gateway.listen();
  return { cluster, kc, backendPort, cp, gateway, gatewayPort };
}

// The operator's control-plane client in protocol version 3 (docs/protocol.md, "Connections and roles"),
// against the reference control plane in this process: a replica registers for tunnel traffic unless it
// leads, claims the route sync when it comes to lead, is demoted by the next leader's claim, and a draining
// replica never takes the route sync back, not even after its socket drops and it registers again.
import { afterEach, expect, it } from '@jest/globals';
import WebSocket from 'ws';
import { ControlPlaneClient } from '../../src/controlplane/client.js';
import { MemoryIdentityStore } from '../../src/controlplane/identity.js';
import { silentLogger } from '../../src/log.js';
import type { ReferenceControlPlane } from '../../src/reference-control-plane/server.js';
import { eventually } from '../support/kube.js';
import { clusterByName, startControlPlane } from '../support/control-plane.js';

const CLUSTER = 'roles';
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function controlPlane(): Promise<ReferenceControlPlane> {
  const cp = await startControlPlane({ token: 'roles-secret' });
  cleanups.push(() => cp.close());
  return cp;
}

/** A replica's client; `syncs` counts the times it was told to send a snapshot (it carries the route sync). */
function replica(cp: ReferenceControlPlane, agentId: string): { client: ControlPlaneClient; syncs: () => number } {
  let syncs = 0;
  const client = new ControlPlaneClient({
    url: cp.url,
    token: cp.agentToken(CLUSTER),
    clusterName: CLUSTER,
    agentId,
    agentVersion: 'test',
    k8sVersion: () => 'test',
    identity: new MemoryIdentityStore(),
    fingerprint: async () => 'kube-system-uid',
    heartbeat: () => ({ is_private: true, routing_mode: 'tunnel', gateway_routes: 0, k8s_version: 'test', agent_version: 'test' }),
    logger: silentLogger(),
    reconnect: { initialMs: 50, maxMs: 200, factor: 2, jitter: 0 },
  });
  client.setHandlers({ onReady: () => void syncs++ });
  cleanups.push(() => client.stop());
  return { client, syncs: () => syncs };
}

/** A replica that leads from the start: it registers with the route-sync role. */
async function leader(cp: ReferenceControlPlane, agentId: string): Promise<ReturnType<typeof replica>> {
  const r = replica(cp, agentId);
  r.client.claimSync();
  r.client.start();
  await eventually(`${agentId} registered as sync`, async () => r.client.ready);
  return r;
}

/** A replica that does not lead: registered for tunnel traffic. */
async function standby(cp: ReferenceControlPlane, agentId: string): Promise<ReturnType<typeof replica>> {
  const r = replica(cp, agentId);
  r.client.start();
  await eventually(`${agentId} registered`, async () => r.client.registered);
  return r;
}

const roles = (cp: ReferenceControlPlane) => {
  const uuid = clusterByName(cp, CLUSTER)?.cluster_uuid;
  return uuid ? cp.connections(uuid).map((c) => `${c.agent_id}:${c.role}${c.draining ? ':draining' : ''}`).sort() : [];
};

/** Drops the client's socket as a network blip would (no close frame); it dials again on its own. */
const blip = (client: ControlPlaneClient): void => (client as unknown as { socket: WebSocket }).socket.terminate();

it('a replica registers for tunnel traffic unless it leads; the next leader claims the sync and the former one is demoted', async () => {
  const cp = await controlPlane();
  const a = await leader(cp, 'replica-a');
  const b = await standby(cp, 'replica-b');
  expect(b.client.ready).toBe(false); // registered for traffic, not for routes
  expect(roles(cp)).toEqual(['replica-a:sync', 'replica-b:tunnel']);
  await eventually('the leader was told of two connections', async () => a.client.clusterConnections?.count === 2);

  b.client.claimSync();
  await eventually('b carries the sync', async () => b.client.ready && b.syncs() === 1);
  await eventually('a demoted', async () => !a.client.ready && a.client.registered);
  expect(roles(cp)).toEqual(['replica-a:tunnel', 'replica-b:sync']);
});

it('a draining former leader that drops and dials again registers as draining tunnel traffic and never takes the sync back', async () => {
  const cp = await controlPlane();
  const a = await leader(cp, 'replica-a');
  const b = await standby(cp, 'replica-b');

  await a.client.drain(); // resolves on drain_ack
  b.client.claimSync(); // b leads now
  await eventually('b carries the sync', async () => b.client.ready);
  a.client.claimSync(); // what a late leader callback would do: ignored while draining
  blip(a.client);
  await eventually('a registered again', async () => a.client.registered && roles(cp).includes('replica-a:tunnel:draining'));
  expect(a.client.ready).toBe(false);
  expect(b.client.ready).toBe(true);
  expect(roles(cp)).toEqual(['replica-a:tunnel:draining', 'replica-b:sync']);
  expect(b.syncs()).toBe(1); // never demoted and granted again
});

it('a replica whose leader work stopped registers for tunnel traffic only after its socket drops', async () => {
  const cp = await controlPlane();
  const a = await leader(cp, 'replica-a');
  a.client.releaseSync();
  blip(a.client);
  await eventually('a registered again, as tunnel', async () => a.client.registered && roles(cp).join() === 'replica-a:tunnel');
  expect(a.client.ready).toBe(false);
});

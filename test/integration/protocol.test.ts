// Protocol v2 (docs/protocol.md) between the real operator and the reference control plane: answers
// matched per message, revisions that survive a leader hand-over between skewed revision sources,
// snapshots of any size in bounded frames, changes of only what changed, identity by cluster_id, one
// socket per cluster, and control messages ahead of bulk data.
import { describe, expect, it } from '@jest/globals';
import WebSocket from 'ws';
import { ControlPlaneClient } from '../../src/controlplane/client.js';
import { MemoryIdentityStore } from '../../src/controlplane/identity.js';
import { silentLogger } from '../../src/log.js';
import { clients, eventually } from '../support/kube.js';
import { churnStep, syncSuite } from '../support/sync-suite.js';
import { condition, createIngress, getGatewayRoute, inBatches, ingressObject, listGatewayRoutes } from '../support/fixtures.js';
import { clusterByName, describeRoute, heldRoutes, startControlPlane, waitForRoutes } from '../support/control-plane.js';
import { withRandom } from '../support/random.js';

const TOKEN = 'protocol-test-token';
const { networking } = clients();
const suite = syncSuite(TOKEN);
const { operators, ownNamespace, operatorArgs } = suite;

const route = (host: string, path: string) => describeRoute({ host, path, service: 'web', port: 8080 });
const paths = (count: number, prefix = '/p') => Array.from({ length: count }, (_, i) => ({ path: `${prefix}${i}`, service: 'web', port: 'http' as const }));
/** `count` Ingresses of `pathsEach` paths with a `noteBytes` annotation; returns the routes expected at the control plane. */
async function manyPathIngresses(ns: string, count: number, pathsEach: number, noteBytes: number): Promise<string[]> {
  const names = Array.from({ length: count }, (_, i) => `app-${i}`);
  await inBatches(names, 10, (name) => createIngress(ingressObject(ns, name, [{ host: `${name}.${ns}.example.com`, paths: paths(pathsEach) }], { annotations: { note: 'n'.repeat(noteBytes) } })));
  return names.flatMap((name) => Array.from({ length: pathsEach }, (_, i) => route(`${name}.${ns}.example.com`, `/p${i}`)));
}

const mine = (uuid: string, type: string, since = 0) => suite.cp.receivedSince(since).filter((m) => m.cluster === uuid && m.type === type);

describe('answers per message', () => {
  it('a refused (NACKed) change stays Synced=False when a later change of another GatewayRoute is acknowledged', async () => {
    const ns = await ownNamespace('nack');
    const op = operators.start(operatorArgs(ns));
    await op.registered();
    suite.cp.refuseRouteMessage = (type, payload) =>
      type === 'routes_change' && payload.namespace === ns && payload.name === 'refused' ? { code: 'refused', message: 'policy forbids this host', retryable: false } : undefined;
    try {
      await createIngress(ingressObject(ns, 'refused', [{ host: `refused.${ns}.example.com`, paths: [{ service: 'web', port: 'http' }] }]));
      const uuid = clusterByName(suite.cp, ns)!.cluster_uuid;
      await eventually('the refused change was answered', async () => suite.cp.received.some((m) => m.cluster === uuid && m.type === 'routes_change' && m.payload.name === 'refused'));
      await createIngress(ingressObject(ns, 'accepted', [{ host: `accepted.${ns}.example.com`, paths: [{ service: 'web', port: 'http' }] }]));
      await eventually('the later change Synced=True', async () => condition(await getGatewayRoute(ns, 'accepted'), 'Synced')?.status === 'True');
      const refused = await eventually('Synced=False Refused', async () => {
        const c = condition(await getGatewayRoute(ns, 'refused'), 'Synced');
        return c?.reason === 'Refused' ? c : undefined;
      });
      expect(refused).toMatchObject({ status: 'False', message: 'the control plane refused this change (refused): policy forbids this host; not retried until the GatewayRoute changes' });
      await eventually('Stalled=True Refused', async () => condition(await getGatewayRoute(ns, 'refused'), 'Stalled')?.reason === 'Refused');
      expect(condition(await getGatewayRoute(ns, 'refused'), 'Ready')?.status).toBe('False');
      expect(condition(await getGatewayRoute(ns, 'refused'), 'Reconciling')?.status).toBe('False');
      expect(heldRoutes(suite.cp, ns)).toEqual([route(`accepted.${ns}.example.com`, '/')]);
      // Not retried as it is: one message for it, however long we look.
      await op.settled();
      expect(suite.cp.received.filter((m) => m.cluster === uuid && m.type === 'routes_change' && m.payload.name === 'refused')).toHaveLength(1);
    } finally {
      suite.cp.refuseRouteMessage = undefined;
    }
  });

  it('a retryable refusal is retried with backoff until accepted', async () => {
    const ns = await ownNamespace('nack-retry');
    const op = operators.start(operatorArgs(ns));
    await op.registered();
    let refusals = 0;
    suite.cp.refuseRouteMessage = (type, payload) => {
      if (type !== 'routes_change' || payload.namespace !== ns || refusals >= 2) return undefined;
      refusals++;
      return { code: 'unavailable', message: 'try later', retryable: true };
    };
    try {
      await createIngress(ingressObject(ns, 'retried', [{ host: `retried.${ns}.example.com`, paths: [{ service: 'web', port: 'http' }] }]));
      await eventually('Synced=False Retrying and Reconciling while refused', async () => {
        const retried = await getGatewayRoute(ns, 'retried');
        return condition(retried, 'Synced')?.reason === 'Retrying' && condition(retried, 'Reconciling')?.status === 'True' && condition(retried, 'Stalled')?.status === 'False';
      });
      await eventually('Synced=True after the retries', async () => condition(await getGatewayRoute(ns, 'retried'), 'Synced')?.status === 'True', 15_000);
      const sends = suite.cp.received.filter((m) => m.type === 'routes_change' && m.payload.namespace === ns).map((m) => m.at);
      expect(sends).toHaveLength(3);
      // 1 s, then 2 s apart (the first retry's backoff, then the second's).
      expect(sends[1]! - sends[0]!).toBeGreaterThanOrEqual(900);
      expect(sends[2]! - sends[1]!).toBeGreaterThanOrEqual(1_900);
    } finally {
      suite.cp.refuseRouteMessage = undefined;
    }
  });
});

describe('changes', () => {
  it('one inserted path is one routes_change with one added route', async () => {
    const ns = await ownNamespace('insert');
    const op = operators.start(operatorArgs(ns));
    await op.registered();
    const host = `insert.${ns}.example.com`;
    await createIngress(ingressObject(ns, 'paths', [{ host, paths: paths(3) }]));
    await waitForRoutes(suite.cp, ns, [0, 1, 2].map((i) => route(host, `/p${i}`)));
    await eventually('Synced', async () => condition(await getGatewayRoute(ns, 'paths'), 'Synced')?.status === 'True');
    await op.settled();
    const uuid = clusterByName(suite.cp, ns)!.cluster_uuid;
    const mark = suite.cp.receivedCount;
    const ingress = await networking.readNamespacedIngress({ namespace: ns, name: 'paths' });
    ingress.spec!.rules![0]!.http!.paths.unshift({ path: '/first', pathType: 'Prefix', backend: { service: { name: 'web', port: { name: 'http' } } } });
    await networking.replaceNamespacedIngress({ namespace: ns, name: 'paths', body: ingress });
    await waitForRoutes(suite.cp, ns, [route(host, '/first'), ...[0, 1, 2].map((i) => route(host, `/p${i}`))]);
    await op.settled();
    const changes = mine(uuid, 'routes_change', mark);
    expect(changes).toHaveLength(1);
    expect(changes[0]!.payload).toMatchObject({ namespace: ns, name: 'paths', remove: [] });
    expect((changes[0]!.payload.upsert as Array<{ path: string }>).map((r) => r.path)).toEqual(['/first']);
    expect(changes[0]!.payload.annotations).toBeUndefined();
    expect(mine(uuid, 'routes_ack', mark)).toHaveLength(0); // (acks go the other way: only agent frames are recorded)
  });

  it('a 1,000-path Ingress with a 20 KB annotation arrives whole on one connection; an annotation change is Synced only once acknowledged', async () => {
    const ns = await ownNamespace('big-annotation');
    const op = operators.start(operatorArgs(ns));
    await op.registered();
    const host = `big.${ns}.example.com`;
    await createIngress(ingressObject(ns, 'big', [{ host, paths: paths(1_000) }], { annotations: { 'example.com/note': 'a'.repeat(20_000) } }));
    await waitForRoutes(suite.cp, ns, Array.from({ length: 1_000 }, (_, i) => route(host, `/p${i}`)), 60_000);
    await eventually('Synced=True', async () => condition(await getGatewayRoute(ns, 'big'), 'Synced')?.status === 'True');
    const uuid = clusterByName(suite.cp, ns)!.cluster_uuid;
    // The annotation went once, not once per route: the message is far below 1,000 × 20 KB (20 MB).
    const first = mine(uuid, 'routes_change').find((m) => m.payload.name === 'big')!;
    expect(first.bytes).toBeLessThan(400_000);

    // An annotation change keeps the generation; Synced must still follow the control plane's answer.
    suite.cp.refuseRouteMessage = (type, payload) => (type === 'routes_change' && payload.namespace === ns && payload.annotations !== undefined ? { code: 'refused', message: 'annotation not allowed', retryable: false } : undefined);
    try {
      const ingress = await networking.readNamespacedIngress({ namespace: ns, name: 'big' });
      ingress.metadata!.annotations!['example.com/note'] = 'b'.repeat(20_000);
      await networking.replaceNamespacedIngress({ namespace: ns, name: 'big', body: ingress });
      await eventually('Synced=False Refused for the refused annotation', async () => condition(await getGatewayRoute(ns, 'big'), 'Synced')?.reason === 'Refused');
    } finally {
      suite.cp.refuseRouteMessage = undefined;
    }
    const ingress = await networking.readNamespacedIngress({ namespace: ns, name: 'big' });
    ingress.metadata!.annotations!['example.com/note'] = 'c'.repeat(20_000);
    await networking.replaceNamespacedIngress({ namespace: ns, name: 'big', body: ingress });
    await eventually('Synced=True once acknowledged', async () => condition(await getGatewayRoute(ns, 'big'), 'Synced')?.status === 'True');
    expect([...clusterByName(suite.cp, ns)!.routes.values()].every((r) => r.annotations['example.com/note'] === 'c'.repeat(20_000))).toBe(true);
    // No reconnect loop: one connection throughout.
    expect(mine(uuid, 'register')).toHaveLength(1);
    expect(op.logs.filter((l) => l.msg === 'control-plane socket closed')).toHaveLength(0);
  }, 90_000);

  it('a snapshot larger than the frame budget goes in frames under it, applied whole at the end', async () => {
    const ns = await ownNamespace('chunks');
    const budget = 64 * 1024;
    const op = operators.start([...operatorArgs(ns), '--frame-budget-bytes', String(budget)]);
    await op.registered();
    const expected = await manyPathIngresses(ns, 40, 25, 2_000);
    await waitForRoutes(suite.cp, ns, expected, 60_000);
    await op.settled();
    // A reconnect sends everything as one snapshot (about 130 KB here): in frames under the budget.
    const uuid = clusterByName(suite.cp, ns)!.cluster_uuid;
    const mark = suite.cp.receivedCount;
    suite.cp.dropConnections(uuid);
    await eventually('the snapshot applied', async () => mine(uuid, 'routes_sync_end', mark).length === 1);
    await waitForRoutes(suite.cp, ns, expected);
    const chunks = mine(uuid, 'routes_sync_chunk', mark);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(chunk.bytes).toBeLessThanOrEqual(budget);
    const end = mine(uuid, 'routes_sync_end', mark)[0]!;
    expect(end.payload).toMatchObject({ chunks: chunks.length, routes: 1_000 });
    expect(mine(uuid, 'routes_sync_begin', mark)).toHaveLength(1);
  }, 60_000);
});

describe('frame limits', () => {
  it('a peer that closes with 1009 is not sent that frame again: a few reconnects with smaller frames, then synced', async () => {
    // A control plane that takes 48 KiB frames and does not say so: the 1 MiB budget is too much for it.
    const strict = await startControlPlane({ token: TOKEN, maxFrameBytes: 48 * 1024 });
    strict.announceMaxFrame = false;
    const ns = await ownNamespace('frame-limit');
    try {
      const op = operators.start(operatorArgs(ns, { url: strict.url }));
      await op.registered();
      const expected = await manyPathIngresses(ns, 20, 20, 1_000);
      await waitForRoutes(strict, ns, expected, 60_000);
      await op.settled();
      // A reconnect: the snapshot (about 100 KB) must fit the peer's frames.
      const uuid = clusterByName(strict, ns)!.cluster_uuid;
      strict.dropConnections(uuid);
      await eventually('the snapshot applied after the reconnect', async () => strict.received.filter((m) => m.cluster === uuid && m.type === 'routes_sync_end').length >= 2, 30_000);
      await waitForRoutes(strict, ns, expected);
      const registers = strict.received.filter((m) => m.cluster === uuid && m.type === 'register').length;
      expect(registers).toBeLessThanOrEqual(5); // v1 resent the same frame forever (26 times in 20 s)
      const refusals = op.logs.filter((l) => typeof l.msg === 'string' && l.msg.includes('(1009)'));
      expect(refusals.length).toBeGreaterThanOrEqual(1);
      expect(refusals.length).toBeLessThanOrEqual(3);
      await eventually('every GatewayRoute Synced', async () => (await listGatewayRoutes(ns)).every((r) => condition(r, 'Synced')?.status === 'True'));
    } finally {
      await strict.close();
    }
  }, 90_000);
});

describe('revisions and identity', () => {
  it('a leader hand-over mid-churn between revision sources skewed by hours: the control plane ends with exactly the cluster routes, deletes included', () =>
    withRandom(async (random) => {
      const ns = await ownNamespace('handover');
      const hours = 3 * 3600_000;
      const args = [...operatorArgs(ns), '--leader-elect', '--lease-name', 'handover'];
      // The first leader counts from far ahead, the second from far behind, as wall-clock revisions would.
      const ahead = operators.start(args, { GATEWAY_REVISION_START: String(Date.now() + hours) });
      await ahead.registered();
      const behind = operators.start(args, { GATEWAY_REVISION_START: String(Date.now() - hours) });
      const model = new Map<string, string>();
      const step = (i: number): Promise<void> => {
        const name = `h-${random.int(25)}`;
        return churnStep({ namespace: ns, name, host: `${name}.${ns}.example.com`, path: `/v${i}`, model, random, deleteOneIn: 2 });
      };
      for (let i = 0; i < 60; i++) await step(i);
      const handedOver = ahead.stop(); // SIGTERM: releases the Lease; the standby takes over
      for (let i = 60; i < 120; i++) await step(i);
      expect(await handedOver).toBe(0);
      await behind.registered();
      await waitForRoutes(suite.cp, ns, [...model.entries()].map(([name, path]) => route(`${name}.${ns}.example.com`, path)), 60_000);
      const cluster = clusterByName(suite.cp, ns)!;
      expect(suite.cp.store.clusters().filter((c) => c.name === ns)).toHaveLength(1);
      // The second leader went on above the first one's revisions, though its own source was hours behind.
      expect(cluster.lastRevision).toBeGreaterThan(Date.now() + hours - 600_000);
      await eventually('every GatewayRoute Synced', async () => (await listGatewayRoutes(ns)).every((r) => condition(r, 'Synced')?.status === 'True'));
    }), 120_000);

});

describe('the reference control plane', () => {
  const register = (socket: WebSocket, payload: Record<string, unknown>): Promise<{ type: string; payload: Record<string, unknown> }> =>
    new Promise((resolve) => {
      socket.once('message', (data) => resolve(JSON.parse(data.toString()) as { type: string; payload: Record<string, unknown> }));
      socket.send(JSON.stringify({ type: 'register', request_id: 'reg', payload: { agent_id: 'raw', cluster_name: 'raw-agent', agent_version: 't', k8s_version: 't', features: {}, metadata: {}, ...payload }, timestamp: new Date().toISOString() }));
    });
  const open = async (): Promise<WebSocket> => {
    const socket = new WebSocket(`${suite.cp.url.replace('http', 'ws')}/api/v1/clusters/agent/ws`, { headers: { Authorization: `Bearer ${suite.cp.agentToken('raw-agent')}` } });
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    return socket;
  };

  it('refuses a version 1 agent, saying why', async () => {
    const socket = await open();
    const answer = await register(socket, {});
    expect(answer).toMatchObject({ type: 'error', payload: { code: 'unsupported_protocol_version' } });
    expect(answer.payload.message).toContain('protocol versions 2 and 3 only');
    socket.close();
  });

  it('one socket per cluster: a second registration of the same cluster_id replaces the first, whose frames are refused after', async () => {
    const first = await open();
    const registered = await register(first, { protocol_versions: [2] });
    expect(registered.type).toBe('register_success');
    const id = registered.payload.cluster_id as string;
    const closed = new Promise<number>((resolve) => first.once('close', (code) => resolve(code)));
    const second = await open();
    expect((await register(second, { protocol_versions: [2], cluster_id: id })).payload).toMatchObject({ cluster_id: id, resume_revision: 0 });
    expect(await closed).toBe(4000);
    second.close();
  });
});

describe('flow control', () => {
  it('route and control messages overtake bulk data queued behind a congested socket', async () => {
    const client = new ControlPlaneClient({
      url: suite.cp.url,
      token: suite.cp.agentToken('flow-control'),
      clusterName: 'flow-control',
      agentId: 'flow',
      agentVersion: 'test',
      k8sVersion: () => 'test',
      identity: new MemoryIdentityStore(),
      heartbeat: () => ({ is_private: true, routing_mode: 'tunnel', gateway_routes: 0, k8s_version: 'test', agent_version: 'test' }),
      logger: silentLogger(),
      highWaterMark: 256 * 1024,
    });
    const ready = new Promise<void>((resolve) => client.setHandlers({ onReady: () => resolve() }));
    client.claimSync(); // as a leader: registered with the route-sync role, so onReady fires
    client.start();
    try {
      await ready;
      const uuid = client.session!.clusterUuid;
      suite.cp.pauseReading(uuid, true);
      const body = 'x'.repeat(128 * 1024);
      // How many frames the kernel's socket buffers take before ours fill depends on the machine: send until
      // 32 wait in this process (a bound, so a socket that never congests fails instead of looping).
      let sent = 0;
      while (client.queuedBulkFrames < 32 && sent < 1_000) client.sendBulk('proxy_response_chunk', { data: body }, `bulk-${sent++}`);
      expect(client.congested).toBe(true);
      const queued = client.queuedBulkFrames;
      expect(queued).toBe(32);
      client.sendHeartbeat();
      suite.cp.pauseReading(uuid, false);
      await eventually('all bulk frames arrived', async () => mine(uuid, 'proxy_response_chunk').length === sent);
      const order = suite.cp.received.filter((m) => m.cluster === uuid && (m.type === 'heartbeat' || m.type === 'proxy_response_chunk')).map((m) => m.type);
      // The heartbeat sent while congested arrives behind the frames already handed to the socket and ahead of
      // every frame that was waiting in this process.
      const late = order.lastIndexOf('heartbeat');
      expect(order.slice(0, late).filter((type) => type === 'proxy_response_chunk')).toHaveLength(sent - queued);
      await client.whenWritable();
      expect(client.congested).toBe(false);
    } finally {
      await client.stop();
    }
  });
});

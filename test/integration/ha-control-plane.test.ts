// The control plane's side of protocol version 3 (docs/protocol.md, "Connections and roles"): a cluster holds
// many connections, one of them the route-sync connection; requests and streams go to the least busy
// non-draining one; a failed connection's safe requests are retried once on another; a silent one is
// terminated; the cluster stays connected while any connection is open. Scripted fake agents
// (test/support/fake-agent.ts) over real WebSockets against an in-process reference control plane and gateway.
import { afterEach, describe, expect, it } from '@jest/globals';
import WebSocket from 'ws';
import { silentLogger } from '../../src/log.js';
import { Gateway } from '../../src/reference-control-plane/gateway.js';
import { ReferenceControlPlane, type ReferenceControlPlaneOptions } from '../../src/reference-control-plane/server.js';
import { call, FakeAgent, type Answer, type Frame } from '../support/fake-agent.js';
import { waitFor } from '../support/processes.js';

const SECRET = 'ha-admin-secret';
const CLUSTER = 'shop';
const HOST = 'shop.example.com';

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Stack {
  cp: ReferenceControlPlane;
  gatewayPort: number;
  /** A new agent of the cluster, its handshake done, not registered yet. */
  agent: (okBody?: string) => Promise<FakeAgent>;
  clusters: () => Promise<Array<Record<string, unknown>>>;
}

async function stack(options: Partial<ReferenceControlPlaneOptions> = {}): Promise<Stack> {
  const cp = new ReferenceControlPlane({ token: SECRET, ...options, logger: silentLogger() });
  await cp.listen();
  const gateway = new Gateway(cp, { timeoutMs: 8_000 });
  const gatewayPort = await gateway.listen();
  cleanups.push(() => cp.close(), () => gateway.close());
  return {
    cp,
    gatewayPort,
    agent: async (okBody) => {
      const agent = new FakeAgent(cp.url, cp.agentToken(CLUSTER), { okBody });
      cleanups.push(() => agent.close());
      expect(await agent.opened()).toBe(true);
      return agent;
    },
    clusters: async () => {
      const answer = await call(cp.port, '127.0.0.1', '/api/v1/clusters', { headers: { Authorization: `Bearer ${SECRET}` } });
      return (JSON.parse(answer.body) as { clusters: Array<Record<string, unknown>> }).clusters;
    },
  };
}

/** What every replica of the cluster presents: its kube-system Namespace's UID, so all find one cluster. */
const FINGERPRINT = 'kube-system-uid';

/** Registers a version 3 connection of the cluster; resolves with register_success. */
async function register3(agent: FakeAgent, agentId: string, role?: 'sync' | 'tunnel'): Promise<Frame> {
  const answer = await agent.register(CLUSTER, { agent_id: agentId, cluster_fingerprint: FINGERPRINT, protocol_versions: [2, 3], features: { binary_frames: true }, ...(role ? { role } : {}) });
  expect(answer.type).toBe('register_success');
  return answer;
}

/** A sync connection serving HOST, and `tunnels` tunnel connections, registered in that order. */
async function cluster(s: Stack, tunnels: number): Promise<{ sync: FakeAgent; tunnel: FakeAgent[]; uuid: string }> {
  const sync = await s.agent('sync');
  const registration = await register3(sync, 'replica-s', 'sync');
  expect((await sync.snapshot(registration, 'web', [HOST])).payload.rejected).toEqual([]);
  const tunnel: FakeAgent[] = [];
  for (let i = 0; i < tunnels; i++) {
    const agent = await s.agent(`tunnel-${i}`);
    await register3(agent, `replica-t${i}`, 'tunnel');
    tunnel.push(agent);
  }
  return { sync, tunnel, uuid: registration.payload.cluster_uuid as string };
}

const respond = (agent: FakeAgent, id: string | undefined, body: string): void =>
  agent.send('proxy_response', { status: 200, headers: { 'content-type': 'text/plain' }, body: Buffer.from(body).toString('base64') }, id);

/** Requests the gateway sent to `agent` so far (taken out of its inbox). */
async function requestsOf(agent: FakeAgent, n: number): Promise<Frame[]> {
  const frames: Frame[] = [];
  for (let i = 0; i < n; i++) frames.push(await agent.nextOf('proxy_request'));
  return frames;
}

/** True when no frame of `type` arrived at `agent` (and was left in its inbox) within `ms`. */
async function nothingOf(agent: FakeAgent, type: string, ms = 300): Promise<boolean> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return !(agent as unknown as { inbox: Frame[] }).inbox.some((f) => f.type === type);
}

const raw = (agent: FakeAgent): { pause(): void; destroy(): void } => (agent.socket as unknown as { _socket: { pause(): void; destroy(): void } })._socket;

describe('connections and roles', () => {
  it('a new register never closes another connection; the sync connection is told the counts', async () => {
    const s = await stack();
    const sync = await s.agent();
    expect((await register3(sync, 'replica-s')).payload).toMatchObject({ protocol_version: 3, role: 'sync', connections: 1 });
    expect((await sync.nextOf('connections')).payload).toEqual({ count: 1, draining: 0 });
    const t0 = await s.agent();
    expect((await register3(t0, 'replica-t0', 'tunnel')).payload).toMatchObject({ protocol_version: 3, role: 'tunnel', connections: 2 });
    expect((await sync.nextOf('connections')).payload).toEqual({ count: 2, draining: 0 });
    const t1 = await s.agent();
    expect((await register3(t1, 'replica-t1', 'tunnel')).payload).toMatchObject({ role: 'tunnel', connections: 3 });
    expect((await sync.nextOf('connections')).payload).toEqual({ count: 3, draining: 0 });

    t0.send('drain', {});
    await t0.nextOf('drain_ack');
    expect((await sync.nextOf('connections')).payload).toEqual({ count: 3, draining: 1 });
    const [listed] = await s.clusters();
    expect(listed!.connections).toEqual([
      { agent_id: 'replica-s', role: 'sync', draining: false, in_flight: 0 },
      { agent_id: 'replica-t0', role: 'tunnel', draining: true, in_flight: 0 },
      { agent_id: 'replica-t1', role: 'tunnel', draining: false, in_flight: 0 },
    ]);
    t1.close();
    expect((await sync.nextOf('connections')).payload).toEqual({ count: 2, draining: 1 });
    // Nobody was replaced (no 4000), and no tunnel connection is told the counts.
    expect([sync, t0].map((a) => a.socket.readyState)).toEqual([1, 1]);
    expect(await nothingOf(t0, 'connections')).toBe(true);
  });

  it('a former leader that reconnects while draining cannot take the route sync back from the new leader', async () => {
    const s = await stack();
    const old = await s.agent();
    await register3(old, 'replica-old', 'sync');
    const next = await s.agent();
    await register3(next, 'replica-new', 'tunnel');
    old.send('drain', {});
    await old.nextOf('drain_ack');
    next.send('sync_claim', {}, 'claim-1');
    expect((await next.nextOf('sync_granted', 'claim-1')).payload).toMatchObject({ connections: 2 });
    // The old leader's socket drops during its drain; it registers again, draining, still asking for sync.
    old.close();
    const back = await s.agent();
    const again = await back.register(CLUSTER, { agent_id: 'replica-old', cluster_fingerprint: FINGERPRINT, protocol_versions: [3], features: {}, role: 'sync', draining: true });
    expect(again.payload).toMatchObject({ role: 'tunnel' });
    back.send('sync_claim', {}, 'claim-2');
    expect((await back.nextOf('error', 'claim-2')).payload).toMatchObject({ code: 'draining' });
    expect(await nothingOf(next, 'sync_revoked')).toBe(true);
    const [listed] = await s.clusters();
    expect(listed!.connections).toEqual([
      { agent_id: 'replica-new', role: 'sync', draining: false, in_flight: 0 },
      { agent_id: 'replica-old', role: 'tunnel', draining: true, in_flight: 0 },
    ]);
  });

  it('a second sync claim demotes the first, whose route messages are then refused as not_sync_connection', async () => {
    const s = await stack();
    const first = await s.agent();
    const registration = await register3(first, 'replica-a', 'sync');
    const revision = registration.payload.resume_revision as number;
    expect((await first.snapshot(registration, 'web', [HOST])).payload.rejected).toEqual([]);
    const second = await s.agent();
    await register3(second, 'replica-b', 'tunnel');
    // A tunnel connection may not send routes.
    second.send('routes_sync_begin', { cluster_uuid: registration.payload.cluster_uuid, revision: revision + 5, routing_mode: 'tunnel' }, 'early');
    expect(await second.nextOf('error', 'early')).toMatchObject({ payload: { code: 'not_sync_connection', type: 'routes_sync_begin' } });

    // The first begins a snapshot, then the second claims the route sync: the first is demoted and told.
    first.send('routes_sync_begin', { cluster_uuid: registration.payload.cluster_uuid, revision: revision + 2, routing_mode: 'tunnel' }, 'late');
    second.send('sync_claim', {}, 'claim-1');
    expect(await second.nextOf('sync_granted', 'claim-1')).toMatchObject({ payload: { resume_revision: revision + 1, connections: 2 } });
    expect((await first.nextOf('sync_revoked')).payload.reason).toContain('replica-b');
    first.send('routes_sync_end', { revision: revision + 2, chunks: 0, routes: 0 }, 'late');
    expect(await first.nextOf('error', 'late')).toMatchObject({ payload: { code: 'not_sync_connection', type: 'routes_sync_end' } });
    // The demoted connection stays open and keeps carrying traffic; the new one syncs.
    expect(first.socket.readyState).toBe(1);
    const routes = await s.cp.connections(registration.payload.cluster_uuid as string);
    expect(routes.map((c) => [c.agent_id, c.role])).toEqual([['replica-a', 'tunnel'], ['replica-b', 'sync']]);
    expect(await s.cp.store.cluster(registration.payload.cluster_uuid as string)!.routes.size).toBe(1);
    expect(await call(s.gatewayPort, HOST, '/ok')).toMatchObject({ status: 200 });

    // A version 3 register for the sync role takes it too.
    const third = await s.agent();
    expect((await register3(third, 'replica-c', 'sync')).payload).toMatchObject({ role: 'sync', connections: 3 });
    await second.nextOf('sync_revoked');
  });

  it('a version 2 agent is one sync socket per cluster: a newer one replaces it (4000), version 3 connections stay', async () => {
    const s = await stack();
    const tunnel = await s.agent();
    await register3(tunnel, 'replica-t', 'tunnel');
    const old = await s.agent();
    expect((await old.register(CLUSTER, { cluster_fingerprint: FINGERPRINT })).payload).toMatchObject({ protocol_version: 2 });
    const newer = await s.agent();
    const answer = await newer.register(CLUSTER, { cluster_fingerprint: FINGERPRINT });
    expect(answer.payload).toMatchObject({ protocol_version: 2 });
    expect(answer.payload).not.toHaveProperty('role');
    expect(await old.closed).toBe(4000);
    expect(tunnel.socket.readyState).toBe(1);
    // A version 3 sync claim replaces a version 2 sync socket the same way.
    tunnel.send('sync_claim', {}, 'claim');
    await tunnel.nextOf('sync_granted', 'claim');
    expect(await newer.closed).toBe(4000);
  });

  it('past the connections a cluster may hold, a register is refused as too_many_connections', async () => {
    const s = await stack({ maxConnectionsPerCluster: 2 });
    await cluster(s, 1);
    const third = await s.agent();
    expect(await third.register(CLUSTER, { agent_id: 'x', cluster_fingerprint: FINGERPRINT, protocol_versions: [3], role: 'tunnel' })).toMatchObject({ type: 'error', payload: { code: 'too_many_connections' } });
  });
});

describe('balancing', () => {
  it('requests spread over the connections by least in flight, and a draining connection gets none', async () => {
    const s = await stack();
    const { sync, tunnel } = await cluster(s, 2);
    const agents = [sync, ...tunnel];
    const answers: Array<Promise<Answer>> = [];
    for (let i = 0; i < 6; i++) answers.push(call(s.gatewayPort, HOST, `/hold/${i}`));
    const first = await Promise.all(agents.map((a) => requestsOf(a, 2)));
    expect((await s.clusters())[0]!.connections).toEqual([
      expect.objectContaining({ agent_id: 'replica-s', in_flight: 2 }),
      expect.objectContaining({ agent_id: 'replica-t0', in_flight: 2 }),
      expect.objectContaining({ agent_id: 'replica-t1', in_flight: 2 }),
    ]);

    tunnel[0]!.send('drain', {});
    await tunnel[0]!.nextOf('drain_ack');
    for (let i = 6; i < 10; i++) answers.push(call(s.gatewayPort, HOST, `/hold/${i}`));
    const second = await Promise.all([requestsOf(sync, 2), requestsOf(tunnel[1]!, 2)]);
    expect(await nothingOf(tunnel[0]!, 'proxy_request')).toBe(true);
    // What the draining one had in flight still finishes there.
    first.forEach((frames, i) => frames.forEach((f) => respond(agents[i]!, f.request_id, `from ${i}`)));
    second[0]!.forEach((f) => respond(sync, f.request_id, 'from 0'));
    second[1]!.forEach((f) => respond(tunnel[1]!, f.request_id, 'from 2'));
    const bodies = (await Promise.all(answers)).map((a) => `${a.status} ${a.body}`);
    expect(bodies.filter((b) => b === '200 from 1')).toHaveLength(2);
    expect(bodies.every((b) => b.startsWith('200 '))).toBe(true);
  });

  it('when every connection drains, a request still goes to one of them rather than failing', async () => {
    const s = await stack();
    const { sync } = await cluster(s, 0);
    sync.send('drain', {});
    await sync.nextOf('drain_ack');
    expect(await call(s.gatewayPort, HOST, '/ok')).toMatchObject({ status: 200, body: 'sync' });
  });

  it("an answer on another connection than the request's is ignored", async () => {
    const s = await stack();
    const { sync, tunnel } = await cluster(s, 1);
    const answer = call(s.gatewayPort, HOST, '/hold');
    const [request] = await requestsOf(sync, 1);
    respond(tunnel[0]!, request!.request_id, 'forged');
    await new Promise((r) => setTimeout(r, 100));
    respond(sync, request!.request_id, 'real');
    expect(await answer).toMatchObject({ status: 200, body: 'real' });
  });
});

describe('a failed connection', () => {
  it('a GET in flight is retried on another connection; a POST fails with 502 naming why it was not', async () => {
    const s = await stack();
    const { sync, tunnel } = await cluster(s, 1);
    const get = call(s.gatewayPort, HOST, '/hold');
    const [sent] = await requestsOf(sync, 1); // the earliest registered, all being idle
    sync.close(); // the TCP connection goes, no close frame
    const retried = await tunnel[0]!.nextOf('proxy_request');
    expect(retried.request_id).toBe(sent!.request_id);
    expect(retried.payload).toEqual(sent!.payload);
    respond(tunnel[0]!, retried.request_id, 'retried');
    expect(await get).toMatchObject({ status: 200, body: 'retried' });

    const other = await s.agent();
    await register3(other, 'replica-u', 'tunnel');
    const post = call(s.gatewayPort, HOST, '/hold', { method: 'POST' });
    await requestsOf(tunnel[0]!, 1);
    tunnel[0]!.close();
    const failed = await post;
    expect(failed.status).toBe(502);
    expect(JSON.parse(failed.body).error).toBe("the cluster's connection closed before it answered; not retried: POST is not idempotent");
    expect(await nothingOf(other, 'proxy_request')).toBe(true);
  });

  it('a silent connection (no TCP close) is terminated within about the dead-after time, and its GET retried', async () => {
    const s = await stack({ agentPingIntervalMs: 100, agentDeadAfterMs: 600 });
    const { sync, tunnel, uuid } = await cluster(s, 1);
    const get = call(s.gatewayPort, HOST, '/hold');
    await requestsOf(sync, 1);
    const lostAt = Date.now();
    raw(sync).pause(); // reads nothing, answers no ping: a node lost without a FIN
    await waitFor('the silent connection terminated', async () => s.cp.connections(uuid).length === 1, { timeoutMs: 5_000, intervalMs: 20 });
    const took = Date.now() - lostAt;
    expect(took).toBeGreaterThanOrEqual(500);
    expect(took).toBeLessThan(2_000);
    // The other one sent nothing but pongs all along, and is kept.
    expect(s.cp.connections(uuid)).toEqual([expect.objectContaining({ agent_id: 'replica-t0' })]);
    const retried = await tunnel[0]!.nextOf('proxy_request');
    respond(tunnel[0]!, retried.request_id, 'retried');
    expect(await get).toMatchObject({ status: 200, body: 'retried' });
  });

  it('a connection the control plane itself stopped reading is not taken as dead; the clock starts again when it reads', async () => {
    const s = await stack({ agentPingIntervalMs: 100, agentDeadAfterMs: 600 });
    const { sync, tunnel, uuid } = await cluster(s, 1);
    let pings = 0;
    tunnel[0]!.socket.on('ping', () => pings++);
    s.cp.pauseReading(uuid, true); // the sync connection's frames, pongs too, wait unread on our side
    // Ten pings to the other connection: a second of sweeps, well past the 600 ms a silent one would get.
    await waitFor('ten sweeps past the dead-after time', async () => pings >= 10, { timeoutMs: 5_000, intervalMs: 20 });
    expect(s.cp.connections(uuid)).toHaveLength(2);
    s.cp.pauseReading(uuid, false);
    // Reading again, it is judged by its own silence from now: a node that is really lost still goes.
    raw(sync).pause();
    await waitFor('the silent connection terminated', async () => s.cp.connections(uuid).length === 1, { timeoutMs: 5_000, intervalMs: 20 });
    expect(s.cp.connections(uuid)).toEqual([expect.objectContaining({ agent_id: 'replica-t0' })]);
  });

  it('WebSocket streams spread like requests; those on a failed connection are closed with 1011, not moved', async () => {
    const s = await stack();
    const { sync, tunnel } = await cluster(s, 1);
    const open = async (agent: FakeAgent): Promise<{ client: WebSocket; closed: Promise<number> }> => {
      const client = new WebSocket(`ws://127.0.0.1:${s.gatewayPort}/live`, { headers: { Host: HOST } });
      client.on('error', () => undefined);
      const closed = new Promise<number>((resolve) => client.once('close', (code) => resolve(code)));
      const request = await agent.nextOf('ws_open');
      agent.send('ws_opened', {}, request.request_id);
      await new Promise((resolve) => client.once('open', resolve));
      return { client, closed };
    };
    const first = await open(sync);
    const second = await open(tunnel[0]!); // the sync connection carries one stream already
    sync.close();
    expect(await first.closed).toBe(1011);
    expect(await nothingOf(tunnel[0]!, 'ws_open')).toBe(true);
    expect(second.client.readyState).toBe(WebSocket.OPEN);
    second.client.close();
  });

  it('routes stay served after the sync connection closes; the cluster is disconnected only when the last one closes', async () => {
    const s = await stack();
    const { sync, tunnel, uuid } = await cluster(s, 1);
    sync.close();
    await waitFor('the sync connection gone', async () => s.cp.connections(uuid).length === 1, { timeoutMs: 5_000, intervalMs: 20 });
    expect(await s.clusters()).toEqual([expect.objectContaining({ connected: true, disconnected_at: null })]);
    expect(await call(s.gatewayPort, HOST, '/ok')).toMatchObject({ status: 200, body: 'tunnel-0' });
    tunnel[0]!.close();
    await waitFor('the cluster disconnected', async () => s.cp.store.cluster(uuid)!.connected === false, { timeoutMs: 5_000, intervalMs: 20 });
    expect((await call(s.gatewayPort, HOST, '/ok')).status).toBe(503);
  });
});

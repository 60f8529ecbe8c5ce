// The control plane's side of a stable cluster identity (docs/protocol.md, "Identity"): an operator that
// restarts without its cached cluster_id (its state ConfigMap could not be written) resumes its cluster by
// credential + fingerprint instead of leaving a disconnected ghost behind, and a ghost never takes a host
// from a connected cluster: its hosts answer 503 while only it serves them, and 404 once its grace is over.
// Fake agents (test/support/fake-agent.ts) against an in-process reference control plane and gateway.
import { afterEach, describe, expect, it } from '@jest/globals';
import WebSocket from 'ws';
import { silentLogger } from '../../src/log.js';
import { Gateway } from '../../src/reference-control-plane/gateway.js';
import { ReferenceControlPlane } from '../../src/reference-control-plane/server.js';
import type { ClusterRecord } from '../../src/reference-control-plane/store.js';
import { call, FakeAgent, within, type Answer, type ServeOptions } from '../support/fake-agent.js';
import { waitFor } from '../support/processes.js';

const SECRET = 'identity-admin-secret';
const HOST = 'shop.example.com';

interface Stack {
  cp: ReferenceControlPlane;
  gatewayPort: number;
  /** A new agent of cluster `name` (its own token), its handshake done. */
  agent: (name: string, okBody?: string) => Promise<FakeAgent>;
  /** The admin API's cluster list. */
  clusters: () => Promise<Array<Record<string, unknown>>>;
}

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function stack(disconnectedGraceMs?: number, more: { maxSnapshotRoutes?: number; maxSnapshotBytes?: number; maxClustersPerCredential?: number } = {}): Promise<Stack> {
  const cp = new ReferenceControlPlane({ token: SECRET, disconnectedGraceMs, ...more, logger: silentLogger() });
  await cp.listen();
  const gateway = new Gateway(cp, { timeoutMs: 5_000 });
  const gatewayPort = await gateway.listen();
  cleanups.push(() => cp.close(), () => gateway.close());
  return {
    cp,
    gatewayPort,
    agent: async (name, okBody) => {
      const agent = new FakeAgent(cp.url, cp.agentToken(name), { okBody });
      cleanups.push(() => agent.close());
      expect(await agent.opened()).toBe(true);
      return agent;
    },
    clusters: async () => {
      const answer = await call(cp.port, '127.0.0.1', '/api/v1/clusters', { headers: { Authorization: `Bearer ${SECRET}` } });
      expect(answer.status).toBe(200);
      return (JSON.parse(answer.body) as { clusters: Array<Record<string, unknown>> }).clusters;
    },
  };
}

/** The cluster of this cluster_id (the store keys clusters by cluster_uuid; here every test uses one credential per id). */
function byId(cp: ReferenceControlPlane, clusterId: string): ClusterRecord | undefined {
  return cp.store.clusters().find((c) => c.cluster_id === clusterId);
}

/** Closes the agent's socket and waits until the control plane has taken the cluster as disconnected. */
async function disconnect(cp: ReferenceControlPlane, agent: FakeAgent, clusterId: string): Promise<void> {
  agent.close();
  await waitFor(`cluster ${clusterId} disconnected`, async () => byId(cp, clusterId)?.disconnected_at != null, { timeoutMs: 5_000, intervalMs: 10 });
}

/** Resolves with the first cluster whose routes the control plane releases (its grace ended). */
function nextRelease(cp: ReferenceControlPlane): Promise<ClusterRecord> {
  return new Promise((resolve) => {
    const stop = cp.onRoutesReleased((cluster) => {
      stop();
      resolve(cluster);
    });
  });
}

/** A WebSocket upgrade through the gateway: the status it was refused with and the body, or 101. */
function upgrade(port: number, host: string): Promise<Answer> {
  return within(`an upgrade of ${host}`, new Promise((resolve) => {
    const client = new WebSocket(`ws://127.0.0.1:${port}/live`, { headers: { Host: host } });
    client.on('error', () => undefined);
    client.once('open', () => {
      client.terminate();
      resolve({ status: 101, headers: {}, body: '', cut: false });
    });
    client.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, cut: false }));
    });
  }));
}

describe('identity', () => {
  it('a restarted agent without its cached cluster_id resumes its cluster by token + fingerprint', async () => {
    const { cp, gatewayPort, agent, clusters } = await stack();
    const fingerprint: ServeOptions = { fingerprint: 'kube-system-uid-1' };
    const first = await agent('shop');
    const clusterId = await first.serve('shop', [HOST], fingerprint);
    await disconnect(cp, first, clusterId);

    const restarted = await agent('shop');
    const registration = await restarted.registered('shop', fingerprint); // no cluster_id: it could not keep it
    expect(registration.payload).toMatchObject({ cluster_id: clusterId, resume_revision: 1 });
    expect(await clusters()).toEqual([expect.objectContaining({ cluster_id: clusterId, name: 'shop', fingerprint: 'kube-system-uid-1', connected: true, disconnected_at: null })]);
    // Its host is its own again: no ghost holds it.
    expect((await restarted.snapshot(registration, 'shop', [HOST])).payload.rejected).toEqual([]);
    expect(await call(gatewayPort, HOST, '/ok')).toMatchObject({ status: 200, body: 'ok' });
  });

  it('the same token with another fingerprint is another cluster, even with the first one\'s cluster_id', async () => {
    const { agent, clusters } = await stack();
    const original = await agent('shop');
    const clusterId = await original.serve('shop', ['a.example.com'], { fingerprint: 'uid-a' });
    // A state ConfigMap copied into another cluster that runs with the same cluster name (so the same token).
    const copy = await agent('shop');
    const registration = await copy.registered('shop', { clusterId, fingerprint: 'uid-b' });
    expect(registration.payload.cluster_id).not.toBe(clusterId);
    const listed = await clusters();
    expect(listed.map((c) => c.fingerprint).sort()).toEqual(['uid-a', 'uid-b']);
    // Two clusters, so the original keeps its socket: nothing replaced it.
    expect(listed.every((c) => c.connected)).toBe(true);
  });

  it.each([
    { name: 'empty', fingerprint: '' },
    { name: '129 characters', fingerprint: 'u'.repeat(129) },
    { name: 'a space', fingerprint: 'kube system' },
    { name: 'not a string', fingerprint: 42 },
  ])('a cluster_fingerprint that is $name is refused as bad_payload', async ({ fingerprint }) => {
    const { agent, clusters } = await stack();
    const answer = await (await agent('shop')).register('shop', { cluster_fingerprint: fingerprint });
    expect(answer).toMatchObject({ type: 'error', payload: { code: 'bad_payload' } });
    expect(String(answer.payload.message)).toContain('cluster_fingerprint');
    expect(await clusters()).toEqual([]);
  });
});

describe('one credential per host', () => {
  it("another credential's route on a host, with another path, is rejected, and the host's requests still reach its cluster", async () => {
    const { gatewayPort, agent } = await stack();
    const victim = await agent('victim', 'victim');
    await victim.serve('victim', ['victim.example.com'], { fingerprint: 'uid-victim' });
    const intruder = await agent('intruder', 'intruder');
    const registration = await intruder.registered('intruder', { fingerprint: 'uid-intruder' });
    const uuid = registration.payload.cluster_uuid as string;
    const revision = (registration.payload.resume_revision as number) + 1;
    const routes = [
      { host: 'victim.example.com', path: '/zzz', path_type: 'Prefix', service: 'web', port: 80, tls: false },
      { host: 'intruder.example.com', path: '/', path_type: 'Prefix', service: 'web', port: 80, tls: false },
    ];
    intruder.send('routes_sync_begin', { cluster_uuid: uuid, revision, routing_mode: 'tunnel' }, 'snap');
    intruder.send('routes_sync_chunk', { revision, gateway_routes: [{ namespace: 'shop', name: 'intruder', annotations: {}, routes }] }, 'snap');
    intruder.send('routes_sync_end', { revision, chunks: 1, routes: routes.length }, 'snap');
    expect((await intruder.nextOf('routes_ack', 'snap')).payload).toMatchObject({
      accepted: ['shop/intruder/Prefix:intruder.example.com/'],
      rejected: [{ key: 'shop/intruder/Prefix:victim.example.com/zzz', reason: 'host victim.example.com is served by another cluster (of another credential)' }],
    });
    expect(await call(gatewayPort, 'victim.example.com', '/ok')).toMatchObject({ status: 200, body: 'victim' });
    // The path the intruder asked for goes to the victim too.
    const pending = call(gatewayPort, 'victim.example.com', '/zzz');
    const asked = await victim.nextOf('proxy_request');
    expect(asked.payload.path).toBe('/zzz');
    victim.send('proxy_response', { status: 200, headers: {}, body: Buffer.from('victim zzz').toString('base64') }, asked.request_id);
    expect(await pending).toMatchObject({ status: 200, body: 'victim zzz' });
    expect(await call(gatewayPort, 'intruder.example.com', '/ok')).toMatchObject({ status: 200, body: 'intruder' });
  });
});

describe('no lockout after a restart of the control plane', () => {
  it("another credential registering first with a victim's cluster_id gets a cluster of its own; the victim resumes its id", async () => {
    const { cp, gatewayPort, agent } = await stack(); // a fresh control plane: it knows no cluster_id
    const victimId = 'id-of-the-victim';
    const attacker = await agent('attacker', 'attacker');
    const stolen = await attacker.registered('attacker', { clusterId: victimId, fingerprint: 'uid-victim' });
    const victim = await agent('victim', 'victim');
    const own = await victim.registered('victim', { clusterId: victimId, fingerprint: 'uid-victim' });
    expect(own.payload).toMatchObject({ cluster_id: victimId, resume_revision: 0 });
    expect(own.payload.cluster_uuid).not.toBe(stolen.payload.cluster_uuid);
    expect((await victim.snapshot(own, 'victim', ['victim.example.com'])).payload.rejected).toEqual([]);
    expect(await call(gatewayPort, 'victim.example.com', '/ok')).toMatchObject({ status: 200, body: 'victim' });
    // Two clusters, each of its own credential; the attacker's socket was not replaced by the victim's.
    expect(cp.store.clusters().map((c) => [c.name, c.connected])).toEqual([['attacker', true], ['victim', true]]);
    expect(attacker.socket.readyState).toBe(WebSocket.OPEN);
  });
});

describe('bounds', () => {
  it('a credential past its clusters is refused too_many_clusters', async () => {
    const { agent } = await stack(undefined, { maxClustersPerCredential: 2 });
    for (const fingerprint of ['uid-1', 'uid-2']) await (await agent('shop')).registered('shop', { fingerprint });
    expect(await (await agent('shop')).register('shop', { cluster_fingerprint: 'uid-3' })).toMatchObject({ type: 'error', payload: { code: 'too_many_clusters' } });
    expect((await (await agent('shop')).registered('shop', { fingerprint: 'uid-1' })).type).toBe('register_success'); // resuming is not creating
  });

  it('a snapshot past the route limit is refused (too_large, not retryable) and nothing of it is applied', async () => {
    const { cp, gatewayPort, agent } = await stack(undefined, { maxSnapshotRoutes: 3 });
    const shop = await agent('shop');
    const registration = await shop.registered('shop', { fingerprint: 'uid-shop' });
    const revision = (registration.payload.resume_revision as number) + 1;
    const routes = (n: number) => [{ namespace: 'shop', name: `gr${n}`, annotations: {}, routes: [1, 2].map((i) => ({ host: `h${n}-${i}.example.com`, path: '/', path_type: 'Prefix', service: 'web', port: 80, tls: false })) }];
    shop.send('routes_sync_begin', { cluster_uuid: registration.payload.cluster_uuid, revision, routing_mode: 'tunnel' }, 'snap');
    shop.send('routes_sync_chunk', { revision, gateway_routes: routes(1) }, 'snap');
    shop.send('routes_sync_chunk', { revision, gateway_routes: routes(2) }, 'snap');
    expect((await shop.nextOf('routes_nack', 'snap')).payload).toMatchObject({ code: 'too_large', retryable: false });
    expect(cp.store.clusters()[0]!.routes.size).toBe(0);
    expect((await call(gatewayPort, 'h1-1.example.com', '/ok')).status).toBe(404);
  });

  it('a snapshot past the byte limit is refused (too_large, not retryable)', async () => {
    const { cp, agent } = await stack(undefined, { maxSnapshotBytes: 4_096 });
    const shop = await agent('shop');
    const registration = await shop.registered('shop', { fingerprint: 'uid-shop' });
    const revision = (registration.payload.resume_revision as number) + 1;
    const route = { host: 'big.example.com', path: '/', path_type: 'Prefix', service: 'web', port: 80, tls: false };
    const part = { namespace: 'shop', name: 'big', annotations: { pad: 'x'.repeat(3_000) }, routes: [route] };
    shop.send('routes_sync_begin', { cluster_uuid: registration.payload.cluster_uuid, revision, routing_mode: 'tunnel' }, 'snap');
    shop.send('routes_sync_chunk', { revision, gateway_routes: [part] }, 'snap'); // about 3 KiB: under the limit
    shop.send('routes_sync_chunk', { revision, gateway_routes: [{ ...part, name: 'big2' }] }, 'snap'); // past it
    expect((await shop.nextOf('routes_nack', 'snap')).payload).toMatchObject({ code: 'too_large', retryable: false });
    expect(cp.store.clusters()[0]!.routes.size).toBe(0);
  });
});

describe('no ghost routing', () => {
  it('a disconnected cluster never takes a host from a connected one, before or after it comes back', async () => {
    const { cp, gatewayPort, agent } = await stack();
    // The ghost serves the host and, listed first, a wildcard that also matches it.
    const ghost = await agent('shop', 'ghost');
    const ghostId = await ghost.serve('shop', [HOST, '*.example.com'], { fingerprint: 'uid-old' });
    await disconnect(cp, ghost, ghostId);

    const live = await agent('shop', 'live');
    const liveRegistration = await live.registered('shop', { fingerprint: 'uid-new' });
    expect(liveRegistration.payload.cluster_id).not.toBe(ghostId);
    // The host + path the disconnected ghost claimed is taken over.
    expect((await live.snapshot(liveRegistration, 'shop', [HOST])).payload).toMatchObject({ accepted: [`shop/shop/Prefix:${HOST}/`], rejected: [] });
    expect(await call(gatewayPort, HOST, '/ok')).toMatchObject({ status: 200, body: 'live' });
    expect([...byId(cp, ghostId)!.routes.values()].map((r) => r.host)).toEqual(['*.example.com']);

    // The ghost comes back: the host stays with the connected cluster that serves it now.
    const back = await agent('shop', 'ghost');
    const backRegistration = await back.registered('shop', { fingerprint: 'uid-old' });
    expect(backRegistration.payload.cluster_id).toBe(ghostId);
    const ack = await back.snapshot(backRegistration, 'shop', [HOST, '*.example.com']);
    expect(ack.payload.rejected).toEqual([{ key: `shop/shop/Prefix:${HOST}/`, reason: `${HOST}/ is already served by cluster shop` }]);
    expect(await call(gatewayPort, HOST, '/ok')).toMatchObject({ status: 200, body: 'live' });
    await disconnect(cp, back, ghostId);
    expect(await call(gatewayPort, HOST, '/ok')).toMatchObject({ status: 200, body: 'live' });
  });

  it("a connected cluster's wildcard takes a host whose exact route only a disconnected cluster holds", async () => {
    const { cp, gatewayPort, agent } = await stack();
    const ghost = await agent('shop', 'ghost');
    const ghostId = await ghost.serve('shop', [HOST], { fingerprint: 'uid-ghost' });
    await disconnect(cp, ghost, ghostId);
    const live = await agent('shop', 'live');
    const liveRegistration = await live.registered('shop', { fingerprint: 'uid-live' });
    expect((await live.snapshot(liveRegistration, 'shop', ['*.example.com'])).payload).toMatchObject({ rejected: [] });
    // An exact host beats a wildcard only among clusters that are connected alike.
    expect(await call(gatewayPort, HOST, '/ok')).toMatchObject({ status: 200, body: 'live' });
    expect([...byId(cp, ghostId)!.routes.values()].map((r) => r.host)).toEqual([HOST]); // still held, within its grace
  });

  it('a host only a disconnected cluster serves answers 503 naming it and since when, for requests and upgrades', async () => {
    const { cp, gatewayPort, agent } = await stack();
    const gone = await agent('gone');
    const clusterId = await gone.serve('gone', ['gone.example.com'], { fingerprint: 'uid-gone' });
    await disconnect(cp, gone, clusterId);
    for (const answer of [await call(gatewayPort, 'gone.example.com', '/ok'), await upgrade(gatewayPort, 'gone.example.com')]) {
      expect(answer.status).toBe(503);
      const body = JSON.parse(answer.body) as Record<string, unknown>;
      // Its name and since when; not its cluster_id (what its agent presents to resume it), to anonymous clients.
      expect(Object.keys(body).sort()).toEqual(['cluster', 'disconnected_at', 'disconnected_seconds', 'error']);
      expect(body).toMatchObject({ cluster: 'gone', disconnected_at: byId(cp, clusterId)!.disconnected_at });
      expect(body.disconnected_seconds).toEqual(expect.any(Number));
      expect(body.error).toMatch(/^cluster gone serves this host but disconnected \d+ s ago/);
      expect(answer.body).not.toContain(clusterId);
    }
  });
});

describe('requests in flight when an agent goes', () => {
  it('fail at once with 502 when the agent socket closes, not after the answer timeout', async () => {
    const { cp, gatewayPort, agent } = await stack();
    const first = await agent('shop');
    await first.serve('shop', [HOST], { fingerprint: 'fp-shop' });
    // The gateway's answer timeout is 5 s here: a 502 well before it is the socket's close, not the timeout.
    const started = Date.now();
    const pending = call(gatewayPort, HOST, '/never-answered');
    await first.nextOf('proxy_request');
    first.close(); // killed with the request in flight
    const answer = await pending;
    expect(answer.status).toBe(502);
    expect(answer.body).toContain("the cluster's connection closed before it answered");
    expect(Date.now() - started).toBeLessThan(4_000);
    // The cluster is back (a restart): requests are served again.
    const second = await agent('shop');
    await second.serve('shop', [HOST], { fingerprint: 'fp-shop' });
    expect((await call(gatewayPort, HOST, '/ok')).status).toBe(200);
    expect(cp.store.clusters()).toHaveLength(1);
  });
});

describe('the grace of a disconnected cluster', () => {
  it('past it, its routes are released (404) and the cluster stays, to be resumed and refilled', async () => {
    const { cp, gatewayPort, agent, clusters } = await stack(200);
    const first = await agent('shop');
    const clusterId = await first.serve('shop', [HOST], { fingerprint: 'uid-shop' });
    const released = nextRelease(cp);
    await disconnect(cp, first, clusterId);
    expect((await within('the grace to end', released)).cluster_id).toBe(clusterId);

    expect((await call(gatewayPort, HOST, '/ok')).status).toBe(404);
    expect(await clusters()).toEqual([expect.objectContaining({ cluster_id: clusterId, connected: false, disconnected_at: expect.any(String) })]);
    const back = await agent('shop');
    const registration = await back.registered('shop', { fingerprint: 'uid-shop' });
    expect(registration.payload).toMatchObject({ cluster_id: clusterId, resume_revision: 1 });
    expect((await back.snapshot(registration, 'shop', [HOST])).payload.rejected).toEqual([]);
    expect(await call(gatewayPort, HOST, '/ok')).toMatchObject({ status: 200, body: 'ok' });
  });

  it('a cluster that reconnects within it keeps its routes', async () => {
    const { cp, gatewayPort, agent } = await stack(1_500);
    const released: string[] = [];
    cp.onRoutesReleased((cluster) => void released.push(cluster.name));
    const first = await agent('shop');
    const clusterId = await first.serve('shop', [HOST], { fingerprint: 'uid-shop' });
    // A second cluster, to disconnect later: its grace ends after the first one's would have.
    const later = await agent('later');
    const laterId = await later.serve('later', ['later.example.com'], { fingerprint: 'uid-later' });

    await disconnect(cp, first, clusterId);
    const back = await agent('shop');
    expect((await back.registered('shop', { fingerprint: 'uid-shop' })).payload.cluster_id).toBe(clusterId); // no snapshot sent
    const laterReleased = nextRelease(cp);
    await disconnect(cp, later, laterId);
    expect((await within('the second grace to end', laterReleased, 10_000)).name).toBe('later');

    expect(released).toEqual(['later']);
    expect([...byId(cp, clusterId)!.routes.values()].map((r) => r.host)).toEqual([HOST]);
    expect(await call(gatewayPort, HOST, '/ok')).toMatchObject({ status: 200, body: 'ok' });
  });
});

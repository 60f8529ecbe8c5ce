import { describe, expect, it } from '@jest/globals';
import type { WireGatewayRoute, WireRoute } from '../../../src/controlplane/protocol.js';
import { fingerprintsAgree, mayTakeOver, RouteStore, type ClusterRecord, type RegistrationRequest } from '../../../src/reference-control-plane/store.js';

function route(owner: string, host: string, path = '/'): WireRoute {
  return { key: `${owner}/Prefix:${host}${path}`, host, path, path_type: 'Prefix', service: 'web', port: 80, tls: false };
}

function gr(owner: string, routes: WireRoute[], annotations: Record<string, string> = {}): WireGatewayRoute {
  const [namespace = '', name = ''] = owner.split('/');
  return { namespace, name, source: { kind: 'Ingress', name }, annotations, routes };
}

function registered(store: RouteStore, name: string, request: Partial<RegistrationRequest> = {}): ClusterRecord {
  const result = store.register({ name, credential: 'token-a', ...request });
  if (!result.ok) throw new Error(result.message);
  return result.cluster;
}

/** A cluster as registered by an agent whose socket is open. */
function connected(store: RouteStore, name: string, request: Partial<RegistrationRequest> = {}): ClusterRecord {
  const cluster = registered(store, name, request);
  store.markConnected(cluster);
  return cluster;
}

describe('RouteStore identity', () => {
  it('a name is a label: a second cluster of the same name gets its own identity and routes', () => {
    const store = new RouteStore();
    const first = registered(store, 'prod');
    const second = registered(store, 'prod');
    expect(second).not.toBe(first);
    store.replaceAll(first, [gr('ns/a', [route('ns/a', 'a.example.com')])]);
    expect(second.routes.size).toBe(0);
  });

  it('resumes a cluster_id only with the credential it registered with: another credential gets a record of its own', () => {
    const store = new RouteStore();
    const first = registered(store, 'prod', { credential: 'token-a' });
    expect(registered(store, 'renamed', { clusterId: first.cluster_id, credential: 'token-a' })).toBe(first);
    expect(first.name).toBe('renamed');
    const other = registered(store, 'other', { clusterId: first.cluster_id, credential: 'token-b' });
    expect(other).not.toBe(first);
    expect(other.cluster_uuid).not.toBe(first.cluster_uuid);
    expect(first).toMatchObject({ name: 'renamed', credential: 'token-a' });
    expect(store.cluster(first.cluster_uuid)).toBe(first);
    expect(store.cluster(other.cluster_uuid)).toBe(other);
  });

  it('a cluster_uuid is a fresh random value, never the cluster_id', () => {
    const store = new RouteStore();
    const given = registered(store, 'prod', { clusterId: 'id-given' });
    const fresh = registered(store, 'prod');
    for (const c of [given, fresh]) expect(c.cluster_uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(given.cluster_uuid).not.toBe('id-given');
    expect(fresh.cluster_uuid).not.toBe(fresh.cluster_id);
    expect(store.cluster('id-given')).toBeUndefined(); // looked up by uuid only
  });

  it("after a restart of the control plane, another credential registering first with a victim's cluster_id does not lock the victim out", () => {
    const store = new RouteStore(); // a fresh store: it knows no cluster
    const attacker = registered(store, 'attacker', { credential: 'token-attacker', clusterId: 'id-victim', fingerprint: 'uid-victim' });
    const victim = store.register({ name: 'victim', credential: 'token-victim', clusterId: 'id-victim', fingerprint: 'uid-victim' });
    expect(victim).toMatchObject({ ok: true, by: 'new', cluster: { cluster_id: 'id-victim', credential: 'token-victim', name: 'victim' } });
    if (!victim.ok) return;
    expect(victim.cluster).not.toBe(attacker);
    expect(victim.cluster.cluster_uuid).not.toBe(attacker.cluster_uuid);
    // And it resumes its own record from then on, by id or by fingerprint.
    expect(registered(store, 'victim', { credential: 'token-victim', clusterId: 'id-victim' })).toBe(victim.cluster);
    expect(registered(store, 'victim', { credential: 'token-victim', fingerprint: 'uid-victim' })).toBe(victim.cluster);
  });

  it('bounds the clusters one credential may create: past it, too_many_clusters; resuming and other credentials are not affected', () => {
    const store = new RouteStore(false, 3);
    const made = [1, 2, 3].map((i) => registered(store, 'prod', { fingerprint: `uid-${i}` }));
    expect(store.register({ name: 'prod', credential: 'token-a', fingerprint: 'uid-4' })).toMatchObject({ ok: false, code: 'too_many_clusters' });
    expect(store.register({ name: 'prod', credential: 'token-a', clusterId: 'id-new' })).toMatchObject({ ok: false, code: 'too_many_clusters' });
    expect(registered(store, 'prod', { fingerprint: 'uid-2' })).toBe(made[1]);
    expect(registered(store, 'prod', { clusterId: made[0]!.cluster_id })).toBe(made[0]);
    expect(registered(store, 'other', { credential: 'token-b', fingerprint: 'uid-4' }).credential).toBe('token-b');
    expect(store.clusters()).toHaveLength(4);
  });

  it('bounds the clusters of a credential at 64 by default', () => {
    const store = new RouteStore();
    for (let i = 0; i < 64; i++) registered(store, 'prod', { fingerprint: `uid-${i}` });
    expect(store.register({ name: 'prod', credential: 'token-a', fingerprint: 'uid-64' })).toMatchObject({ ok: false, code: 'too_many_clusters' });
  });

  it('takes an unknown cluster_id as given (a control plane that lost its state)', () => {
    const store = new RouteStore();
    expect(registered(store, 'prod', { clusterId: 'known-before' }).cluster_id).toBe('known-before');
  });

  interface Known {
    clusterId: string;
    credential: string;
    fingerprint?: string;
  }
  /** What a registration should come to: a known cluster resumed (by its id), or a new one (`fresh`: not under the id sent). */
  type Outcome = { resumes: string; by: 'cluster_id' | 'fingerprint' } | { creates: string | 'fresh' };

  it.each<{ name: string; known: Known[]; request: Omit<RegistrationRequest, 'name'>; outcome: Outcome }>([
    {
      name: 'a restart that lost its cluster_id resumes by credential + fingerprint',
      known: [{ clusterId: 'id-a', credential: 'token-a', fingerprint: 'uid-1' }],
      request: { credential: 'token-a', fingerprint: 'uid-1' },
      outcome: { resumes: 'id-a', by: 'fingerprint' },
    },
    {
      name: 'the same fingerprint with another credential is another cluster',
      known: [{ clusterId: 'id-a', credential: 'token-a', fingerprint: 'uid-1' }],
      request: { credential: 'token-b', fingerprint: 'uid-1' },
      outcome: { creates: 'fresh' },
    },
    {
      name: 'the same credential with another fingerprint is another cluster',
      known: [{ clusterId: 'id-a', credential: 'token-a', fingerprint: 'uid-1' }],
      request: { credential: 'token-a', fingerprint: 'uid-2' },
      outcome: { creates: 'fresh' },
    },
    {
      name: 'a known cluster_id and the same fingerprint resume by cluster_id',
      known: [{ clusterId: 'id-a', credential: 'token-a', fingerprint: 'uid-1' }],
      request: { credential: 'token-a', fingerprint: 'uid-1', clusterId: 'id-a' },
      outcome: { resumes: 'id-a', by: 'cluster_id' },
    },
    {
      name: "a known cluster_id with another fingerprint (a copied state ConfigMap) is not resumed: a new cluster, under a fresh id",
      known: [{ clusterId: 'id-a', credential: 'token-a', fingerprint: 'uid-1' }],
      request: { credential: 'token-a', fingerprint: 'uid-2', clusterId: 'id-a' },
      outcome: { creates: 'fresh' },
    },
    {
      name: 'a known cluster_id with another fingerprint resumes the cluster of that fingerprint',
      known: [
        { clusterId: 'id-a', credential: 'token-a', fingerprint: 'uid-1' },
        { clusterId: 'id-b', credential: 'token-a', fingerprint: 'uid-2' },
      ],
      request: { credential: 'token-a', fingerprint: 'uid-2', clusterId: 'id-a' },
      outcome: { resumes: 'id-b', by: 'fingerprint' },
    },
    {
      name: 'an unknown cluster_id is taken as given, with its fingerprint',
      known: [],
      request: { credential: 'token-a', fingerprint: 'uid-1', clusterId: 'id-lost' },
      outcome: { creates: 'id-lost' },
    },
    {
      name: 'an unknown cluster_id defers to the cluster of the same credential + fingerprint',
      known: [{ clusterId: 'id-a', credential: 'token-a', fingerprint: 'uid-1' }],
      request: { credential: 'token-a', fingerprint: 'uid-1', clusterId: 'id-other' },
      outcome: { resumes: 'id-a', by: 'fingerprint' },
    },
    {
      name: 'a cluster first registered without a fingerprint (an older agent) is resumed by cluster_id when it sends one',
      known: [{ clusterId: 'id-a', credential: 'token-a' }],
      request: { credential: 'token-a', fingerprint: 'uid-1', clusterId: 'id-a' },
      outcome: { resumes: 'id-a', by: 'cluster_id' },
    },
    {
      name: 'an older agent (no fingerprint) resumes its cluster_id whatever fingerprint it has',
      known: [{ clusterId: 'id-a', credential: 'token-a', fingerprint: 'uid-1' }],
      request: { credential: 'token-a', clusterId: 'id-a' },
      outcome: { resumes: 'id-a', by: 'cluster_id' },
    },
    {
      name: 'neither cluster_id nor fingerprint: a new cluster',
      known: [{ clusterId: 'id-a', credential: 'token-a' }],
      request: { credential: 'token-a' },
      outcome: { creates: 'fresh' },
    },
  ])('$name', ({ known, request, outcome }) => {
    const store = new RouteStore();
    for (const k of known) registered(store, 'prod', k);
    const result = store.register({ name: 'prod', ...request });
    if (!result.ok) throw new Error(result.message);
    if ('resumes' in outcome) {
      expect({ cluster_id: result.cluster.cluster_id, by: result.by }).toEqual({ cluster_id: outcome.resumes, by: outcome.by });
      expect(store.clusters()).toHaveLength(known.length);
    } else {
      expect(result.by).toBe('new');
      if (outcome.creates === 'fresh') expect(known.map((k) => k.clusterId).concat(request.clusterId ?? [])).not.toContain(result.cluster.cluster_id);
      else expect(result.cluster.cluster_id).toBe(outcome.creates);
      expect(store.clusters()).toHaveLength(known.length + 1);
    }
    // Whatever it came to, the cluster now carries the fingerprint, and a restart without its id finds it.
    if (request.fingerprint !== undefined) {
      expect(result.cluster.fingerprint).toBe(request.fingerprint);
      expect(store.register({ name: 'prod', credential: request.credential, fingerprint: request.fingerprint })).toMatchObject({ ok: true, cluster: result.cluster, by: 'fingerprint' });
    }
  });

  it.each([
    { record: undefined, sent: undefined, agree: true },
    { record: 'uid-1', sent: undefined, agree: true },
    { record: undefined, sent: 'uid-1', agree: true },
    { record: 'uid-1', sent: 'uid-1', agree: true },
    { record: 'uid-1', sent: 'uid-2', agree: false },
  ])('fingerprintsAgree(record $record, sent $sent) is $agree', ({ record, sent, agree }) => {
    expect(fingerprintsAgree({ fingerprint: record }, sent)).toBe(agree);
  });
});

describe('RouteStore connection state', () => {
  it('records when a cluster disconnected, and forgets it when it reconnects', () => {
    const store = new RouteStore();
    const c = connected(store, 'c');
    expect(c).toMatchObject({ connected: true, disconnected_at: null });
    store.markDisconnected(c, new Date('2030-01-02T03:04:05.000Z'));
    expect(c).toMatchObject({ connected: false, disconnected_at: '2030-01-02T03:04:05.000Z' });
    store.markConnected(c);
    expect(c).toMatchObject({ connected: true, disconnected_at: null });
  });

  it('releasing a cluster\'s routes frees its claims and keeps the cluster (and its revision) to be resumed', () => {
    const store = new RouteStore();
    const gone = connected(store, 'gone', { fingerprint: 'uid-1' });
    store.replaceAll(gone, [gr('ns/a', [route('ns/a', 'a.example.com')])]);
    gone.lastRevision = 7;
    store.markDisconnected(gone, new Date());
    store.releaseRoutes(gone);
    expect({ routes: gone.routes.size, gatewayRoutes: gone.gatewayRoutes.size }).toEqual({ routes: 0, gatewayRoutes: 0 });
    // Its claim is free: another connected cluster may serve the host + path.
    const other = connected(store, 'other', { credential: 'token-b' });
    expect(store.replaceAll(other, [gr('ns/b', [route('ns/b', 'a.example.com')])]).rejected).toEqual([]);
    expect(registered(store, 'gone', { fingerprint: 'uid-1' })).toMatchObject({ cluster_id: gone.cluster_id, lastRevision: 7 });
  });
});

describe('RouteStore routes', () => {
  it('derives each key from the GatewayRoute and the route (routes are sent without one), ignoring any sent', () => {
    const store = new RouteStore();
    const c = registered(store, 'keys');
    const sent = { host: 'k.example.com', path: '/x', path_type: 'Exact', service: 'web', port: 80, tls: false, key: 'forged', extra: 1 };
    expect(store.replaceAll(c, [{ namespace: 'ns', name: 'gr', annotations: {}, routes: [sent] }]).accepted).toEqual(['ns/gr/Exact:k.example.com/x']);
    expect(c.routes.get('ns/gr/Exact:k.example.com/x')).toEqual({ key: 'ns/gr/Exact:k.example.com/x', host: 'k.example.com', path: '/x', path_type: 'Exact', service: 'web', port: 80, tls: false, namespace: 'ns', gateway_route: 'gr', ingress_name: '', annotations: {} });
  });

  it('rejects a host + path served by another cluster, and frees it when that cluster drops it', () => {
    const store = new RouteStore();
    const a = connected(store, 'a');
    const b = connected(store, 'b');
    expect(store.replaceAll(a, [gr('ns/x', [route('ns/x', 'shared.example.com')])]).accepted).toEqual(['ns/x/Prefix:shared.example.com/']);
    const result = store.replaceAll(b, [gr('ns/y', [route('ns/y', 'shared.example.com'), route('ns/y', 'own.example.com')])]);
    expect(result.accepted).toEqual(['ns/y/Prefix:own.example.com/']);
    expect(result.rejected).toEqual([{ key: 'ns/y/Prefix:shared.example.com/', reason: 'shared.example.com/ is already served by cluster a' }]);
    store.applyChange(a, { namespace: 'ns', name: 'x', deleted: true, upsert: [], remove: [] });
    expect(store.applyChange(b, { namespace: 'ns', name: 'y', upsert: [route('ns/y', 'shared.example.com')], remove: [] }).accepted).toEqual(['ns/y/Prefix:shared.example.com/']);
  });

  it.each([
    { name: 'a connected holder keeps its host + path: the newcomer is rejected', holderConnected: true, takenOver: false },
    { name: 'a disconnected holder loses it to a connected newcomer, with the routes it held there', holderConnected: false, takenOver: true },
  ])('$name', ({ holderConnected, takenOver }) => {
    const store = new RouteStore();
    const holder = connected(store, 'holder', { credential: 'token-a', fingerprint: 'uid-1' });
    // Two routes of the holder on the same host + path (two path types), and one elsewhere.
    const shared = [route('ns/x', 'shared.example.com'), { ...route('ns/x', 'shared.example.com'), path_type: 'Exact' as const }];
    store.replaceAll(holder, [gr('ns/x', [...shared, route('ns/x', 'own.example.com')])]);
    if (!holderConnected) store.markDisconnected(holder, new Date());
    const newcomer = connected(store, 'newcomer', { credential: 'token-a', fingerprint: 'uid-2' });
    const result = store.replaceAll(newcomer, [gr('ns/y', [route('ns/y', 'shared.example.com')])]);
    if (takenOver) {
      expect(result).toEqual({ accepted: ['ns/y/Prefix:shared.example.com/'], rejected: [], takenOver: [{ host: 'shared.example.com', path: '/', from: holder }] });
      expect([...holder.routes.keys()]).toEqual(['ns/x/Prefix:own.example.com/']);
      expect([...(holder.gatewayRoutes.get('ns/x')?.keys ?? [])]).toEqual(['ns/x/Prefix:own.example.com/']);
    } else {
      expect(result).toEqual({ accepted: [], rejected: [{ key: 'ns/y/Prefix:shared.example.com/', reason: 'shared.example.com/ is already served by cluster holder' }], takenOver: [] });
      expect(holder.routes.size).toBe(3);
    }
    // The holder (reconnected or not) cannot take back what the connected newcomer now serves, nor the reverse.
    store.markConnected(holder);
    const again = store.replaceAll(holder, [gr('ns/x', [...shared, route('ns/x', 'own.example.com')])]);
    expect(again.rejected.map((r) => r.key)).toEqual(takenOver ? ['ns/x/Prefix:shared.example.com/', 'ns/x/Exact:shared.example.com/'] : []);
  });

  it.each([
    { taker: true, holder: false, sameCredential: true, may: true },
    { taker: true, holder: false, sameCredential: false, may: false },
    { taker: true, holder: true, sameCredential: true, may: false },
    { taker: false, holder: false, sameCredential: true, may: false },
    { taker: false, holder: true, sameCredential: true, may: false },
  ])('mayTakeOver(taker connected $taker, holder connected $holder, same credential $sameCredential) is $may', ({ taker, holder, sameCredential, may }) => {
    expect(mayTakeOver({ connected: taker, credential: 'token-a' }, { connected: holder, credential: sameCredential ? 'token-a' : 'token-b' })).toBe(may);
  });

  it.each([
    { name: 'another path', host: 'victim.example.com', path: '/zzz' },
    { name: 'the same path', host: 'victim.example.com', path: '/' },
    { name: 'a wildcard pattern, another path', host: '*.victim.example.com', path: '/zzz' },
  ])("a host held by a cluster of another credential is rejected, whatever the path: $name", ({ host, path }) => {
    const store = new RouteStore();
    const victim = connected(store, 'victim', { credential: 'token-victim' });
    store.replaceAll(victim, [gr('ns/v', [route('ns/v', host)])]);
    const other = connected(store, 'other', { credential: 'token-other' });
    const key = `ns/o/Prefix:${host}${path}`;
    const reason = `host ${host} is served by another cluster (of another credential)`;
    expect(store.replaceAll(other, [gr('ns/o', [route('ns/o', host, path), route('ns/o', 'own.example.com')])])).toEqual({ accepted: ['ns/o/Prefix:own.example.com/'], rejected: [{ key, reason }], takenOver: [] });
    expect(store.applyChange(other, { namespace: 'ns', name: 'o', upsert: [route('ns/o', host, path)], remove: [] }).rejected).toEqual([{ key, reason }]);
    // Not even from a disconnected holder (it keeps its host through its grace); once it drops the host, it is free.
    store.markDisconnected(victim, new Date());
    expect(store.replaceAll(other, [gr('ns/o', [route('ns/o', host, path)])]).rejected).toEqual([{ key, reason }]);
    expect([...victim.routes.values()].map((r) => r.host)).toEqual([host]);
    store.releaseRoutes(victim);
    expect(store.replaceAll(other, [gr('ns/o', [route('ns/o', host, path)])]).accepted).toEqual([key]);
  });

  it('clusters of the same credential keep per host + path claims: another path of the same host is taken', () => {
    const store = new RouteStore();
    const a = connected(store, 'a', { fingerprint: 'uid-1' });
    const b = connected(store, 'b', { fingerprint: 'uid-2' });
    store.replaceAll(a, [gr('ns/a', [route('ns/a', 'shared.example.com')])]);
    expect(store.replaceAll(b, [gr('ns/b', [route('ns/b', 'shared.example.com', '/zzz')])]).accepted).toEqual(['ns/b/Prefix:shared.example.com/zzz']);
  });

  it('a snapshot merges the parts of a GatewayRoute and replaces everything held before', () => {
    const store = new RouteStore();
    const c = registered(store, 'c');
    store.replaceAll(c, [gr('ns/old', [route('ns/old', 'old.example.com')])]);
    const first = gr('ns/big', [route('ns/big', 'a.example.com')], { team: 'red' });
    const continued = { namespace: 'ns', name: 'big', routes: [route('ns/big', 'b.example.com')] } as unknown as WireGatewayRoute;
    store.replaceAll(c, [first, continued]);
    expect([...c.routes.keys()].sort()).toEqual(['ns/big/Prefix:a.example.com/', 'ns/big/Prefix:b.example.com/']);
    expect(c.routes.get('ns/big/Prefix:b.example.com/')).toMatchObject({ namespace: 'ns', gateway_route: 'big', ingress_name: 'big', annotations: { team: 'red' } });
  });

  it('a change upserts and removes by key, updates the data of the routes kept, and a delete removes them all', () => {
    const store = new RouteStore();
    const c = registered(store, 'c');
    store.replaceAll(c, [gr('ns/one', [route('ns/one', 'one.example.com'), route('ns/one', 'one.example.com', '/api')]), gr('ns/two', [route('ns/two', 'two.example.com')])]);
    store.applyChange(c, { namespace: 'ns', name: 'one', annotations: { v: '2' }, upsert: [route('ns/one', 'one.example.com', '/v2')], remove: ['ns/one/Prefix:one.example.com/api'] });
    expect([...c.routes.keys()].sort()).toEqual(['ns/one/Prefix:one.example.com/', 'ns/one/Prefix:one.example.com/v2', 'ns/two/Prefix:two.example.com/']);
    expect(c.routes.get('ns/one/Prefix:one.example.com/')?.annotations).toEqual({ v: '2' });
    store.applyChange(c, { namespace: 'ns', name: 'two', deleted: true, upsert: [], remove: [] });
    expect([...c.routes.keys()].sort()).toEqual(['ns/one/Prefix:one.example.com/', 'ns/one/Prefix:one.example.com/v2']);
  });
});

import { describe, expect, it } from '@jest/globals';
import type { WireGatewayRoute, WireRoute } from '../../../src/controlplane/protocol.js';
import { invalidMeta, invalidRoute, RouteStore, type ClusterRecord } from '../../../src/reference-control-plane/store.js';

function route(owner: string, host: string, path = '/'): WireRoute {
  return { key: `${owner}/Prefix:${host}${path}`, host, path, path_type: 'Prefix', service: 'web', port: 80, tls: false };
}

function gr(owner: string, routes: WireRoute[], annotations: Record<string, string> = {}): WireGatewayRoute {
  const [namespace = '', name = ''] = owner.split('/');
  return { namespace, name, source: { kind: 'Ingress', name }, annotations, routes };
}

function registered(store: RouteStore, name: string, id?: string, credential = 'token-a'): ClusterRecord {
  const result = store.register(name, id, credential);
  if (!result.ok) throw new Error(result.message);
  return result.cluster;
}

describe('invalidRoute', () => {
  const good = route('ns/gr', 'a.example.com');
  it.each([
    { name: 'valid', patch: {}, problem: undefined },
    { name: 'port 0', patch: { port: 0 }, problem: /port/ },
    { name: 'path without /', patch: { path: 'x' }, problem: /must start with/ },
    { name: 'bad path_type', patch: { path_type: 'Regex' }, problem: /path_type/ },
    { name: 'bad host', patch: { host: 'A B' }, problem: /not a DNS name/ },
    { name: 'catch-all not allowed', patch: { host: '' }, problem: /catch-all/ },
    { name: 'no path', patch: { path: undefined }, problem: /field "path" must be a string/ },
    { name: 'tls not boolean', patch: { tls: 'yes' }, problem: /tls/ },
    { name: 'bad service', patch: { service: 'Web_1' }, problem: /service/ },
  ])('$name', ({ patch, problem }) => {
    const result = invalidRoute({ ...good, ...patch }, false);
    if (problem) expect(result).toMatch(problem);
    else expect(result).toBeUndefined();
  });
});

describe('invalidMeta', () => {
  it.each([
    { name: 'valid', meta: { namespace: 'ns', name: 'a.b', annotations: {} }, problem: undefined },
    { name: 'continuation part without annotations', meta: { namespace: 'ns', name: 'a' }, partial: true, problem: undefined },
    { name: 'annotations missing on a whole one', meta: { namespace: 'ns', name: 'a' }, problem: /annotations/ },
    { name: 'kubectl annotation', meta: { namespace: 'ns', name: 'a', annotations: { 'kubectl.kubernetes.io/x': '1' } }, problem: /kubectl/ },
    { name: 'annotation not a string', meta: { namespace: 'ns', name: 'a', annotations: { a: 1 } }, problem: /annotations/ },
    { name: 'bad namespace', meta: { namespace: 'NS', name: 'a', annotations: {} }, problem: /namespace/ },
    { name: 'bad source', meta: { namespace: 'ns', name: 'a', annotations: {}, source: 'x' }, problem: /source/ },
  ])('$name', ({ meta, partial, problem }) => {
    const result = invalidMeta(meta, partial ?? false);
    if (problem) expect(result).toMatch(problem);
    else expect(result).toBeUndefined();
  });
});

describe('RouteStore identity', () => {
  it('a name is a label: a second cluster of the same name gets its own identity and routes', () => {
    const store = new RouteStore();
    const first = registered(store, 'prod');
    const second = registered(store, 'prod');
    expect(second).not.toBe(first);
    store.replaceAll(first, [gr('ns/a', [route('ns/a', 'a.example.com')])]);
    expect(second.routes.size).toBe(0);
  });

  it('resumes a cluster_id only with the credential it registered with', () => {
    const store = new RouteStore();
    const first = registered(store, 'prod', undefined, 'token-a');
    expect(registered(store, 'renamed', first.cluster_id, 'token-a')).toBe(first);
    expect(store.register('prod', first.cluster_id, 'token-b')).toEqual({ ok: false, code: 'identity_mismatch', message: `cluster_id ${first.cluster_id} was registered with another credential` });
  });

  it('takes an unknown cluster_id as given (a control plane that lost its state)', () => {
    const store = new RouteStore();
    expect(registered(store, 'prod', 'known-before').cluster_id).toBe('known-before');
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
    const a = registered(store, 'a');
    const b = registered(store, 'b');
    expect(store.replaceAll(a, [gr('ns/x', [route('ns/x', 'shared.example.com')])]).accepted).toEqual(['ns/x/Prefix:shared.example.com/']);
    const result = store.replaceAll(b, [gr('ns/y', [route('ns/y', 'shared.example.com'), route('ns/y', 'own.example.com')])]);
    expect(result.accepted).toEqual(['ns/y/Prefix:own.example.com/']);
    expect(result.rejected).toEqual([{ key: 'ns/y/Prefix:shared.example.com/', reason: 'shared.example.com/ is already served by cluster a' }]);
    store.applyChange(a, { namespace: 'ns', name: 'x', deleted: true, upsert: [], remove: [] });
    expect(store.applyChange(b, { namespace: 'ns', name: 'y', upsert: [route('ns/y', 'shared.example.com')], remove: [] }).accepted).toEqual(['ns/y/Prefix:shared.example.com/']);
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

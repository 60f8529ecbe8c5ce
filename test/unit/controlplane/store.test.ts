import { describe, expect, it } from '@jest/globals';
import type { WireRoute } from '../../../src/controlplane/protocol.js';
import { invalidRoute, RouteStore } from '../../../src/reference-control-plane/store.js';

function route(key: string, host: string, path = '/'): WireRoute {
  const [namespace = 'ns', name = 'gr'] = key.split('/');
  return { key, host, path, path_type: 'Prefix', namespace, service: 'web', port: 80, tls: false, ingress_name: name, gateway_route: name, annotations: {} };
}

describe('invalidRoute', () => {
  const good = route('ns/gr/0', 'a.example.com');
  it.each([
    { name: 'valid', patch: {}, problem: undefined },
    { name: 'port 0', patch: { port: 0 }, problem: /port/ },
    { name: 'path without /', patch: { path: 'x' }, problem: /must start with/ },
    { name: 'bad path_type', patch: { path_type: 'Regex' }, problem: /path_type/ },
    { name: 'bad host', patch: { host: 'A B' }, problem: /not a DNS name/ },
    { name: 'catch-all not allowed', patch: { host: '' }, problem: /catch-all/ },
    { name: 'kubectl annotation', patch: { annotations: { 'kubectl.kubernetes.io/x': '1' } }, problem: /kubectl/ },
    { name: 'missing key', patch: { key: '' }, problem: /key/ },
    { name: 'tls not boolean', patch: { tls: 'yes' }, problem: /tls/ },
  ])('$name', ({ patch, problem }) => {
    const result = invalidRoute({ ...good, ...patch }, false);
    if (problem) expect(result).toMatch(problem);
    else expect(result).toBeUndefined();
  });
});

describe('RouteStore', () => {
  it('gives a cluster the same identity by name and by cluster_id', () => {
    const store = new RouteStore();
    const first = store.register('prod');
    expect(store.register('prod')).toBe(first);
    expect(store.register('renamed', first.cluster_id)).toBe(first);
    expect(store.register('other')).not.toBe(first);
  });

  it('rejects a host + path claimed by another cluster', () => {
    const store = new RouteStore();
    const a = store.register('a');
    const b = store.register('b');
    expect(store.replaceAll(a, [route('ns/x/0', 'shared.example.com')]).accepted).toEqual(['ns/x/0']);
    const result = store.replaceAll(b, [route('ns/y/0', 'shared.example.com'), route('ns/y/1', 'own.example.com')]);
    expect(result.accepted).toEqual(['ns/y/1']);
    expect(result.rejected).toEqual([{ key: 'ns/y/0', reason: 'shared.example.com/ is already served by cluster a' }]);
  });

  it('update replaces the routes of one GatewayRoute; delete removes them', () => {
    const store = new RouteStore();
    const c = store.register('c');
    store.replaceAll(c, [route('ns/one/0', 'one.example.com'), route('ns/one/1', 'one.example.com', '/api'), route('ns/two/0', 'two.example.com')]);
    store.applyChange(c, 'update', 'ns/one', [route('ns/one/0', 'one.example.com', '/v2')]);
    expect([...c.routes.keys()].sort()).toEqual(['ns/one/0', 'ns/two/0']);
    expect(c.routes.get('ns/one/0')?.path).toBe('/v2');
    store.applyChange(c, 'delete', 'ns/two', [route('ns/two/0', 'two.example.com')]);
    expect([...c.routes.keys()]).toEqual(['ns/one/0']);
  });
});

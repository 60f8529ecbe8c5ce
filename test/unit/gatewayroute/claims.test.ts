// Which GatewayRoute keeps a host + path several ask for, from the cache alone (objects enter the informer
// through observe(); no apiserver).
import { describe, expect, it } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import { indexRouteClaims, RouteClaims } from '../../../src/gatewayroute/claims.js';
import { GATEWAY_ROUTE_KIND, type GatewayRoute, type RouteSpec } from '../../../src/api/v1alpha1/types.js';
import { Informer } from '../../../src/operator/informer.js';
import { silentLogger } from '../../../src/log.js';

const api: RouteSpec = { host: 'shop.example.com', path: '/api', pathType: 'Prefix', backend: { service: 'web', port: { number: 80 } } };
let version = 0;
function gatewayRoute(name: string, created: string, routes: RouteSpec[], source = 'Ingress'): GatewayRoute {
  return {
    apiVersion: 'gateway.pipeops.io/v1alpha1',
    kind: 'GatewayRoute',
    metadata: { name, namespace: 'ns', creationTimestamp: created, resourceVersion: String(++version) },
    spec: { routes, source: { kind: source, name } },
  };
}
function claims(...routes: GatewayRoute[]): RouteClaims {
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
  const informer = new Informer<GatewayRoute>(kc, { kind: GATEWAY_ROUTE_KIND, logger: silentLogger() });
  indexRouteClaims(informer);
  const made = new RouteClaims(informer);
  for (const route of routes) informer.observe(route);
  return made;
}

describe('RouteClaims.takenFor', () => {
  const T = '2026-11-27T10:00:00Z';
  const later = '2026-11-27T10:00:05Z';
  it.each<[string, GatewayRoute, GatewayRoute | undefined, string | undefined]>([
    ['an older holder keeps it from a new GatewayRoute', gatewayRoute('zz', T, [api]), undefined, 'shop.example.com/api (Prefix) is already served by GatewayRoute ns/zz (from Ingress zz)'],
    ['an older holder keeps it from a later one that has it too (a race)', gatewayRoute('zz', T, [api]), gatewayRoute('aa', later, [api]), 'shop.example.com/api (Prefix) is already served by GatewayRoute ns/zz (from Ingress zz)'],
    ['a later holder yields to an older asker', gatewayRoute('aa', later, [api]), gatewayRoute('zz', T, []), undefined],
    ['same second, the asker does not serve it yet: the holder keeps it, whatever the names', gatewayRoute('zz', T, [api]), gatewayRoute('aa', T, []), 'shop.example.com/api (Prefix) is already served by GatewayRoute ns/zz (from Ingress zz)'],
    ['same second, both serve it: the smaller name keeps it', gatewayRoute('zz', T, [api]), gatewayRoute('aa', T, [api]), undefined],
    ['same second, both serve it, seen from the other side', gatewayRoute('aa', T, [api]), gatewayRoute('zz', T, [api]), 'shop.example.com/api (Prefix) is already served by GatewayRoute ns/aa (from Ingress aa)'],
    ['another path is free', gatewayRoute('zz', T, [{ ...api, path: '/web' }]), undefined, undefined],
    ['the same path as Exact is another route', gatewayRoute('zz', T, [{ ...api, pathType: 'Exact' }]), undefined, undefined],
  ])('%s', (_name, holder, current, expected) => {
    const key = `ns/${current?.metadata.name ?? 'new'}`;
    const made = claims(holder, ...(current ? [current] : []));
    expect(made.takenFor(key, current)(api)).toBe(expected);
  });

  it('a GatewayRoute that lost a route is named when the holder changes, so it can take the route over', () => {
    const holder = gatewayRoute('zz', '2026-11-27T10:00:00Z', [api]);
    const made = claims(holder);
    expect(made.takenFor('ns/aa', undefined)(api)).toBeDefined();
    const released = { ...holder, metadata: { ...holder.metadata, resourceVersion: String(++version), generation: 2 }, spec: { routes: [] } };
    expect(made.affectedBy(released, holder, false)).toEqual(['ns/aa']);
    expect(made.affectedBy(holder, holder, true)).toEqual(['ns/aa']); // deleted
    const statusOnly = { ...holder, metadata: { ...holder.metadata, resourceVersion: String(++version) } };
    expect(made.affectedBy(statusOnly, holder, false)).toEqual([]); // same generation: the spec did not change
    made.forget('ns/aa');
    expect(made.affectedBy(released, holder, false)).toEqual([]);
  });
});

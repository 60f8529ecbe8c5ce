import { describe, expect, it } from '@jest/globals';
import type { GatewayRoute, RouteSpec } from '../../../src/api/v1alpha1/types.js';
import type { WireRoute } from '../../../src/controlplane/protocol.js';
import { sameRoutes, toWireRoutes } from '../../../src/sync/wire.js';

const services = {
  web: { metadata: { name: 'web' }, spec: { ports: [{ name: 'http', port: 8080 }, { port: 9090 }] } },
};
const lookup = (name: string) => (services as Record<string, (typeof services)['web']>)[name];

function gatewayRoute(overrides: Partial<GatewayRoute['metadata']> = {}): GatewayRoute {
  return {
    apiVersion: 'gateway.pipeops.io/v1alpha1',
    kind: 'GatewayRoute',
    metadata: {
      name: 'shop',
      namespace: 'prod',
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}', 'team': 'payments' },
      ownerReferences: [{ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'shop-ingress', uid: 'u', controller: true }],
      ...overrides,
    },
    spec: {
      routes: [
        { host: 'shop.example.com', path: '/', pathType: 'Prefix', backend: { service: 'web', port: { name: 'http' } }, tls: true },
        { host: 'shop.example.com', path: '/metrics', pathType: 'Exact', backend: { service: 'web', port: { number: 9090 } } },
        { path: '/', pathType: 'ImplementationSpecific', backend: { service: 'missing', port: { name: 'http' } } },
      ],
    },
  };
}

describe('toWireRoutes', () => {
  it('translates each route with resolved ports, keys, owner and user annotations', () => {
    const { routes, unresolved } = toWireRoutes(gatewayRoute(), lookup);
    expect(routes).toEqual([
      { key: 'prod/shop/Prefix:shop.example.com/', host: 'shop.example.com', path: '/', path_type: 'Prefix', namespace: 'prod', service: 'web', port: 8080, tls: true, ingress_name: 'shop-ingress', gateway_route: 'shop', annotations: { team: 'payments' } },
      { key: 'prod/shop/Exact:shop.example.com/metrics', host: 'shop.example.com', path: '/metrics', path_type: 'Exact', namespace: 'prod', service: 'web', port: 9090, tls: false, ingress_name: 'shop-ingress', gateway_route: 'shop', annotations: { team: 'payments' } },
    ]);
    expect(unresolved).toEqual(['prod/shop/ImplementationSpecific:*/: Service missing not found']);
  });

  it('keeps the port last sent while the Service is missing', () => {
    const lastSent: WireRoute[] = [{ key: 'prod/shop/Prefix:shop.example.com/', host: 'shop.example.com', path: '/', path_type: 'Prefix', namespace: 'prod', service: 'web', port: 8080, tls: true, ingress_name: 'shop-ingress', gateway_route: 'shop', annotations: {} }];
    const { routes } = toWireRoutes(gatewayRoute(), () => undefined, lastSent);
    expect(routes.map((r) => [r.key, r.port])).toEqual([['prod/shop/Prefix:shop.example.com/', 8080]]);
  });

  it('a hand-written GatewayRoute has no ingress_name', () => {
    const { routes } = toWireRoutes(gatewayRoute({ ownerReferences: undefined }), lookup);
    expect(routes[0]?.ingress_name).toBe('');
  });
});

describe('toWireRoutes: where each field comes from', () => {
  const base = gatewayRoute();
  const lastSent: WireRoute[] = [{ key: 'prod/shop/Prefix:shop.example.com/', host: 'shop.example.com', path: '/', path_type: 'Prefix', namespace: 'prod', service: 'web', port: 8080, tls: true, ingress_name: 'shop-ingress', gateway_route: 'shop', annotations: {} }];
  const baseRoutes = base.spec.routes ?? [];
  const onlyFirst = (changes: Partial<RouteSpec>): GatewayRoute => ({ ...base, spec: { routes: [{ ...baseRoutes[0]!, ...changes }] } });

  it.each([
    { name: 'the same route', route: onlyFirst({}), unresolved: [] },
    { name: 'another Service', route: onlyFirst({ backend: { service: 'other', port: { name: 'http' } } }), unresolved: ['prod/shop/Prefix:shop.example.com/: Service other not found'] },
    { name: 'another host', route: onlyFirst({ host: 'else.example.com' }), unresolved: ['prod/shop/Prefix:else.example.com/: Service web not found'] },
    { name: 'another path', route: onlyFirst({ path: '/else' }), unresolved: ['prod/shop/Prefix:shop.example.com/else: Service web not found'] },
    { name: 'another pathType', route: onlyFirst({ pathType: 'Exact' }), unresolved: ['prod/shop/Exact:shop.example.com/: Service web not found'] },
  ])('the port last sent is kept only for $name', ({ route, unresolved }) => {
    const result = toWireRoutes(route, () => undefined, lastSent);
    expect(result.unresolved).toEqual(unresolved);
    expect(result.routes.map((r) => r.port)).toEqual(unresolved.length ? [] : [8080]);
  });

  it('a catch-all route keeps its port by an empty host', () => {
    const catchAll: GatewayRoute = { ...base, spec: { routes: [{ path: '/', pathType: 'Prefix', backend: { service: 'web', port: { name: 'http' } } }] } };
    const keptKey = 'prod/shop/Prefix:*/';
    const { routes } = toWireRoutes(catchAll, () => undefined, [{ ...lastSent[0]!, key: keptKey, host: '' }]);
    expect(routes).toEqual([{ ...lastSent[0]!, key: keptKey, host: '', tls: false, annotations: { team: 'payments' } }]);
  });

  it('takes the Ingress name from spec.source when there is no ownerReference, and nothing from another kind', () => {
    const fromSource = { ...gatewayRoute({ ownerReferences: undefined }), spec: { ...base.spec, source: { kind: 'Ingress', name: 'legacy' } } } as GatewayRoute;
    expect(toWireRoutes(fromSource, lookup).routes[0]?.ingress_name).toBe('legacy');
    const other = { ...fromSource, spec: { ...fromSource.spec, source: { kind: 'HTTPRoute', name: 'r' } } } as GatewayRoute;
    expect(toWireRoutes(other, lookup).routes[0]?.ingress_name).toBe('');
  });

  it('a GatewayRoute without routes, name or namespace translates to nothing, without throwing', () => {
    const bare = { apiVersion: base.apiVersion, kind: base.kind, metadata: {}, spec: {} } as GatewayRoute;
    expect(toWireRoutes(bare, lookup)).toEqual({ routes: [], unresolved: [] });
    const unnamed = { ...bare, spec: { routes: [baseRoutes[1]!] } } as GatewayRoute;
    expect(toWireRoutes(unnamed, lookup).routes[0]).toMatchObject({ key: '//Exact:shop.example.com/metrics', namespace: '', gateway_route: '', annotations: {} });
  });

  it('sameRoutes: order matters, and nothing equals an empty set', () => {
    const [a, b] = toWireRoutes(base, lookup).routes as [WireRoute, WireRoute];
    expect(sameRoutes([a, b], [a, b])).toBe(true);
    expect(sameRoutes([a, b], [b, a])).toBe(false);
    expect(sameRoutes(undefined, [])).toBe(true);
    expect(sameRoutes([], undefined)).toBe(true);
    expect(sameRoutes([a], undefined)).toBe(false);
  });
});

describe('route keys', () => {
  it('stay the same when a path is inserted before or the paths are reordered', () => {
    const [root, metrics] = gatewayRoute().spec.routes!;
    const before = toWireRoutes({ ...gatewayRoute(), spec: { routes: [root!, metrics!] } }, lookup).routes;
    const inserted = { host: 'shop.example.com', path: '/new', pathType: 'Prefix' as const, backend: { service: 'web', port: { number: 9090 } } };
    const after = toWireRoutes({ ...gatewayRoute(), spec: { routes: [inserted, metrics!, root!] } }, lookup).routes;
    const unchanged = after.filter((r) => before.some((b) => JSON.stringify(b) === JSON.stringify(r)));
    expect(unchanged.map((r) => r.key).sort()).toEqual(before.map((r) => r.key).sort());
    expect(after.map((r) => r.key)).toEqual(['prod/shop/Prefix:shop.example.com/new', 'prod/shop/Exact:shop.example.com/metrics', 'prod/shop/Prefix:shop.example.com/']);
  });
});

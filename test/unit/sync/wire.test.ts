import { describe, expect, it } from '@jest/globals';
import type { GatewayRoute, RouteSpec } from '../../../src/api/v1alpha1/types.js';
import { wireRouteBody, type WireGatewayRoute, type WireRoute } from '../../../src/controlplane/protocol.js';
import { diffGatewayRoute, encodeSnapshot, sameGatewayRoute, toWireGatewayRoute } from '../../../src/sync/wire.js';
import { NO_CROSS_NAMESPACE, type CrossNamespacePolicy, type ServiceLookup } from '../../../src/gatewayroute/backends.js';

/** The v1-shaped view the older tables were written against: the routes of a translation. */
const toWireRoutes = (route: GatewayRoute, lookup: ServiceLookup, lastSent: WireRoute[] = [], crossNamespace: CrossNamespacePolicy = NO_CROSS_NAMESPACE) => {
  const { gatewayRoute, unresolved } = toWireGatewayRoute(route, { service: lookup, crossNamespace }, lastSent);
  return { routes: gatewayRoute.routes, unresolved, gatewayRoute };
};

const services = {
  web: { metadata: { name: 'web' }, spec: { ports: [{ name: 'http', port: 8080 }, { port: 9090 }] } },
};
const lookup = (_namespace: string, name: string) => (services as Record<string, (typeof services)['web']>)[name];

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
  it('translates each route with resolved ports and keys; the owner and user annotations once, for the GatewayRoute', () => {
    const { gatewayRoute: wire, unresolved } = toWireRoutes(gatewayRoute(), lookup);
    expect(wire).toEqual({
      namespace: 'prod',
      name: 'shop',
      source: { kind: 'Ingress', name: 'shop-ingress' },
      annotations: { team: 'payments' },
      routes: [
        { key: 'prod/shop/Prefix:shop.example.com/', host: 'shop.example.com', path: '/', path_type: 'Prefix', service: 'web', port: 8080, tls: true },
        { key: 'prod/shop/Exact:shop.example.com/metrics', host: 'shop.example.com', path: '/metrics', path_type: 'Exact', service: 'web', port: 9090, tls: false },
      ],
    });
    expect(unresolved).toEqual(['prod/shop/ImplementationSpecific:*/: Service missing not found']);
  });

  it('keeps the port last sent while the Service is missing', () => {
    const lastSent: WireRoute[] = [{ key: 'prod/shop/Prefix:shop.example.com/', host: 'shop.example.com', path: '/', path_type: 'Prefix', service: 'web', port: 8080, tls: true }];
    const { routes } = toWireRoutes(gatewayRoute(), () => undefined, lastSent);
    expect(routes.map((r) => [r.key, r.port])).toEqual([['prod/shop/Prefix:shop.example.com/', 8080]]);
  });

  it('a hand-written GatewayRoute has no source', () => {
    expect(toWireRoutes(gatewayRoute({ ownerReferences: undefined }), lookup).gatewayRoute.source).toBeUndefined();
  });
});

describe('toWireRoutes: where each field comes from', () => {
  const base = gatewayRoute();
  const lastSent: WireRoute[] = [{ key: 'prod/shop/Prefix:shop.example.com/', host: 'shop.example.com', path: '/', path_type: 'Prefix', service: 'web', port: 8080, tls: true }];
  const baseRoutes = base.spec.routes ?? [];
  const onlyFirst = (changes: Partial<RouteSpec>): GatewayRoute => ({ ...base, spec: { routes: [{ ...baseRoutes[0]!, ...changes }] } });

  it.each([
    { name: 'the same route', route: onlyFirst({}), unresolved: [] },
    { name: 'another Service', route: onlyFirst({ backend: { service: 'other', port: { name: 'http' } } }), unresolved: ['prod/shop/Prefix:shop.example.com/: Service other not found'] },
    { name: 'another host', route: onlyFirst({ host: 'else.example.com' }), unresolved: ['prod/shop/Prefix:else.example.com/: Service web not found'] },
    { name: 'another path', route: onlyFirst({ path: '/else' }), unresolved: ['prod/shop/Prefix:shop.example.com/else: Service web not found'] },
    { name: 'another pathType', route: onlyFirst({ pathType: 'Exact' }), unresolved: ['prod/shop/Exact:shop.example.com/: Service web not found'] },
  ])('the port last sent is kept only for $name', ({ route: changed, unresolved }) => {
    const result = toWireRoutes(changed, () => undefined, lastSent);
    expect(result.unresolved).toEqual(unresolved);
    expect(result.routes.map((r) => r.port)).toEqual(unresolved.length ? [] : [8080]);
  });

  it('a catch-all route keeps its port by an empty host', () => {
    const catchAll: GatewayRoute = { ...base, spec: { routes: [{ path: '/', pathType: 'Prefix', backend: { service: 'web', port: { name: 'http' } } }] } };
    const keptKey = 'prod/shop/Prefix:*/';
    const { routes } = toWireRoutes(catchAll, () => undefined, [{ ...lastSent[0]!, key: keptKey, host: '' }]);
    expect(routes).toEqual([{ ...lastSent[0]!, key: keptKey, host: '', tls: false }]);
  });

  it('takes the source from spec.source when there is no ownerReference', () => {
    const fromSource = { ...gatewayRoute({ ownerReferences: undefined }), spec: { ...base.spec, source: { kind: 'Ingress', name: 'legacy' } } } as GatewayRoute;
    expect(toWireRoutes(fromSource, lookup).gatewayRoute.source).toEqual({ kind: 'Ingress', name: 'legacy' });
    const other = { ...fromSource, spec: { ...fromSource.spec, source: { kind: 'HTTPRoute', name: 'r' } } } as GatewayRoute;
    expect(toWireRoutes(other, lookup).gatewayRoute.source).toEqual({ kind: 'HTTPRoute', name: 'r' });
  });

  it('a backend in another namespace: sent with service_namespace where a ReferenceGrant allows it, whatever owner the GatewayRoute names', () => {
    const crossNamespace: RouteSpec = { host: 'shop.example.com', path: '/api', pathType: 'Prefix', backend: { service: 'api', namespace: 'backends', port: { number: 80 } } };
    const api = { metadata: { name: 'api', namespace: 'backends' }, spec: { ports: [{ port: 80 }] } };
    const byNamespace = (namespace: string, name: string) => (namespace === 'backends' && name === 'api' ? api : undefined);
    const fromHTTPRoute = {
      ...gatewayRoute({ ownerReferences: [{ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', name: 'shop', uid: 'u', controller: true }] }),
      spec: { routes: [crossNamespace] },
    };
    const granted: CrossNamespacePolicy = (from, to, service) => from === 'prod' && to === 'backends' && service === 'api';
    const sent = [{ key: 'prod/shop/Prefix:shop.example.com/api', host: 'shop.example.com', path: '/api', path_type: 'Prefix', service: 'api', service_namespace: 'backends', port: 80, tls: false }];
    expect(toWireRoutes(fromHTTPRoute, byNamespace, [], granted).routes).toEqual(sent);
    const handWritten = { ...gatewayRoute({ ownerReferences: undefined }), spec: { routes: [crossNamespace] } };
    expect(toWireRoutes(handWritten, byNamespace, [], granted).routes).toEqual(sent);
    // No grant: refused for both, the HTTPRoute owner claimed by any GatewayRoute changes nothing; nor does a port sent before.
    for (const route of [fromHTTPRoute, handWritten]) {
      const result = toWireRoutes(route, byNamespace, sent as WireRoute[]);
      expect(result.routes).toEqual([]);
      expect(result.unresolved).toEqual(['prod/shop/Prefix:shop.example.com/api: no ReferenceGrant in namespace backends allows routes from prod to use Service api']);
    }
  });

  it('an ExternalName Service is refused with its reason, even where its port was sent before', () => {
    const alias = { metadata: { name: 'web' }, spec: { type: 'ExternalName', ports: [{ name: 'http', port: 8080 }, { port: 9090 }] } };
    const lastSent: WireRoute[] = [{ key: 'prod/shop/Prefix:shop.example.com/', host: 'shop.example.com', path: '/', path_type: 'Prefix', service: 'web', port: 8080, tls: true }];
    const { routes, unresolved } = toWireRoutes(gatewayRoute(), (_namespace, name) => (name === 'web' ? alias : undefined), lastSent);
    expect(routes).toEqual([]);
    expect(unresolved).toContain('prod/shop/Prefix:shop.example.com/: Service web is of type ExternalName (a DNS alias that may lead outside the cluster): not served');
  });

  it('a GatewayRoute without routes, name or namespace translates to nothing, without throwing', () => {
    const bare = { apiVersion: base.apiVersion, kind: base.kind, metadata: {}, spec: {} } as GatewayRoute;
    expect(toWireRoutes(bare, lookup).gatewayRoute).toEqual({ namespace: '', name: '', annotations: {}, routes: [] });
    const unnamed = { ...bare, spec: { routes: [baseRoutes[1]!] } } as GatewayRoute;
    expect(toWireRoutes(unnamed, lookup).routes[0]).toMatchObject({ key: '//Exact:shop.example.com/metrics' });
  });
});

describe('sameGatewayRoute and diffGatewayRoute', () => {
  const r = (path: string, port = 80): WireRoute => ({ key: `ns/a/Prefix:a.example.com${path}`, host: 'a.example.com', path, path_type: 'Prefix', service: 'web', port, tls: false });
  const gr = (routes: WireRoute[], annotations: Record<string, string> = {}, source = { kind: 'Ingress', name: 'a' }): WireGatewayRoute => ({ namespace: 'ns', name: 'a', source, annotations, routes });
  const held = gr([r('/x'), r('/y')], { team: 'red' });

  it.each([
    { name: 'same routes in another order', desired: gr([r('/y'), r('/x')], { team: 'red' }), same: true, diff: undefined },
    { name: 'one path inserted', desired: gr([r('/new'), r('/x'), r('/y')], { team: 'red' }), same: false, diff: { namespace: 'ns', name: 'a', upsert: [r('/new')], remove: [] } },
    { name: 'one path gone', desired: gr([r('/x')], { team: 'red' }), same: false, diff: { namespace: 'ns', name: 'a', upsert: [], remove: [r('/y').key] } },
    { name: 'a port changed', desired: gr([r('/x'), r('/y', 81)], { team: 'red' }), same: false, diff: { namespace: 'ns', name: 'a', upsert: [r('/y', 81)], remove: [] } },
    { name: 'annotations changed', desired: gr([r('/x'), r('/y')], { team: 'blue' }), same: false, diff: { namespace: 'ns', name: 'a', annotations: { team: 'blue' }, upsert: [], remove: [] } },
    { name: 'source changed', desired: gr([r('/x'), r('/y')], { team: 'red' }, { kind: 'Ingress', name: 'b' }), same: false, diff: { namespace: 'ns', name: 'a', source: { kind: 'Ingress', name: 'b' }, upsert: [], remove: [] } },
    { name: 'deleted', desired: undefined, same: false, diff: { namespace: 'ns', name: 'a', deleted: true, upsert: [], remove: [] } },
  ])('$name', ({ desired, same, diff }) => {
    expect(sameGatewayRoute(held, desired)).toBe(same);
    expect(diffGatewayRoute(held, desired)).toEqual(diff);
  });

  it('a GatewayRoute the control plane does not hold is sent whole, with its data', () => {
    expect(diffGatewayRoute(undefined, held)).toEqual({ namespace: 'ns', name: 'a', source: { kind: 'Ingress', name: 'a' }, annotations: { team: 'red' }, upsert: held.routes, remove: [] });
    expect(diffGatewayRoute(undefined, undefined)).toBeUndefined();
  });
});

describe('encodeSnapshot', () => {
  const many = (name: string, count: number, annotations: Record<string, string> = {}): WireGatewayRoute => ({
    namespace: 'ns',
    name,
    annotations,
    routes: Array.from({ length: count }, (_, i) => ({ key: `ns/${name}/Prefix:h${i}.example.com/`, host: `h${i}.example.com`, path: '/', path_type: 'Prefix' as const, service: 'web', port: 80, tls: false })),
  });
  const decode = (chunks: string[]) => chunks.map((c) => JSON.parse(c) as { revision: number; gateway_routes: WireGatewayRoute[] });

  it('keeps every chunk (with its envelope) under the budget and loses nothing', () => {
    const groups = [many('a', 300, { note: 'x'.repeat(20_000) }), many('b', 5), many('c', 2_000)];
    const budget = 64 * 1024;
    const { chunks, routes } = encodeSnapshot(groups, 7, budget);
    expect(routes).toBe(2_305);
    expect(chunks.length).toBeGreaterThan(3);
    for (const chunk of chunks) expect(Buffer.byteLength(chunk) + 512).toBeLessThanOrEqual(budget);
    const parts = decode(chunks).flatMap((c) => c.gateway_routes);
    for (const name of ['a', 'b', 'c']) {
      const mine = parts.filter((p) => p.name === name);
      // Routes go without their keys: the control plane derives them.
      expect(mine.flatMap((p) => p.routes)).toEqual(groups.find((g) => g.name === name)!.routes.map(wireRouteBody));
      // The GatewayRoute's data travels once, with its first part.
      expect(mine.filter((p) => p.annotations !== undefined)).toHaveLength(1);
      expect(mine[0]!.annotations).toEqual(groups.find((g) => g.name === name)!.annotations);
    }
    expect(decode(chunks).every((c) => c.revision === 7)).toBe(true);
  });

  it('an empty snapshot has no chunks; a GatewayRoute without routes is still sent', () => {
    expect(encodeSnapshot([], 1, 1024 * 1024)).toEqual({ chunks: [], routes: 0 });
    const { chunks } = encodeSnapshot([many('empty', 0)], 1, 1024 * 1024);
    expect(decode(chunks)[0]!.gateway_routes).toEqual([many('empty', 0)]);
  });

  it('measures bytes, not characters', () => {
    const wide = many('w', 400, { note: 'é'.repeat(10_000) });
    const { chunks } = encodeSnapshot([wide], 1, 64 * 1024);
    for (const chunk of chunks) expect(Buffer.byteLength(chunk) + 512).toBeLessThanOrEqual(64 * 1024);
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

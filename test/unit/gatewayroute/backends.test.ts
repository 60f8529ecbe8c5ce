// One backend resolver for ResolvedRefs and for the routes sent: for every kind of backend, ResolvedRefs is
// True exactly when the wire translation leaves no route out, and permitting a namespace changes both at once.
import { describe, expect, it } from '@jest/globals';
import type { GatewayRoute, RouteSpec } from '../../../src/api/v1alpha1/types.js';
import { BackendResolver, resolvedRefsCondition } from '../../../src/gatewayroute/backends.js';
import { BackendTransports } from '../../../src/gatewayroute/transport.js';
import type { AppliedTlsPolicy } from '../../../src/routing/backend-transport.js';
import type { ServiceLike } from '../../../src/routing/backends.js';
import { toWireGatewayRoute } from '../../../src/sync/wire.js';
import { wireRouteKey } from '../../../src/api/v1alpha1/route-key.js';

const services: Record<string, ServiceLike> = {
  'shop/web': { spec: { ports: [{ name: 'http', port: 8080 }] } },
  'shop/alias': { spec: { type: 'ExternalName' } },
  'db/rows': { spec: { ports: [{ name: 'sql', port: 5432 }] } },
};

function gatewayRoute(backend: RouteSpec['backend']): GatewayRoute {
  return { apiVersion: 'gateway.pipeops.io/v1alpha1', kind: 'GatewayRoute', metadata: { name: 'r', namespace: 'shop' }, spec: { routes: [{ host: 'a.example.com', path: '/', pathType: 'Prefix', backend }] } };
}

// backend, resolves without a grant, resolves once namespace "db" is granted to "shop"
const table: Array<[string, RouteSpec['backend'], boolean, boolean]> = [
  ['a Service port by name', { service: 'web', port: { name: 'http' } }, true, true],
  ['a Service port by number', { service: 'web', port: { number: 8080 } }, true, true],
  ['a missing Service', { service: 'gone', port: { number: 80 } }, false, false],
  ['a missing port', { service: 'web', port: { name: 'grpc' } }, false, false],
  ['an ExternalName Service', { service: 'alias', port: { number: 80 } }, false, false],
  ['the own namespace named explicitly', { service: 'web', namespace: 'shop', port: { name: 'http' } }, true, true],
  ['another namespace', { service: 'rows', namespace: 'db', port: { name: 'sql' } }, false, true],
  ['another namespace, a Service the grant does not name', { service: 'other', namespace: 'db', port: { number: 1 } }, false, false],
];

describe('BackendResolver: ResolvedRefs and the wire agree', () => {
  it.each(table)('%s', (_name, backend, before, granted) => {
    const resolver = new BackendResolver((namespace, name) => services[`${namespace}/${name}`]);
    const route = gatewayRoute(backend);
    const agree = (expected: boolean): void => {
      const resolvedRefs = resolvedRefsCondition(route.spec.routes ?? [], 'shop', resolver).status === 'True';
      const sent = toWireGatewayRoute(route, resolver).unresolved.length === 0;
      expect({ resolvedRefs, sent }).toEqual({ resolvedRefs: expected, sent: expected });
    };
    agree(before);
    resolver.permitCrossNamespace((from, to, service) => from === 'shop' && to === 'db' && service === 'rows');
    agree(granted);
  });
});

describe('resolvedRefsCondition: how each backend is dialled', () => {
  const known: Record<string, ServiceLike> = {
    'shop/api': { spec: { ports: [{ name: 'grpc', port: 50051, appProtocol: 'kubernetes.io/h2c' }] } },
    'shop/web': { spec: { ports: [{ name: 'https', port: 8443 }] } },
  };
  // Any other name: a Service with port 80.
  const service = (namespace: string, name: string): ServiceLike | undefined => known[`${namespace}/${name}`] ?? { spec: { ports: [{ port: 80 }] } };
  const transports = (policy?: AppliedTlsPolicy) =>
    new BackendTransports({ gatewayRoute: () => undefined, service, tlsPolicy: (_ns, name) => (name === 'web' ? policy : undefined), clusterDomain: 'cluster.local' });
  const route = (service: string, port: number, extra: Partial<RouteSpec['backend']> = {}): RouteSpec => ({ host: `${service}.example.com`, path: '/', pathType: 'Prefix', backend: { service, port: { number: port }, ...extra } });
  const routes = [route('api', 50051), route('web', 8443, { protocol: 'HTTP' }), route('plain', 80), route('plain', 80, { protocol: 'HTTPS', tls: { insecureSkipVerify: true } })];
  const resolvedRefs = (policy?: AppliedTlsPolicy) => {
    const t = transports(policy);
    return resolvedRefsCondition(routes, 'shop', new BackendResolver(service, (r, b, ns) => t.chooseFor(r, b, ns)));
  };

  it('names every backend not dialled as plain HTTP/1.1, and why', () => {
    expect(resolvedRefs({ name: 'shop/web-tls', hostname: 'web.internal', ca: 'PEM' })).toEqual({
      type: 'ResolvedRefs',
      status: 'True',
      reason: 'ResolvedRefs',
      message:
        "all backend Services and ports exist; 1 backend(s) NOT verified: plain:80; dialled as: plain:80 HTTPS (route protocol HTTPS; certificate NOT verified (insecureSkipVerify)); api:50051 H2C (appProtocol kubernetes.io/h2c); web:8443 HTTPS (BackendTLSPolicy shop/web-tls (wins over the route's HTTP))",
    });
  });

  it('an unusable BackendTLSPolicy: False InvalidBackendTLSPolicy naming the backend, the policy and why', () => {
    expect(resolvedRefs({ name: 'shop/web-tls', hostname: 'web.internal', error: 'ConfigMap ca not found (validation.caCertificateRefs[0])' })).toEqual({
      type: 'ResolvedRefs',
      status: 'False',
      reason: 'InvalidBackendTLSPolicy',
      message: 'web:8443: BackendTLSPolicy shop/web-tls cannot be used: ConfigMap ca not found (validation.caCertificateRefs[0]); the tunnel refuses this backend',
    });
  });

  it('a backend whose certificate is not verified is never cut from the message, however many come before it', () => {
    const many = [...Array.from({ length: 19 }, (_, i) => route(`svc${i}-${'x'.repeat(100)}`, 80, { protocol: 'H2' })), route('last', 80, { protocol: 'HTTPS', tls: { insecureSkipVerify: true } })];
    const t = transports();
    const message = resolvedRefsCondition(many, 'shop', new BackendResolver(service, (r, b, ns) => t.chooseFor(r, b, ns))).message;
    expect(message).toMatch(/^all backend Services and ports exist; 1 backend\(s\) NOT verified: last:80; dialled as: last:80 HTTPS \(route protocol HTTPS; certificate NOT verified \(insecureSkipVerify\)\); /);
    expect(message).toMatch(/; and \d+ more$/);
  });

  it("the opt-out is ignored for a Service of another namespace, in ResolvedRefs and in what the tunnel dials", () => {
    const optOut = { protocol: 'HTTPS' as const, tls: { insecureSkipVerify: true } };
    const tenantRoute = route('plain', 80, { namespace: 'shop', ...optOut });
    const tenantGatewayRoute: GatewayRoute = { apiVersion: 'gateway.pipeops.io/v1alpha1', kind: 'GatewayRoute', metadata: { name: 'r', namespace: 'tenant' }, spec: { routes: [tenantRoute] } };
    const t = new BackendTransports({ gatewayRoute: (key) => (key === 'tenant/r' ? tenantGatewayRoute : undefined), service, clusterDomain: 'cluster.local' });
    const granted = new BackendResolver(service, (r, b, ns) => t.chooseFor(r, b, ns));
    granted.permitCrossNamespace(() => true);
    expect(resolvedRefsCondition([tenantRoute], 'tenant', granted).message).toBe(
      "all backend Services and ports exist; dialled as: shop/plain:80 HTTPS (route protocol HTTPS; insecureSkipVerify ignored: the Service is in namespace shop, not the GatewayRoute's tenant (only routes of the Service's own namespace may skip verification))",
    );
    const key = wireRouteKey('tenant', 'r', { host: tenantRoute.host ?? '', path: tenantRoute.path, path_type: tenantRoute.pathType });
    expect(t.forRoute({ key, namespace: 'shop', service: 'plain', port: 80 })).toMatchObject({ protocol: 'HTTPS', tls: { verify: true } });
    // The same opt-out in the Service's own namespace is honoured.
    const ownRoute = route('plain', 80, optOut);
    expect(resolvedRefsCondition([ownRoute], 'shop', granted).message).toMatch(/1 backend\(s\) NOT verified: plain:80;/);
    const ownKey = wireRouteKey('shop', 'r', { host: ownRoute.host ?? '', path: ownRoute.path, path_type: ownRoute.pathType });
    const own = new BackendTransports({ gatewayRoute: (k) => (k === 'shop/r' ? { ...tenantGatewayRoute, metadata: { name: 'r', namespace: 'shop' }, spec: { routes: [ownRoute] } } : undefined), service, clusterDomain: 'cluster.local' });
    expect(own.forRoute({ key: ownKey, namespace: 'shop', service: 'plain', port: 80 })).toMatchObject({ protocol: 'HTTPS', tls: { verify: false } });
  });

  it('stays within its budget with many backends', () => {
    // A Service each, so nothing is deduplicated away.
    const many = Array.from({ length: 500 }, (_, i) => route(`svc${i}`, 80, { protocol: 'H2C' }));
    const t = transports();
    const message = resolvedRefsCondition(many, 'shop', new BackendResolver(service, (r, b, ns) => t.chooseFor(r, b, ns))).message;
    expect(message.length).toBeLessThan(2200);
    expect(message).toMatch(/; and \d+ more$/);
  });
});

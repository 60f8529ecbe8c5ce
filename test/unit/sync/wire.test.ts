import { describe, expect, it } from '@jest/globals';
import type { GatewayRoute } from '../../../src/api/v1alpha1/types.js';
import type { WireRoute } from '../../../src/controlplane/protocol.js';
import { toWireRoutes } from '../../../src/sync/wire.js';

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
      { key: 'prod/shop/0', host: 'shop.example.com', path: '/', path_type: 'Prefix', namespace: 'prod', service: 'web', port: 8080, tls: true, ingress_name: 'shop-ingress', gateway_route: 'shop', annotations: { team: 'payments' } },
      { key: 'prod/shop/1', host: 'shop.example.com', path: '/metrics', path_type: 'Exact', namespace: 'prod', service: 'web', port: 9090, tls: false, ingress_name: 'shop-ingress', gateway_route: 'shop', annotations: { team: 'payments' } },
    ]);
    expect(unresolved).toEqual(['prod/shop/2: Service missing not found']);
  });

  it('keeps the port last sent while the Service is missing', () => {
    const lastSent: WireRoute[] = [{ key: 'prod/shop/0', host: 'shop.example.com', path: '/', path_type: 'Prefix', namespace: 'prod', service: 'web', port: 8080, tls: true, ingress_name: 'shop-ingress', gateway_route: 'shop', annotations: {} }];
    const { routes } = toWireRoutes(gatewayRoute(), () => undefined, lastSent);
    expect(routes.map((r) => [r.key, r.port])).toEqual([['prod/shop/0', 8080]]);
  });

  it('a hand-written GatewayRoute has no ingress_name', () => {
    const { routes } = toWireRoutes(gatewayRoute({ ownerReferences: undefined }), lookup);
    expect(routes[0]?.ingress_name).toBe('');
  });
});

// A standby's tunnel boundary (exposedRoutesOf): the backends the cluster's GatewayRoutes expose, by the same
// translation the leader sends, so a standby refuses exactly what the leader refuses.
import { describe, expect, it } from '@jest/globals';
import type { GatewayRoute, RouteSpec } from '../../../src/api/v1alpha1/types.js';
import { NO_CROSS_NAMESPACE, type CrossNamespacePolicy } from '../../../src/gatewayroute/backends.js';
import type { ServiceLike } from '../../../src/routing/backends.js';
import { exposedRoutesOf } from '../../../src/sync/boundary.js';

const services: Record<string, ServiceLike> = {
  'shop/web': { metadata: { name: 'web', namespace: 'shop' }, spec: { ports: [{ name: 'http', port: 8080 }] } },
  'shared/api': { metadata: { name: 'api', namespace: 'shared' }, spec: { ports: [{ port: 9090 }] } },
  'shop/alias': { metadata: { name: 'alias', namespace: 'shop' }, spec: { type: 'ExternalName', ports: [{ port: 80 }] } },
};
const lookup = (namespace: string, name: string) => services[`${namespace}/${name}`];
const grantToShared: CrossNamespacePolicy = (from, to) => from === 'shop' && to === 'shared';

const route = (spec: Partial<RouteSpec> & Pick<RouteSpec, 'backend'>): GatewayRoute => ({
  apiVersion: 'gateway.pipeops.io/v1alpha1',
  kind: 'GatewayRoute',
  metadata: { name: 'web', namespace: 'shop', generation: 1 },
  spec: { routes: [{ host: 'shop.example.com', path: '/', pathType: 'Prefix', ...spec }] },
});

describe('exposedRoutesOf', () => {
  it.each([
    { name: 'a Service of the same namespace, by port name', spec: { backend: { service: 'web', port: { name: 'http' } } }, policy: NO_CROSS_NAMESPACE, exposed: ['shop/web:8080'] },
    { name: 'a Service that does not exist', spec: { backend: { service: 'gone', port: { number: 80 } } }, policy: NO_CROSS_NAMESPACE, exposed: [] },
    { name: 'a port the Service does not have', spec: { backend: { service: 'web', port: { name: 'grpc' } } }, policy: NO_CROSS_NAMESPACE, exposed: [] },
    { name: 'another namespace without a ReferenceGrant', spec: { backend: { service: 'api', namespace: 'shared', port: { number: 9090 } } }, policy: NO_CROSS_NAMESPACE, exposed: [] },
    { name: 'another namespace with a ReferenceGrant', spec: { backend: { service: 'api', namespace: 'shared', port: { number: 9090 } } }, policy: grantToShared, exposed: ['shared/api:9090'] },
    { name: 'an ExternalName Service', spec: { backend: { service: 'alias', port: { number: 80 } } }, policy: NO_CROSS_NAMESPACE, exposed: [] },
  ])('$name → $exposed', ({ spec, policy, exposed }) => {
    const routes = exposedRoutesOf([route(spec as RouteSpec)], { service: lookup, crossNamespace: policy });
    expect(routes.map((r) => `${r.namespace}/${r.service}:${r.port}`)).toEqual(exposed);
  });

  it('keeps host, path and type for the tunnel to match on', () => {
    const [exposed] = exposedRoutesOf([route({ path: '/api', pathType: 'Exact', backend: { service: 'web', port: { number: 8080 } } })], { service: lookup, crossNamespace: NO_CROSS_NAMESPACE });
    expect(exposed).toMatchObject({ host: 'shop.example.com', path: '/api', path_type: 'Exact', namespace: 'shop', service: 'web', port: 8080 });
  });
});

// One backend resolver for ResolvedRefs and for the routes sent: for every kind of backend, ResolvedRefs is
// True exactly when the wire translation leaves no route out, and permitting a namespace changes both at once.
import { describe, expect, it } from '@jest/globals';
import type { GatewayRoute, RouteSpec } from '../../../src/api/v1alpha1/types.js';
import { BackendResolver, resolvedRefsCondition } from '../../../src/gatewayroute/backends.js';
import type { ServiceLike } from '../../../src/routing/backends.js';
import { toWireGatewayRoute } from '../../../src/sync/wire.js';

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

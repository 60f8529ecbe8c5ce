import { describe, expect, it } from '@jest/globals';
import { MAX_PATH } from '../../../src/api/v1alpha1/types.js';
import { grpcMatchPath, translateGRPCRoute } from '../../../src/gatewayapi/translate-grpc.js';
import { crossNamespacePolicy, type RouteTranslateOptions } from '../../../src/gatewayapi/translate.js';
import type { GRPCRoute, GRPCRouteMatch, GRPCRouteRule, ReferenceGrant } from '../../../src/gatewayapi/types.js';
import { matchRoute } from '../../../src/routing/match.js';

const known = new Set(['shop/cart', 'shop/cart-v2', 'shop/web', 'backends/db']);
const options = (extra: Partial<RouteTranslateOptions> = {}): RouteTranslateOptions => ({
  allowCatchAll: false,
  referenceGrants: [],
  service: (namespace, name) => (known.has(`${namespace}/${name}`) ? { metadata: { namespace, name }, spec: { ports: [{ port: 9000 }] } } : undefined),
  ...extra,
});
const grpcRoute = (rules: GRPCRouteRule[]): GRPCRoute => ({
  metadata: { name: 'cart', namespace: 'shop', annotations: { team: 'payments' } },
  spec: { parentRefs: [{ name: 'gw' }], hostnames: ['grpc.example.com'], rules },
});
const backend = (name: string, extra: Record<string, unknown> = {}) => ({ name, port: 9000, ...extra });
const hosts = [{ host: 'grpc.example.com', tls: true }];
const translate = (rules: GRPCRouteRule[], extra: Partial<RouteTranslateOptions> = {}) => translateGRPCRoute(grpcRoute(rules), hosts, options(extra));
const grant = (kind: string, namespace = 'backends'): ReferenceGrant => ({
  metadata: { name: 'g', namespace },
  spec: { from: [{ group: 'gateway.networking.k8s.io', kind, namespace: 'shop' }], to: [{ group: '', kind: 'Service', name: 'db' }] },
});

describe('translateGRPCRoute', () => {
  it('service + method → Exact /<service>/<method>, service only → Prefix /<service>/, every backend H2C, source GRPCRoute', () => {
    const result = translate([
      { matches: [{ method: { service: 'shop.v1.Cart', method: 'GetItem' } }, { method: { type: 'Exact', service: 'shop.v1.Checkout' } }], backendRefs: [backend('cart')] },
    ]);
    expect(result.spec).toEqual({
      source: { kind: 'GRPCRoute', name: 'cart' },
      routes: [
        { host: 'grpc.example.com', path: '/shop.v1.Cart/GetItem', pathType: 'Exact', backend: { service: 'cart', port: { number: 9000 }, protocol: 'H2C' }, tls: true },
        { host: 'grpc.example.com', path: '/shop.v1.Checkout/', pathType: 'Prefix', backend: { service: 'cart', port: { number: 9000 }, protocol: 'H2C' }, tls: true },
      ],
    });
    expect(result.accepted).toEqual({ type: 'Accepted', status: 'True', reason: 'Accepted', message: '2 route(s) accepted' });
    expect(result.dropped).toEqual([]);
    expect(result.annotations).toEqual({ team: 'payments' });
  });

  it('a rule without matches, or a match without a method, serves every call: Prefix /', () => {
    for (const rule of [{ backendRefs: [backend('cart')] }, { matches: [{}], backendRefs: [backend('cart')] }]) {
      expect(translate([rule]).spec.routes).toEqual([
        { host: 'grpc.example.com', path: '/', pathType: 'Prefix', backend: { service: 'cart', port: { number: 9000 }, protocol: 'H2C' }, tls: true },
      ]);
    }
  });

  type Case = [string, GRPCRouteRule[], { paths: string[]; dropped: string[]; problems?: string[] }];
  it.each<Case>([
    [
      'a header match drops that match only; the rule’s other match still routes',
      [{ matches: [{ method: { service: 'a.A', method: 'M' } }, { method: { service: 'b.B' }, headers: [{ name: 'x-canary', value: 'yes' }] }], backendRefs: [backend('cart')] }],
      { paths: ['/a.A/M'], dropped: ['rules[0].matches[1]: headers matches are not supported'] },
    ],
    [
      'filters drop their rule (named), the next rule stays',
      [
        { name: 'mirror', matches: [{ method: { service: 'a.A' } }], filters: [{ type: 'RequestMirror' }, { type: 'RequestHeaderModifier' }], backendRefs: [backend('cart')] },
        { matches: [{ method: { service: 'b.B' } }], backendRefs: [backend('cart')] },
      ],
      { paths: ['/b.B/'], dropped: ['rules[0] (mirror): filters RequestMirror, RequestHeaderModifier are not supported'] },
    ],
    [
      'a backendRef with filters of its own is left out; the rule goes to the other one',
      [{ backendRefs: [backend('cart', { filters: [{ type: 'RequestHeaderModifier' }] }), backend('cart-v2')] }],
      { paths: ['/'], dropped: ['rules[0]: backendRef cart: its filters are not supported (this backend is left out)'] },
    ],
    [
      'RegularExpression is implementation-specific: not supported here',
      [{ matches: [{ method: { type: 'RegularExpression', service: 'shop\\..*', method: 'Get.*' } }], backendRefs: [backend('cart')] }],
      { paths: [], dropped: ['rules[0].matches[0]: method.type "RegularExpression" is not supported (Exact only)'] },
    ],
    [
      'a method of every service cannot be a path prefix',
      [{ matches: [{ method: { method: 'Check' } }, { method: { service: '', method: 'Check' } }], backendRefs: [backend('cart')] }],
      {
        paths: [],
        dropped: [
          'rules[0].matches[0]: method.method without method.service (that method of every service) is not supported',
          'rules[0].matches[1]: method.method without method.service (that method of every service) is not supported',
        ],
      },
    ],
    [
      'a cross-namespace backend without a grant from GRPCRoutes: RefNotPermitted (a grant from HTTPRoutes does not count)',
      [{ backendRefs: [backend('db', { namespace: 'backends' })] }],
      { paths: [], dropped: ['rules[0]: no usable backendRef'], problems: ['RefNotPermitted'] },
    ],
    [
      'weight 0 is never chosen; a missing Service is BackendNotFound but still routed',
      [{ matches: [{ method: { service: 'a.A' } }], backendRefs: [backend('gone'), backend('cart', { weight: 0 })] }],
      { paths: ['/a.A/'], dropped: [], problems: ['BackendNotFound'] },
    ],
  ])('%s', (_name, rules, expected) => {
    const result = translate(rules, { referenceGrants: [grant('HTTPRoute')] });
    expect((result.spec.routes ?? []).map((r) => r.path)).toEqual(expected.paths);
    expect(result.dropped).toEqual(expected.dropped);
    expect(result.backendProblems.map((p) => p.reason)).toEqual(expected.problems ?? []);
  });

  it('a ReferenceGrant from GRPCRoutes lets it use the Service in another namespace', () => {
    const result = translate([{ backendRefs: [backend('db', { namespace: 'backends' })] }], { referenceGrants: [grant('GRPCRoute')] });
    expect(result.spec.routes).toEqual([
      { host: 'grpc.example.com', path: '/', pathType: 'Prefix', backend: { service: 'db', namespace: 'backends', port: { number: 9000 }, protocol: 'H2C' }, tls: true },
    ]);
    expect(result.backendProblems).toEqual([]);
  });

  it('weights are not split, as for HTTPRoutes: the heaviest backend takes the rule, and the Accepted message says so', () => {
    const result = translate([{ backendRefs: [backend('cart', { weight: 90 }), backend('cart-v2', { weight: 10 })] }]);
    expect(result.spec.routes?.map((r) => r.backend.service)).toEqual(['cart']);
    expect(result.notes).toEqual(['rules[0]: weights are not split: all traffic goes to the heaviest backend cart']);
    expect(result.accepted).toMatchObject({ status: 'True', reason: 'PartiallyAccepted' });
  });

  it('leaves out what an older GatewayRoute (of any source) serves, and names it', () => {
    const taken = (route: { path: string }) => (route.path === '/a.A/' ? 'grpc.example.com/a.A/ (Prefix) is already served by GatewayRoute shop/web (from HTTPRoute web)' : undefined);
    const result = translate([{ matches: [{ method: { service: 'a.A' } }, { method: { service: 'b.B' } }], backendRefs: [backend('cart')] }], { taken });
    expect(result.spec.routes?.map((r) => r.path)).toEqual(['/b.B/']);
    expect(result.dropped).toEqual(['rules[0].matches[0]: grpc.example.com/a.A/ (Prefix) is already served by GatewayRoute shop/web (from HTTPRoute web)']);
  });
});

// service and method are written by a tenant and become paths: only what gRPC puts in :path gets through.
describe('GRPCRoute service and method names', () => {
  const path = (match: GRPCRouteMatch) => grpcMatchPath(match);
  it.each<[string, GRPCRouteMatch['method'], unknown]>([
    ['a package and service', { service: 'grpc.health.v1.Health', method: 'Check' }, { path: '/grpc.health.v1.Health/Check', pathType: 'Exact' }],
    ['upper case and underscores', { service: '_Pkg.My_Service2', method: '_Do_it' }, { path: '/_Pkg.My_Service2/_Do_it', pathType: 'Exact' }],
    ['a service alone', { service: 'Health' }, { path: '/Health/', pathType: 'Prefix' }],
  ])('accepted: %s', (_name, method, expected) => {
    expect(path({ method })).toEqual(expected);
  });

  const refused = (field: 'service' | 'method', value: string) => ({
    unsupported: `method.${field} ${JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value)} is not a gRPC ${field} name (${field === 'service' ? 'dot-separated identifiers such as shop.v1.Cart' : 'one identifier such as GetItem'}: letters, digits and _, not starting with a digit)`,
  });
  it.each<[string, GRPCRouteMatch['method'], 'service' | 'method', string]>([
    ['a slash in the service (another path)', { service: 'a/b', method: 'M' }, 'service', 'a/b'],
    ['a slash in the method', { service: 'a.A', method: 'M/../admin' }, 'method', 'M/../admin'],
    ['.. in the service', { service: 'a..b' }, 'service', 'a..b'],
    ['a service that is only ..', { service: '..' }, 'service', '..'],
    ['a leading dot (a proto absolute name; no client sends it)', { service: '.shop.Cart', method: 'Get' }, 'service', '.shop.Cart'],
    ['a trailing dot', { service: 'shop.' }, 'service', 'shop.'],
    ['whitespace in the service', { service: 'shop Cart' }, 'service', 'shop Cart'],
    ['a newline in the method', { service: 'a.A', method: 'Get\nX-Injected: 1' }, 'method', 'Get\nX-Injected: 1'],
    ['a tab', { service: 'a.A', method: '\tGet' }, 'method', '\tGet'],
    ['a query string', { service: 'a.A', method: 'Get?x=1' }, 'method', 'Get?x=1'],
    ['percent-encoding', { service: 'a%2Fb' }, 'service', 'a%2Fb'],
    ['a dot in the method', { service: 'a.A', method: 'Get.Item' }, 'method', 'Get.Item'],
    ['a leading digit', { service: '1shop.Cart' }, 'service', '1shop.Cart'],
    ['a backslash', { service: 'a\\b' }, 'service', 'a\\b'],
    ['non-ASCII letters', { service: 'shöp.Cart' }, 'service', 'shöp.Cart'],
    ['a NUL byte', { service: 'a\u0000b' }, 'service', 'a\u0000b'],
    ['a very long bad value is cut in the message', { service: `${'a'.repeat(100)}/x` }, 'service', `${'a'.repeat(100)}/x`],
  ])('refused: %s', (_name, method, field, value) => {
    const result = path({ method });
    expect(result).toEqual(refused(field, value));
    expect(JSON.stringify(result).length).toBeLessThan(400);
  });

  it('refused: a value that is not a string (a manifest the apiserver never checked)', () => {
    expect(path({ method: { service: ['a'] as unknown as string } })).toEqual({ unsupported: 'method.service is not a string' });
    expect(path({ method: { service: 'a.A', method: { toString: () => 'x' } as unknown as string } })).toEqual({ unsupported: 'method.method is not a string' });
  });

  it('refused: names whose path would not fit a GatewayRoute (each within the CRD limits of 1024)', () => {
    const result = path({ method: { service: 's'.repeat(1024), method: 'm'.repeat(1024) } });
    expect(result).toEqual({ unsupported: `method.service and method.method make a path of 2050 characters (at most ${MAX_PATH})` });
    expect(path({ method: { service: 's'.repeat(1023), method: 'm'.repeat(1023) } })).toMatchObject({ pathType: 'Exact' });
  });

  it('neither service nor method: refused, not a catch-all', () => {
    expect(path({ method: {} })).toEqual({ unsupported: 'method: neither service nor method is set' });
    expect(path({ method: { service: '', method: '' } })).toEqual({ unsupported: 'method: neither service nor method is set' });
  });

  it('an unknown match type is named, quoted', () => {
    expect(path({ method: { type: 'Prefix' as 'Exact', service: 'a.A' } })).toEqual({ unsupported: 'method.type "Prefix" is not supported (Exact only)' });
  });
});

describe('ReferenceGrants for every GatewayRoute (the sync side)', () => {
  it.each<[string, string, boolean]>([
    ['from HTTPRoutes', 'HTTPRoute', true],
    ['from GRPCRoutes', 'GRPCRoute', true],
    ['from another kind', 'TLSRoute', false],
  ])('a grant %s: %s', (_name, kind, expected) => {
    expect(crossNamespacePolicy(() => [grant(kind)])('shop', 'backends', 'db')).toBe(expected);
  });
});

// gRPC calls as the hosted gateway matches them against what the translation produced.
describe('GRPCRoute matching (translate, then match)', () => {
  const routes = (
    translate([
      { matches: [{ method: { service: 'shop.Cart', method: 'Get' } }], backendRefs: [backend('cart-v2')] },
      { matches: [{ method: { service: 'shop.Cart' } }], backendRefs: [backend('cart')] },
      { backendRefs: [backend('web')] },
    ]).spec.routes ?? []
  ).map((r) => ({ host: r.host ?? '', path: r.path, path_type: r.pathType, service: r.backend.service }));
  it.each([
    ['/shop.Cart/Get', 'cart-v2'],
    ['/shop.Cart/Put', 'cart'],
    ['/shop.CartX/Get', 'web'], // element-wise: another service
    ['/shop.cart/Get', 'web'], // case-sensitive
    ['/shop.Cart/GetMore', 'cart'],
    ['/other.Svc/Get', 'web'],
  ])('%s → %s', (path, expected) => {
    expect(matchRoute(routes, 'grpc.example.com', path)?.service).toBe(expected);
  });
});

import { describe, expect, it } from '@jest/globals';
import type { Attachment } from '../../../src/gatewayapi/attach.js';
import { gatewayStatus, listenerStatus, routeParentConditions } from '../../../src/gatewayapi/status.js';
import { referencePermitted, translateHTTPRoute, type RouteTranslateOptions } from '../../../src/gatewayapi/translate.js';
import type { HTTPRoute, HTTPRouteRule, ReferenceGrant } from '../../../src/gatewayapi/types.js';
import { matchRoute } from '../../../src/routing/match.js';

const service = (namespace: string, name: string) => ({ metadata: { namespace, name }, spec: { ports: [{ port: 80 }] } });
const known = new Set(['shop/web', 'shop/api', 'shop/v1', 'shop/v2', 'shop/exact', 'backends/db']);
const options = (extra: Partial<RouteTranslateOptions> = {}): RouteTranslateOptions => ({
  allowCatchAll: false,
  referenceGrants: [],
  service: (namespace, name) => (known.has(`${namespace}/${name}`) ? service(namespace, name) : undefined),
  ...extra,
});
const httpRoute = (rules: HTTPRouteRule[], hostnames = ['shop.example.com']): HTTPRoute => ({
  metadata: { name: 'shop', namespace: 'shop', annotations: { team: 'payments', 'kubectl.kubernetes.io/last-applied-configuration': '{}' } },
  spec: { parentRefs: [{ name: 'gw' }], hostnames, rules },
});
const backend = (name: string, extra: Record<string, unknown> = {}) => ({ name, port: 80, ...extra });
const hosts = [{ host: 'shop.example.com', tls: true }];
const grant = (to: ReferenceGrant['spec']['to'], fromNamespace = 'shop', namespace = 'backends'): ReferenceGrant => ({
  metadata: { name: 'g', namespace },
  spec: { from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: fromNamespace }], to },
});

describe('translateHTTPRoute', () => {
  it('hostnames × matches, PathPrefix → Prefix and Exact → Exact, TLS from the listener, user annotations only', () => {
    const result = translateHTTPRoute(
      httpRoute([
        { matches: [{ path: { type: 'PathPrefix', value: '/' } }, { path: { type: 'Exact', value: '/healthz' } }], backendRefs: [backend('web')] },
        { matches: [{ path: { type: 'PathPrefix', value: '/api' } }], backendRefs: [backend('api')] },
      ]),
      [...hosts, { host: 'www.example.com', tls: false }],
      options(),
    );
    expect(result.spec).toEqual({
      source: { kind: 'HTTPRoute', name: 'shop' },
      routes: [
        { host: 'shop.example.com', path: '/', pathType: 'Prefix', backend: { service: 'web', port: { number: 80 } }, tls: true },
        { host: 'www.example.com', path: '/', pathType: 'Prefix', backend: { service: 'web', port: { number: 80 } }, tls: false },
        { host: 'shop.example.com', path: '/healthz', pathType: 'Exact', backend: { service: 'web', port: { number: 80 } }, tls: true },
        { host: 'www.example.com', path: '/healthz', pathType: 'Exact', backend: { service: 'web', port: { number: 80 } }, tls: false },
        { host: 'shop.example.com', path: '/api', pathType: 'Prefix', backend: { service: 'api', port: { number: 80 } }, tls: true },
        { host: 'www.example.com', path: '/api', pathType: 'Prefix', backend: { service: 'api', port: { number: 80 } }, tls: false },
      ],
    });
    expect(result.accepted).toEqual({ type: 'Accepted', status: 'True', reason: 'Accepted', message: '6 route(s) accepted' });
    expect(result.annotations).toEqual({ team: 'payments' });
    expect(result.dropped).toEqual([]);
  });

  it('a rule without matches serves PathPrefix /', () => {
    expect(translateHTTPRoute(httpRoute([{ backendRefs: [backend('web')] }]), hosts, options()).spec.routes).toEqual([
      { host: 'shop.example.com', path: '/', pathType: 'Prefix', backend: { service: 'web', port: { number: 80 } }, tls: true },
    ]);
  });

  type Case = [string, HTTPRouteRule[], { paths: string[]; dropped: string[]; problems?: string[] }];
  it.each<Case>([
    [
      'a header match drops that match only; the rule’s other match still routes',
      [{ matches: [{ path: { value: '/a' } }, { path: { value: '/b' }, headers: [{ name: 'x', value: 'y' }] }], backendRefs: [backend('web')] }],
      { paths: ['/a'], dropped: ['rules[0].matches[1]: headers matches are not supported'] },
    ],
    [
      'query and method matches too',
      [{ matches: [{ path: { value: '/q' }, queryParams: [{ name: 'a', value: 'b' }], method: 'GET' }], backendRefs: [backend('web')] }],
      { paths: [], dropped: ['rules[0].matches[0]: queryParams, method matches are not supported'] },
    ],
    [
      'a RegularExpression path is dropped',
      [{ matches: [{ path: { type: 'RegularExpression', value: '/v[0-9]+' } }], backendRefs: [backend('web')] }],
      { paths: [], dropped: ['rules[0].matches[0]: path type RegularExpression is not supported'] },
    ],
    [
      'filters drop their rule, the next rule stays',
      [
        { name: 'rewrite', matches: [{ path: { value: '/old' } }], filters: [{ type: 'URLRewrite' }, { type: 'RequestHeaderModifier' }], backendRefs: [backend('web')] },
        { matches: [{ path: { value: '/new' } }], backendRefs: [backend('web')] },
      ],
      { paths: ['/new'], dropped: ['rules[0] (rewrite): filters URLRewrite, RequestHeaderModifier are not supported'] },
    ],
    [
      'a backend of another kind: InvalidKind, the rule has no usable backend',
      [{ matches: [{ path: { value: '/x' } }], backendRefs: [backend('bucket', { group: 'storage.example.com', kind: 'Bucket' })] }],
      { paths: [], dropped: ['rules[0]: no usable backendRef'], problems: ['InvalidKind'] },
    ],
    [
      'a Service in another namespace without a ReferenceGrant: RefNotPermitted',
      [{ matches: [{ path: { value: '/db' } }], backendRefs: [backend('db', { namespace: 'backends' })] }],
      { paths: [], dropped: ['rules[0]: no usable backendRef'], problems: ['RefNotPermitted'] },
    ],
    [
      'a missing Service still routes (the sync reports it unresolved) and says BackendNotFound',
      [{ matches: [{ path: { value: '/gone' } }], backendRefs: [backend('gone')] }],
      { paths: ['/gone'], dropped: [], problems: ['BackendNotFound'] },
    ],
    [
      'weight 0 backends are never chosen',
      [{ matches: [{ path: { value: '/w' } }], backendRefs: [backend('v1', { weight: 0 })] }],
      { paths: [], dropped: ['rules[0]: no usable backendRef'] },
    ],
    [
      'the same path in a later rule: the earlier rule wins',
      [
        { matches: [{ path: { value: '/same' } }], backendRefs: [backend('v1')] },
        { matches: [{ path: { value: '/same' } }], backendRefs: [backend('v2')] },
      ],
      { paths: ['/same'], dropped: [] },
    ],
  ])('%s', (_name, rules, expected) => {
    const result = translateHTTPRoute(httpRoute(rules), hosts, options());
    expect((result.spec.routes ?? []).map((r) => r.path)).toEqual(expected.paths);
    expect(result.dropped).toEqual(expected.dropped);
    expect(result.backendProblems.map((p) => p.reason)).toEqual(expected.problems ?? []);
  });

  it('weights are not split: the heaviest backend takes the rule, and the Accepted message says so', () => {
    const result = translateHTTPRoute(httpRoute([{ backendRefs: [backend('v1', { weight: 10 }), backend('v2', { weight: 90 })] }]), hosts, options());
    expect(result.spec.routes?.map((r) => r.backend.service)).toEqual(['v2']);
    expect(result.dropped).toEqual([]);
    expect(result.notes).toEqual(['rules[0]: weights are not split: all traffic goes to the heaviest backend v2']);
    expect(result.accepted).toMatchObject({ status: 'True', reason: 'PartiallyAccepted' });
  });

  it('leaves out a host + path an older GatewayRoute serves (per host), and names it', () => {
    const taken = (route: { host?: string; path: string }) => (route.host === 'shop.example.com' && route.path === '/api' ? 'shop.example.com/api (Prefix) is already served by GatewayRoute shop/legacy' : undefined);
    const result = translateHTTPRoute(
      httpRoute([{ matches: [{ path: { value: '/api' } }, { path: { value: '/web' } }], backendRefs: [backend('web')] }]),
      [...hosts, { host: 'www.example.com', tls: false }],
      options({ taken }),
    );
    expect(result.spec.routes?.map((r) => `${r.host}${r.path}`)).toEqual(['www.example.com/api', 'shop.example.com/web', 'www.example.com/web']);
    expect(result.dropped).toEqual(['rules[0].matches[0]: shop.example.com/api (Prefix) is already served by GatewayRoute shop/legacy']);
  });

  it('a ReferenceGrant lets the route use a Service in another namespace', () => {
    const rules = [{ matches: [{ path: { value: '/db' } }], backendRefs: [backend('db', { namespace: 'backends' })] }];
    const result = translateHTTPRoute(httpRoute(rules), hosts, options({ referenceGrants: [grant([{ group: '', kind: 'Service', name: 'db' }])] }));
    expect(result.spec.routes).toEqual([{ host: 'shop.example.com', path: '/db', pathType: 'Prefix', backend: { service: 'db', namespace: 'backends', port: { number: 80 } }, tls: true }]);
    expect(result.backendProblems).toEqual([]);
  });

  it('no hostname anywhere is a catch-all, served only with --allow-catch-all', () => {
    const route = httpRoute([{ backendRefs: [backend('web')] }], []);
    const every = [{ host: '', tls: false }];
    expect(translateHTTPRoute(route, every, options()).spec.routes).toEqual([]);
    expect(translateHTTPRoute(route, every, options()).accepted).toMatchObject({ status: 'False', reason: 'NoRoutes' });
    expect(translateHTTPRoute(route, every, options({ allowCatchAll: true })).spec.routes).toEqual([
      { path: '/', pathType: 'Prefix', backend: { service: 'web', port: { number: 80 } }, tls: false },
    ]);
  });
});

describe('referencePermitted', () => {
  it.each<[string, ReferenceGrant[], boolean]>([
    ['no grant', [], false],
    ['a grant for every Service of the namespace', [grant([{ group: '', kind: 'Service' }])], true],
    ['a grant for that Service', [grant([{ group: '', kind: 'Service', name: 'db' }])], true],
    ['a grant for another Service', [grant([{ group: '', kind: 'Service', name: 'cache' }])], false],
    ['a grant from another namespace', [grant([{ group: '', kind: 'Service' }], 'other')], false],
    ['a grant living in another namespace', [grant([{ group: '', kind: 'Service' }], 'shop', 'elsewhere')], false],
    ['a grant for Secrets', [grant([{ group: '', kind: 'Secret' }])], false],
  ])('%s', (_name, grants, expected) => {
    expect(referencePermitted(grants, { kind: 'HTTPRoute', from: 'shop', to: 'backends', service: 'db' })).toBe(expected);
  });
});

describe('route parent conditions', () => {
  const translated = (rules: HTTPRouteRule[]) => translateHTTPRoute(httpRoute(rules), hosts, options());
  const attached: Attachment = { attached: true, listeners: ['http'], hosts };
  const ok = translated([{ backendRefs: [backend('web')] }]);
  it.each<[string, Parameters<typeof routeParentConditions>[0], Array<[string, string, string]>]>([
    ['accepted, refs resolved', { attachment: attached, translation: ok }, [['Accepted', 'True', 'Accepted'], ['ResolvedRefs', 'True', 'ResolvedRefs']]],
    [
      'not attached: the attachment reason',
      { attachment: { attached: false, reason: 'NotAllowedByListeners', message: 'm' }, translation: ok },
      [['Accepted', 'False', 'NotAllowedByListeners'], ['ResolvedRefs', 'True', 'ResolvedRefs']],
    ],
    ['name taken', { attachment: attached, translation: ok, nameConflict: 'taken' }, [['Accepted', 'False', 'NameConflict'], ['ResolvedRefs', 'True', 'ResolvedRefs']]],
    [
      'some rules dropped: PartiallyInvalid',
      { attachment: attached, translation: translated([{ backendRefs: [backend('web')] }, { filters: [{ type: 'RequestRedirect' }], backendRefs: [backend('web')] }]) },
      [['Accepted', 'True', 'Accepted'], ['ResolvedRefs', 'True', 'ResolvedRefs'], ['PartiallyInvalid', 'True', 'UnsupportedValue']],
    ],
    [
      'every rule dropped: not accepted',
      { attachment: attached, translation: translated([{ filters: [{ type: 'RequestRedirect' }], backendRefs: [backend('web')] }]) },
      [['Accepted', 'False', 'UnsupportedValue'], ['ResolvedRefs', 'True', 'ResolvedRefs']],
    ],
    [
      'a refused backend: ResolvedRefs with its reason',
      { attachment: attached, translation: translated([{ backendRefs: [backend('db', { namespace: 'backends' })] }, { matches: [{ path: { value: '/x' } }], backendRefs: [backend('web')] }]) },
      [['Accepted', 'True', 'Accepted'], ['ResolvedRefs', 'False', 'RefNotPermitted'], ['PartiallyInvalid', 'True', 'UnsupportedValue']],
    ],
  ])('%s', (_name, input, expected) => {
    expect(routeParentConditions(input).map((c) => [c.type, c.status, c.reason])).toEqual(expected);
  });
});

describe('gateway status', () => {
  const gateway = (listeners: Parameters<typeof listenerStatus>[0][], addresses?: Array<{ value: string }>) => ({
    metadata: { name: 'gw', namespace: 'infra' },
    spec: { gatewayClassName: 'tunnel', listeners, ...(addresses ? { addresses } : {}) },
  });
  const summary = (status: ReturnType<typeof gatewayStatus>) => ({
    gateway: status.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`),
    listeners: status.listeners.map((l) => `${l.name}:${l.attachedRoutes}:${l.supportedKinds.map((k) => k.kind).join('+')}:${l.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`).join(',')}`),
  });
  it.each<[string, ReturnType<typeof gateway>, { gateway: string[]; listeners: string[] }]>([
    [
      'HTTP and HTTPS listeners: accepted and programmed, with the routes attached',
      gateway([{ name: 'http', port: 80, protocol: 'HTTP' }, { name: 'https', port: 443, protocol: 'HTTPS' }]),
      {
        gateway: ['Accepted=True/Accepted', 'Programmed=True/Programmed'],
        listeners: [
          'http:2:HTTPRoute:Accepted=True/Accepted,Programmed=True/Programmed,ResolvedRefs=True/ResolvedRefs,Conflicted=False/NoConflicts',
          'https:0:HTTPRoute:Accepted=True/Accepted,Programmed=True/Programmed,ResolvedRefs=True/ResolvedRefs,Conflicted=False/NoConflicts',
        ],
      },
    ],
    [
      'a TCP listener is not accepted; the Gateway still is, for its HTTP listener',
      gateway([{ name: 'http', port: 80, protocol: 'HTTP' }, { name: 'db', port: 5432, protocol: 'TCP' }]),
      {
        gateway: ['Accepted=True/Accepted', 'Programmed=True/Programmed'],
        listeners: [
          'http:2:HTTPRoute:Accepted=True/Accepted,Programmed=True/Programmed,ResolvedRefs=True/ResolvedRefs,Conflicted=False/NoConflicts',
          'db:0::Accepted=False/UnsupportedProtocol,Programmed=False/Invalid,ResolvedRefs=True/ResolvedRefs,Conflicted=False/NoConflicts',
        ],
      },
    ],
    [
      'only route kinds we do not serve',
      gateway([{ name: 'grpc', port: 80, protocol: 'HTTP', allowedRoutes: { kinds: [{ kind: 'GRPCRoute' }] } }]),
      {
        gateway: ['Accepted=False/ListenersNotValid', 'Programmed=False/Invalid'],
        listeners: ['grpc:0::Accepted=True/Accepted,Programmed=False/Invalid,ResolvedRefs=False/InvalidRouteKinds,Conflicted=False/NoConflicts'],
      },
    ],
    [
      'HTTP and HTTPS on one port: both conflicted (ProtocolConflict), nothing valid',
      gateway([{ name: 'http', port: 8080, protocol: 'HTTP' }, { name: 'https', port: 8080, protocol: 'HTTPS' }]),
      {
        gateway: ['Accepted=False/ListenersNotValid', 'Programmed=False/Invalid'],
        listeners: [
          'http:2:HTTPRoute:Accepted=True/Accepted,Programmed=False/Invalid,ResolvedRefs=True/ResolvedRefs,Conflicted=True/ProtocolConflict',
          'https:0:HTTPRoute:Accepted=True/Accepted,Programmed=False/Invalid,ResolvedRefs=True/ResolvedRefs,Conflicted=True/ProtocolConflict',
        ],
      },
    ],
    [
      'two listeners on one port with the same hostname (HostnameConflict); a third with its own hostname is fine',
      gateway([
        { name: 'http', port: 80, protocol: 'HTTP', hostname: 'a.example.com' },
        { name: 'again', port: 80, protocol: 'HTTP', hostname: 'a.example.com' },
        { name: 'other', port: 80, protocol: 'HTTP', hostname: 'b.example.com' },
      ]),
      {
        gateway: ['Accepted=True/Accepted', 'Programmed=True/Programmed'],
        listeners: [
          'http:2:HTTPRoute:Accepted=True/Accepted,Programmed=False/Invalid,ResolvedRefs=True/ResolvedRefs,Conflicted=True/HostnameConflict',
          'again:0:HTTPRoute:Accepted=True/Accepted,Programmed=False/Invalid,ResolvedRefs=True/ResolvedRefs,Conflicted=True/HostnameConflict',
          'other:0:HTTPRoute:Accepted=True/Accepted,Programmed=True/Programmed,ResolvedRefs=True/ResolvedRefs,Conflicted=False/NoConflicts',
        ],
      },
    ],
    [
      'spec.addresses cannot be honoured',
      gateway([{ name: 'http', port: 80, protocol: 'HTTP' }], [{ value: '10.0.0.1' }]),
      {
        gateway: ['Accepted=False/UnsupportedAddress', 'Programmed=False/Invalid'],
        listeners: ['http:2:HTTPRoute:Accepted=True/Accepted,Programmed=True/Programmed,ResolvedRefs=True/ResolvedRefs,Conflicted=False/NoConflicts'],
      },
    ],
  ])('%s', (_name, gw, expected) => {
    expect(summary(gatewayStatus(gw, { attachedRoutes: (listener) => (listener === 'http' ? 2 : 0), routeKinds: ['HTTPRoute'] }))).toEqual(expected);
  });

  // Where the apiserver serves GRPCRoute too: HTTP and HTTPS listeners carry both kinds, unless allowedRoutes.kinds narrows them.
  it.each<[string, Parameters<typeof listenerStatus>[0], string]>([
    ['an HTTP listener carries both', { name: 'http', port: 80, protocol: 'HTTP' }, 'http:2:HTTPRoute+GRPCRoute:Accepted=True/Accepted,Programmed=True/Programmed,ResolvedRefs=True/ResolvedRefs,Conflicted=False/NoConflicts'],
    ['an HTTPS listener carries both', { name: 'https', port: 443, protocol: 'HTTPS' }, 'https:0:HTTPRoute+GRPCRoute:Accepted=True/Accepted,Programmed=True/Programmed,ResolvedRefs=True/ResolvedRefs,Conflicted=False/NoConflicts'],
    [
      'allowedRoutes.kinds GRPCRoute only',
      { name: 'grpc', port: 80, protocol: 'HTTP', allowedRoutes: { kinds: [{ kind: 'GRPCRoute' }] } },
      'grpc:0:GRPCRoute:Accepted=True/Accepted,Programmed=True/Programmed,ResolvedRefs=True/ResolvedRefs,Conflicted=False/NoConflicts',
    ],
    [
      'allowedRoutes.kinds of another group only',
      { name: 'other', port: 80, protocol: 'HTTP', allowedRoutes: { kinds: [{ group: 'example.com', kind: 'GRPCRoute' }] } },
      'other:0::Accepted=True/Accepted,Programmed=False/Invalid,ResolvedRefs=False/InvalidRouteKinds,Conflicted=False/NoConflicts',
    ],
    ['a TCP listener carries neither', { name: 'tcp', port: 5432, protocol: 'TCP' }, 'tcp:0::Accepted=False/UnsupportedProtocol,Programmed=False/Invalid,ResolvedRefs=True/ResolvedRefs,Conflicted=False/NoConflicts'],
  ])('GRPCRoute served: %s', (_name, listener, expected) => {
    const status = gatewayStatus(gateway([listener]), { attachedRoutes: (name) => (name === 'http' ? 2 : 0), routeKinds: ['HTTPRoute', 'GRPCRoute'] });
    expect(summary(status).listeners).toEqual([expected]);
    if (listener.name === 'other') expect(status.listeners[0]?.conditions.find((c) => c.type === 'ResolvedRefs')?.message).toBe('allowedRoutes.kinds names no supported kind (HTTPRoute, GRPCRoute)');
  });
});

// The routing conformance of the matcher, over HTTPRoute path semantics: the HTTPRoute is translated, and
// requests are matched against what the translation produced, as the hosted gateway and the tunnel do.
describe('HTTPRoute path matching conformance (translate, then match)', () => {
  const rules: HTTPRouteRule[] = [
    { matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [backend('v1')] },
    { matches: [{ path: { type: 'PathPrefix', value: '/v2' } }], backendRefs: [backend('v2')] },
    { matches: [{ path: { type: 'PathPrefix', value: '/trailing/' } }], backendRefs: [backend('api')] },
    { matches: [{ path: { type: 'Exact', value: '/exact' } }], backendRefs: [backend('exact')] },
    { matches: [{ path: { type: 'PathPrefix', value: '/exact' } }], backendRefs: [backend('web')] },
  ];
  const routes = (translateHTTPRoute(httpRoute(rules), hosts, options()).spec.routes ?? []).map((r) => ({
    host: r.host ?? '',
    path: r.path,
    path_type: r.pathType,
    service: r.backend.service,
  }));
  it.each([
    ['/', 'v1'],
    ['/example', 'v1'],
    ['/v2', 'v2'],
    ['/v2/', 'v2'],
    ['/v2/example', 'v2'],
    ['/v2example', 'v1'], // element-wise: /v2 is not a prefix of /v2example
    ['/foo/v2/example', 'v1'],
    ['/trailing', 'api'], // a trailing / of the prefix is ignored
    ['/trailing/x', 'api'],
    ['/exact', 'exact'], // Exact beats PathPrefix of the same path
    ['/exact/', 'web'],
    ['/exact/more', 'web'],
    ['/EXACT', 'v1'], // case-sensitive
  ])('%s → %s', (path, expected) => {
    expect(matchRoute(routes, 'shop.example.com', path)?.service).toBe(expected);
  });
});

import { describe, expect, it } from '@jest/globals';
import { translateIngress, wildcardMatches, type IngressLike } from '../../../src/ingress/translate.js';
import { hostsSummary } from '../../../src/api/v1alpha1/gatewayroute.js';
import { NO_CROSS_NAMESPACE, resolvedRefsCondition, type ServiceLookup } from '../../../src/gatewayroute/backends.js';
import type { RouteSpec } from '../../../src/api/v1alpha1/types.js';

const only = (service: ServiceLookup) => ({ service, crossNamespace: NO_CROSS_NAMESPACE });

const svc = (name: string, port = 80) => ({ service: { name, port: { number: port } } });

function ingress(spec: IngressLike['spec'], annotations?: Record<string, string>): IngressLike {
  return { metadata: { name: 'web', namespace: 'shop', annotations }, spec };
}

interface Case {
  name: string;
  input: IngressLike;
  catchAll?: boolean;
  routes: Array<Partial<RouteSpec>>;
  accepted: [string, string];
  message?: RegExp;
}

const cases: Case[] = [
  {
    name: 'several rules and hosts, source order kept',
    input: ingress({
      rules: [
        { host: 'a.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: svc('a') }, { path: '/api', pathType: 'Prefix', backend: svc('api', 8080) }] } },
        { host: 'b.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: svc('b') }] } },
      ],
    }),
    routes: [
      { host: 'a.example.com', path: '/', backend: { service: 'a', port: { number: 80 } } },
      { host: 'a.example.com', path: '/api', backend: { service: 'api', port: { number: 8080 } } },
      { host: 'b.example.com', path: '/', backend: { service: 'b', port: { number: 80 } } },
    ],
    accepted: ['True', 'Accepted'],
  },
  {
    name: 'Prefix, Exact and ImplementationSpecific kept as given',
    input: ingress({
      rules: [{ host: 'a.example.com', http: { paths: [
        { path: '/p', pathType: 'Prefix', backend: svc('a') },
        { path: '/e', pathType: 'Exact', backend: svc('a') },
        { path: '/i', pathType: 'ImplementationSpecific', backend: svc('a') },
      ] } }],
    }),
    routes: [{ path: '/p', pathType: 'Prefix' }, { path: '/e', pathType: 'Exact' }, { path: '/i', pathType: 'ImplementationSpecific' }],
    accepted: ['True', 'Accepted'],
  },
  {
    name: 'empty path becomes /',
    input: ingress({ rules: [{ host: 'a.example.com', http: { paths: [{ pathType: 'Prefix', backend: svc('a') }] } }] }),
    routes: [{ path: '/', pathType: 'Prefix' }],
    accepted: ['True', 'Accepted'],
  },
  {
    name: 'defaultBackend without the catch-all flag is reported, not routed',
    input: ingress({ defaultBackend: svc('fallback'), rules: [{ host: 'a.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: svc('a') }] } }] }),
    routes: [{ host: 'a.example.com' }],
    accepted: ['True', 'PartiallyAccepted'],
    message: /defaultBackend: no host \(catch-all routes are disabled/,
  },
  {
    name: 'defaultBackend with the catch-all flag is a catch-all route',
    input: ingress({ defaultBackend: svc('fallback', 8080) }),
    catchAll: true,
    routes: [{ host: undefined, path: '/', pathType: 'Prefix', backend: { service: 'fallback', port: { number: 8080 } } }],
    accepted: ['True', 'Accepted'],
  },
  {
    name: 'resource backend drops only that path',
    input: ingress({ rules: [{ host: 'a.example.com', http: { paths: [
      { path: '/static', pathType: 'Prefix', backend: { resource: { kind: 'StorageBucket', name: 'assets' } } },
      { path: '/', pathType: 'Prefix', backend: svc('a') },
    ] } }] }),
    routes: [{ path: '/' }],
    accepted: ['True', 'PartiallyAccepted'],
    message: /rules\[0\]\.paths\[0\] \(\/static\): resource backend StorageBucket\/assets is not supported/,
  },
  {
    name: 'only unsupported paths → Accepted False',
    input: ingress({ rules: [{ host: 'a.example.com', http: { paths: [{ path: '/x', pathType: 'Prefix', backend: { resource: { kind: 'B', name: 'b' } } }] } }] }),
    routes: [],
    accepted: ['False', 'NoRoutes'],
  },
  {
    name: 'named ports stay named in the spec',
    input: ingress({ rules: [{ host: 'a.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'a', port: { name: 'http' } } } }] } }] }),
    routes: [{ backend: { service: 'a', port: { name: 'http' } } }],
    accepted: ['True', 'Accepted'],
  },
  {
    name: 'TLS only for listed hosts',
    input: ingress({
      tls: [{ hosts: ['a.example.com'], secretName: 'a-tls' }],
      rules: [
        { host: 'a.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: svc('a') }] } },
        { host: 'b.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: svc('b') }] } },
      ],
    }),
    routes: [{ host: 'a.example.com', tls: true }, { host: 'b.example.com', tls: false }],
    accepted: ['True', 'Accepted'],
  },
  {
    name: 'a TLS entry without hosts covers every rule host',
    input: ingress({
      tls: [{ secretName: 'all-tls' }],
      rules: [
        { host: 'a.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: svc('a') }] } },
        { host: 'b.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: svc('b') }] } },
      ],
    }),
    routes: [{ host: 'a.example.com', tls: true }, { host: 'b.example.com', tls: true }],
    accepted: ['True', 'Accepted'],
  },
  {
    name: 'wildcard hosts, covered by a wildcard TLS entry',
    input: ingress({
      tls: [{ hosts: ['*.example.com'], secretName: 'wild' }],
      rules: [{ host: '*.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: svc('a') }] } }],
    }),
    routes: [{ host: '*.example.com', tls: true }],
    accepted: ['True', 'Accepted'],
  },
  {
    name: 'rule without host needs the catch-all flag',
    input: ingress({ rules: [{ http: { paths: [{ path: '/', pathType: 'Prefix', backend: svc('a') }] } }] }),
    routes: [],
    accepted: ['False', 'NoRoutes'],
    message: /no host/,
  },
  {
    name: 'rule without host with the catch-all flag',
    input: ingress({ rules: [{ http: { paths: [{ path: '/', pathType: 'Prefix', backend: svc('a') }] } }] }),
    catchAll: true,
    routes: [{ host: undefined, path: '/' }],
    accepted: ['True', 'Accepted'],
  },
  {
    name: 'duplicate host + path + type keeps the first',
    input: ingress({ rules: [
      { host: 'a.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: svc('first') }] } },
      { host: 'a.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: svc('second') }] } },
    ] }),
    routes: [{ backend: { service: 'first', port: { number: 80 } } }],
    accepted: ['True', 'PartiallyAccepted'],
    message: /duplicate/,
  },
  {
    name: 'no rules at all',
    input: ingress({}),
    routes: [],
    accepted: ['False', 'NoRoutes'],
    message: /no rules/,
  },
];

describe('translateIngress', () => {
  it.each(cases)('$name', ({ input, catchAll, routes, accepted, message }) => {
    const result = translateIngress(input, { allowCatchAll: catchAll ?? false });
    expect(result.spec.routes).toHaveLength(routes.length);
    routes.forEach((expected, i) => {
      const actual = result.spec.routes?.[i] as unknown as Record<string, unknown>;
      for (const [key, value] of Object.entries(expected)) expect([key, actual[key]]).toEqual([key, value]);
    });
    expect([result.accepted.status, result.accepted.reason]).toEqual(accepted);
    if (message) expect(result.accepted.message).toMatch(message);
    expect(result.spec.source).toEqual({ kind: 'Ingress', name: 'web' });
  });

  it('is deterministic', () => {
    const input = cases[0]?.input as IngressLike;
    expect(translateIngress(input, { allowCatchAll: false })).toEqual(translateIngress(input, { allowCatchAll: false }));
  });

  it('takes the class from spec.ingressClassName, else the legacy annotation', () => {
    const rules = [{ host: 'a.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: svc('a') }] } }];
    expect(translateIngress(ingress({ ingressClassName: 'nginx', rules }), { allowCatchAll: false }).spec.ingressClassName).toBe('nginx');
    const legacy = ingress({ rules }, { 'kubernetes.io/ingress.class': 'traefik' });
    expect(translateIngress(legacy, { allowCatchAll: false }).spec.ingressClassName).toBe('traefik');
  });

  it('collects TLS secrets once, sorted', () => {
    const result = translateIngress(ingress({ tls: [{ secretName: 'b' }, { secretName: 'a' }, { secretName: 'b' }] }), { allowCatchAll: false });
    expect(result.spec.tlsSecrets).toEqual(['a', 'b']);
  });

  it('filters kubectl annotations', () => {
    const result = translateIngress(
      ingress({}, { 'kubectl.kubernetes.io/last-applied-configuration': '{}', 'nginx.ingress.kubernetes.io/rewrite-target': '/' }),
      { allowCatchAll: false },
    );
    expect(result.annotations).toEqual({ 'nginx.ingress.kubernetes.io/rewrite-target': '/' });
  });
});

describe('wildcardMatches', () => {
  it.each([
    ['*.example.com', 'a.example.com', true],
    ['*.example.com', 'example.com', false],
    ['*.example.com', 'a.b.example.com', false],
    ['*.example.com', '.example.com', false],
    ['*.example.com', 'aexample.com', false],
    ['a.example.com', 'a.example.com', true],
    ['a.example.com', 'b.example.com', false],
  ])('%s vs %s → %s', (pattern, host, expected) => {
    expect(wildcardMatches(pattern, host)).toBe(expected);
  });
});

describe('resolvedRefsCondition', () => {
  const routes: RouteSpec[] = [
    { host: 'a', path: '/', pathType: 'Prefix', backend: { service: 'web', port: { name: 'http' } } },
    { host: 'a', path: '/n', pathType: 'Prefix', backend: { service: 'web', port: { number: 9090 } } },
  ];
  const web = { metadata: { name: 'web' }, spec: { ports: [{ name: 'http', port: 8080 }, { port: 9090 }] } };
  it.each([
    { name: 'all present', services: { web }, status: 'True', reason: 'ResolvedRefs', message: /exist/ },
    { name: 'service missing', services: {}, status: 'False', reason: 'ServiceNotFound', message: /Service web not found/ },
    {
      name: 'ExternalName Service',
      services: { web: { ...web, spec: { ...web.spec, type: 'ExternalName' } } },
      status: 'False',
      reason: 'UnsupportedBackend',
      message: /Service web is of type ExternalName/,
    },
    {
      name: 'named port missing',
      services: { web: { ...web, spec: { ports: [{ name: 'grpc', port: 1 }, { port: 9090 }] } } },
      status: 'False',
      reason: 'PortNotFound',
      message: /port "http" not found on Service web/,
    },
  ])('$name', ({ services, status, reason, message }) => {
    const result = resolvedRefsCondition(routes, 'ns', only((_namespace, name) => (services as Record<string, typeof web>)[name]));
    expect([result.status, result.reason]).toEqual([status, reason]);
    expect(result.message).toMatch(message);
  });
});

describe('hostsSummary', () => {
  it('lists unique hosts in order, * for catch-all', () => {
    const r = (host?: string): RouteSpec => ({ ...(host ? { host } : {}), path: '/', pathType: 'Prefix', backend: { service: 's', port: { number: 1 } } });
    expect(hostsSummary([r('b.com'), r('a.com'), r('b.com'), r()])).toBe('b.com,a.com,*');
  });
});

// Every way a path is dropped, with the exact condition a user reads (kubectl describe) and the exact routes.
describe('translateIngress: the Accepted condition word for word', () => {
  const host = 'a.example.com';
  const ok = { path: '/', backend: svc('a') };
  const kept: RouteSpec = { host, path: '/', pathType: 'Prefix', backend: { service: 'a', port: { number: 80 } }, tls: false };
  const regex = (i: number) => ({ path: `/b${i}`, pathType: 'Regex', backend: svc('a') });
  const regexDropped = (i: number) => `rules[0].paths[${i}] (/b${i}): unsupported pathType Regex`;
  const tenRegex = Array.from({ length: 10 }, (_, i) => regexDropped(i)).join('; ');
  const table: Array<{ name: string; spec: IngressLike['spec']; catchAll?: boolean; routes: RouteSpec[]; status: string; reason: string; message: string }> = [
    {
      name: 'a path without a backend',
      spec: { rules: [{ host, http: { paths: [{ path: '/x', pathType: 'Prefix' }, ok] } }] },
      routes: [kept], status: 'True', reason: 'PartiallyAccepted',
      message: '1 route(s) accepted; dropped rules[0].paths[0] (/x): no backend Service',
    },
    {
      name: 'a resource backend without kind or name',
      spec: { rules: [{ host, http: { paths: [{ path: '/x', backend: { resource: {} } }, ok] } }] },
      routes: [kept], status: 'True', reason: 'PartiallyAccepted',
      message: '1 route(s) accepted; dropped rules[0].paths[0] (/x): resource backend / is not supported',
    },
    {
      name: 'a resource backend next to a Service',
      spec: { rules: [{ host, http: { paths: [{ path: '/x', backend: { ...svc('a'), resource: { kind: 'B', name: 'b' } } }, ok] } }] },
      routes: [kept], status: 'True', reason: 'PartiallyAccepted',
      message: '1 route(s) accepted; dropped rules[0].paths[0] (/x): resource backend B/b is not supported',
    },
    {
      name: 'port number and name both, neither, and an unknown pathType',
      spec: { rules: [{ host, http: { paths: [
        { path: '/x', backend: { service: { name: 'a', port: { number: 1, name: 'h' } } } },
        { path: '/y', backend: { service: { name: 'a' } } },
        { path: '/z', pathType: 'Regex', backend: svc('a') },
      ] } }] },
      routes: [], status: 'False', reason: 'NoRoutes',
      message: 'no usable paths: rules[0].paths[0] (/x): backend a must set exactly one of port.number or port.name; ' +
        'rules[0].paths[1] (/y): backend a must set exactly one of port.number or port.name; rules[0].paths[2] (/z): unsupported pathType Regex',
    },
    {
      name: 'a rule with a host and no http paths; a rule with neither is silent',
      spec: { rules: [{ host }, { host: 'b.example.com', http: { paths: [ok] } }, {}] },
      routes: [{ ...kept, host: 'b.example.com' }], status: 'True', reason: 'PartiallyAccepted',
      message: '1 route(s) accepted; dropped rules[0] (a.example.com): no http paths',
    },
    {
      name: 'a rule with empty http',
      spec: { rules: [{ host, http: {} }] },
      routes: [], status: 'False', reason: 'NoRoutes',
      message: 'no usable paths: rules[0] (a.example.com): no http paths',
    },
    {
      name: 'a catch-all rule and the defaultBackend on the same path: the first wins',
      spec: { defaultBackend: svc('d'), rules: [{ http: { paths: [{ path: '/', pathType: 'Prefix', backend: svc('a') }] } }] },
      catchAll: true,
      routes: [{ path: '/', pathType: 'Prefix', backend: { service: 'a', port: { number: 80 } }, tls: false }], status: 'True', reason: 'PartiallyAccepted',
      message: '1 route(s) accepted; dropped defaultBackend: duplicate of an earlier Prefix path / for every host',
    },
    {
      name: 'the same path with another pathType is not a duplicate',
      spec: { rules: [{ host, http: { paths: [ok, { path: '/', pathType: 'Exact', backend: svc('a') }] } }] },
      routes: [kept, { ...kept, pathType: 'Exact' }], status: 'True', reason: 'Accepted',
      message: '2 route(s) accepted',
    },
    {
      name: 'ten dropped paths are listed in full',
      spec: { rules: [{ host, http: { paths: Array.from({ length: 10 }, (_, i) => regex(i)) } }] },
      routes: [], status: 'False', reason: 'NoRoutes',
      message: `no usable paths: ${tenRegex}`,
    },
    {
      name: 'past ten dropped paths, the rest is counted',
      spec: { rules: [{ host, http: { paths: [...Array.from({ length: 12 }, (_, i) => regex(i)), { path: '/', backend: svc('a') }] } }] },
      routes: [kept], status: 'True', reason: 'PartiallyAccepted',
      message: `1 route(s) accepted; dropped ${tenRegex}; and 2 more`,
    },
    {
      name: 'a TLS entry covers hosts, never the catch-all',
      spec: { tls: [{ secretName: 's' }], rules: [{ http: { paths: [ok] } }, { host, http: { paths: [ok] } }] },
      catchAll: true,
      routes: [{ path: '/', pathType: 'Prefix', backend: { service: 'a', port: { number: 80 } }, tls: false }, { ...kept, tls: true }], status: 'True', reason: 'Accepted',
      message: '2 route(s) accepted',
    },
  ];
  it.each(table)('$name', ({ spec, catchAll, routes, status, reason, message }) => {
    const result = translateIngress(ingress(spec), { allowCatchAll: catchAll ?? false });
    expect(result.accepted).toEqual({ type: 'Accepted', status, reason, message });
    expect(result.spec.routes).toEqual(routes);
  });

  it('leaves out a host + path an older GatewayRoute serves, and names it', () => {
    const paths = [{ path: '/api', pathType: 'Prefix', backend: svc('a') }, { path: '/web', pathType: 'Prefix', backend: svc('a') }];
    const taken = (route: { host?: string; path: string; pathType: string }) =>
      route.path === '/api' && route.pathType === 'Prefix' ? `${route.host}${route.path} (Prefix) is already served by GatewayRoute shop/api` : undefined;
    const result = translateIngress(ingress({ rules: [{ host, http: { paths } }] }), { allowCatchAll: false, taken });
    expect(result.spec.routes?.map((r) => r.path)).toEqual(['/web']);
    expect(result.accepted).toEqual({
      type: 'Accepted',
      status: 'True',
      reason: 'PartiallyAccepted',
      message: `1 route(s) accepted; dropped rules[0].paths[0] (/api): ${host}/api (Prefix) is already served by GatewayRoute shop/api`,
    });
  });

  it('keeps the first 1,000 routes and names each one past the limit', () => {
    const paths = Array.from({ length: 1002 }, (_, i) => ({ path: `/p${i}`, pathType: 'Prefix', backend: svc('a') }));
    const result = translateIngress(ingress({ rules: [{ host, http: { paths } }] }), { allowCatchAll: false });
    expect(result.spec.routes).toHaveLength(1000);
    expect(result.spec.routes?.[999]?.path).toBe('/p999');
    expect(result.accepted.message).toBe('1000 route(s) accepted; dropped rules[0].paths[1000] (/p1000): more than 1000 routes; rules[0].paths[1001] (/p1001): more than 1000 routes');
  });

  it('names the Ingress as the source, without spec or metadata at all', () => {
    expect(translateIngress({}, { allowCatchAll: false })).toEqual({
      spec: { routes: [], source: { kind: 'Ingress', name: '' } },
      accepted: { type: 'Accepted', status: 'False', reason: 'NoRoutes', message: 'the Ingress has no rules' },
      annotations: {},
      ignored: [],
    });
  });

  it('carries user annotations sorted by key, and no class or TLS fields when there are none', () => {
    const result = translateIngress(ingress({ rules: [{ host, http: { paths: [ok] } }] }, { b: '1', a: '2', 'kubectl.kubernetes.io/restartedAt': 'x', c: '3' }), { allowCatchAll: false });
    expect(Object.keys(result.annotations)).toEqual(['a', 'b', 'c']);
    expect(Object.keys(result.spec)).toEqual(['routes', 'source']);
  });

  it('prefers spec.ingressClassName over the legacy annotation', () => {
    const both = translateIngress(ingress({ ingressClassName: 'nginx' }, { 'kubernetes.io/ingress.class': 'traefik' }), { allowCatchAll: false });
    expect(both.spec.ingressClassName).toBe('nginx');
  });
});

describe('resolvedRefsCondition: several problems', () => {
  it('reports the first, then how many more and which, each once', () => {
    const route = (path: string, service: string, port: RouteSpec['backend']['port']): RouteSpec => ({ host: 'a', path, pathType: 'Prefix', backend: { service, port } });
    const routes = [route('/', 'x', { name: 'http' }), route('/2', 'x', { name: 'http' }), route('/3', 'y', { number: 1 }), route('/4', 'web', { name: 'grpc' })];
    const web = { metadata: { name: 'web' }, spec: { ports: [{ name: 'http', port: 8080 }] } };
    expect(resolvedRefsCondition(routes, 'ns', only((_namespace, name) => (name === 'web' ? web : undefined)))).toEqual({
      type: 'ResolvedRefs', status: 'False', reason: 'ServiceNotFound',
      message: 'Service x not found (and 2 more: Service y not found; port "grpc" not found on Service web)',
    });
  });

  it('all present: the exact True condition', () => {
    expect(resolvedRefsCondition([], 'ns', only(() => undefined))).toEqual({ type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: 'all backend Services and ports exist' });
  });
});

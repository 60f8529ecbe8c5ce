import { describe, expect, it } from '@jest/globals';
import {
  hostsSummary,
  resolvedRefsCondition,
  translateIngress,
  wildcardMatches,
  type IngressLike,
} from '../../../src/ingress/translate.js';
import type { RouteSpec } from '../../../src/api/v1alpha1/types.js';

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
      name: 'named port missing',
      services: { web: { ...web, spec: { ports: [{ name: 'grpc', port: 1 }, { port: 9090 }] } } },
      status: 'False',
      reason: 'PortNotFound',
      message: /port "http" not found on Service web/,
    },
  ])('$name', ({ services, status, reason, message }) => {
    const result = resolvedRefsCondition(routes, (name) => (services as Record<string, typeof web>)[name]);
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

import { describe, expect, it } from '@jest/globals';
import { attachToGateway, intersectHostname, selectorMatches } from '../../../src/gatewayapi/attach.js';
import type { Gateway, HTTPRoute, Listener, ParentReference } from '../../../src/gatewayapi/types.js';

const listener = (name: string, extra: Partial<Listener> = {}): Listener => ({ name, port: 80, protocol: 'HTTP', ...extra });
const gateway = (listeners: Listener[], namespace = 'infra'): Gateway => ({
  metadata: { name: 'gw', namespace },
  spec: { gatewayClassName: 'tunnel', listeners },
});
const route = (namespace: string, hostnames?: string[]): HTTPRoute => ({
  metadata: { name: 'r', namespace },
  spec: { parentRefs: [{ name: 'gw', namespace: 'infra' }], ...(hostnames ? { hostnames } : {}) },
});
const labels: Record<string, Record<string, string>> = { team: { team: 'a', env: 'prod' }, other: { env: 'dev' } };
const attach = (r: HTTPRoute, g: Gateway, ref: ParentReference = { name: 'gw', namespace: 'infra' }) => attachToGateway(r, ref, g, { kind: 'HTTPRoute', namespaceLabels: (ns) => labels[ns] });

describe('attachToGateway', () => {
  it.each<[string, HTTPRoute, Gateway, ParentReference | undefined, unknown]>([
    ['same namespace by default', route('infra', ['a.com']), gateway([listener('http')]), undefined, { attached: true, listeners: ['http'], hosts: [{ host: 'a.com', tls: false }] }],
    ['another namespace refused by default (from: Same)', route('team', ['a.com']), gateway([listener('http')]), undefined, { attached: false, reason: 'NotAllowedByListeners' }],
    [
      'from: All',
      route('team', ['a.com']),
      gateway([listener('http', { allowedRoutes: { namespaces: { from: 'All' } } })]),
      undefined,
      { attached: true, listeners: ['http'] },
    ],
    [
      'from: Selector matching the namespace labels',
      route('team', ['a.com']),
      gateway([listener('http', { allowedRoutes: { namespaces: { from: 'Selector', selector: { matchLabels: { team: 'a' } } } } })]),
      undefined,
      { attached: true },
    ],
    [
      'from: Selector not matching',
      route('other', ['a.com']),
      gateway([listener('http', { allowedRoutes: { namespaces: { from: 'Selector', selector: { matchLabels: { team: 'a' } } } } })]),
      undefined,
      { attached: false, reason: 'NotAllowedByListeners' },
    ],
    ['from: None', route('infra', ['a.com']), gateway([listener('http', { allowedRoutes: { namespaces: { from: 'None' } } })]), undefined, { attached: false, reason: 'NotAllowedByListeners' }],
    [
      'kinds without HTTPRoute',
      route('infra', ['a.com']),
      gateway([listener('http', { allowedRoutes: { kinds: [{ kind: 'GRPCRoute' }] } })]),
      undefined,
      { attached: false, reason: 'NotAllowedByListeners' },
    ],
    ['a TCP listener carries no HTTPRoute', route('infra', ['a.com']), gateway([listener('tcp', { protocol: 'TCP' })]), undefined, { attached: false, reason: 'NotAllowedByListeners' }],
    ['sectionName names no listener', route('infra', ['a.com']), gateway([listener('http')]), { name: 'gw', namespace: 'infra', sectionName: 'https' }, { attached: false, reason: 'NoMatchingParent' }],
    ['port names no listener', route('infra', ['a.com']), gateway([listener('http')]), { name: 'gw', namespace: 'infra', port: 8080 }, { attached: false, reason: 'NoMatchingParent' }],
    [
      'sectionName picks one listener',
      route('infra', ['a.com']),
      gateway([listener('http'), listener('https', { protocol: 'HTTPS', port: 443 })]),
      { name: 'gw', namespace: 'infra', sectionName: 'https' },
      { attached: true, listeners: ['https'], hosts: [{ host: 'a.com', tls: true }] },
    ],
    [
      'HTTP and HTTPS listeners: the host is TLS',
      route('infra', ['a.com']),
      gateway([listener('http'), listener('https', { protocol: 'HTTPS', port: 443 })]),
      undefined,
      { attached: true, listeners: ['http', 'https'], hosts: [{ host: 'a.com', tls: true }] },
    ],
    [
      'a conflicted listener carries no routes (HTTP and HTTPS on one port)',
      route('infra', ['a.com']),
      gateway([listener('http', { port: 8443 }), listener('https', { protocol: 'HTTPS', port: 8443 })]),
      undefined,
      { attached: false, reason: 'NotAllowedByListeners' },
    ],
    [
      'listener hostname narrows a route without hostnames',
      route('infra'),
      gateway([listener('http', { hostname: 'shop.example.com' })]),
      undefined,
      { attached: true, hosts: [{ host: 'shop.example.com', tls: false }] },
    ],
    ['no hostname anywhere: every host', route('infra'), gateway([listener('http')]), undefined, { attached: true, hosts: [{ host: '', tls: false }] }],
    [
      'wildcard listener keeps the matching route hostnames only',
      route('infra', ['a.example.com', 'a.b.example.com', 'example.com', 'other.org']),
      gateway([listener('http', { hostname: '*.example.com' })]),
      undefined,
      { attached: true, hosts: [{ host: 'a.example.com', tls: false }, { host: 'a.b.example.com', tls: false }] },
    ],
    [
      'no hostname in common',
      route('infra', ['other.org']),
      gateway([listener('http', { hostname: 'shop.example.com' })]),
      undefined,
      { attached: false, reason: 'NoMatchingListenerHostname' },
    ],
  ])('%s', (_name, r, g, ref, expected) => {
    expect(attach(r, g, ref)).toMatchObject(expected as object);
  });
});

describe('attachToGateway: the route kind against allowedRoutes.kinds', () => {
  const kinds = (...names: string[]) => ({ kinds: names.map((kind) => ({ kind })) });
  it.each<[string, Listener, 'HTTPRoute' | 'GRPCRoute', boolean]>([
    ['a GRPCRoute on a listener without kinds', listener('http'), 'GRPCRoute', true],
    ['a GRPCRoute on an HTTPS listener', listener('https', { protocol: 'HTTPS', port: 443 }), 'GRPCRoute', true],
    ['a GRPCRoute where only HTTPRoutes are allowed', listener('http', { allowedRoutes: kinds('HTTPRoute') }), 'GRPCRoute', false],
    ['an HTTPRoute where only GRPCRoutes are allowed', listener('http', { allowedRoutes: kinds('GRPCRoute') }), 'HTTPRoute', false],
    ['a GRPCRoute where both are allowed', listener('http', { allowedRoutes: kinds('HTTPRoute', 'GRPCRoute') }), 'GRPCRoute', true],
    ['a GRPCRoute on a TCP listener', listener('tcp', { protocol: 'TCP' }), 'GRPCRoute', false],
  ])('%s', (_name, l, kind, attached) => {
    const result = attachToGateway(route('infra', ['a.com']), { name: 'gw', namespace: 'infra' }, gateway([l]), { kind, namespaceLabels: () => undefined });
    expect(result.attached).toBe(attached);
    if (!result.attached) expect(result).toMatchObject({ reason: 'NotAllowedByListeners', message: `Gateway infra/gw: no listener allows ${kind}s from namespace infra (protocol, allowedRoutes, conflicts)` });
  });
});

describe('intersectHostname', () => {
  it.each<[string | undefined, string, string | undefined]>([
    [undefined, 'a.com', 'a.com'],
    ['a.com', 'a.com', 'a.com'],
    ['a.com', 'b.com', undefined],
    ['*.example.com', 'x.example.com', 'x.example.com'],
    ['*.example.com', 'x.y.example.com', 'x.y.example.com'],
    ['*.example.com', 'example.com', undefined],
    ['x.example.com', '*.example.com', 'x.example.com'],
    ['*.example.com', '*.a.example.com', '*.a.example.com'],
    ['*.a.example.com', '*.example.com', '*.a.example.com'],
  ])('listener %s, route %s → %s', (l, r, expected) => {
    expect(intersectHostname(l, r)).toBe(expected);
  });
});

describe('selectorMatches', () => {
  const ns = { team: 'a', env: 'prod' };
  it.each<[string, Parameters<typeof selectorMatches>[0], boolean]>([
    ['no selector selects nothing', undefined, false],
    ['empty selector selects everything', {}, true],
    ['matchLabels', { matchLabels: { team: 'a' } }, true],
    ['matchLabels mismatch', { matchLabels: { team: 'b' } }, false],
    ['In', { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'stage'] }] }, true],
    ['NotIn', { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] }, false],
    ['NotIn on a missing key', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['x'] }] }, true],
    ['Exists', { matchExpressions: [{ key: 'team', operator: 'Exists' }] }, true],
    ['DoesNotExist', { matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] }, false],
  ])('%s', (_name, selector, expected) => {
    expect(selectorMatches(selector, ns)).toBe(expected);
  });
});

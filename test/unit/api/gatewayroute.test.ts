import { describe, expect, it } from '@jest/globals';
import { sourceStatus, sourceStatusChanged } from '../../../src/api/v1alpha1/gatewayroute.js';
import type { RouteSpec } from '../../../src/api/v1alpha1/types.js';

const route = (host?: string, path = '/'): RouteSpec => ({ host, path, pathType: 'Prefix', backend: { service: 'web', port: { number: 80 } } });

describe('sourceStatus', () => {
  it('says where the GatewayRoute comes from, its hosts and how many routes it holds', () => {
    expect(sourceStatus('Manual', [route('a.com'), route('a.com', '/api'), route()])).toEqual({ source: 'Manual', hosts: 'a.com,*', routeCount: 3 });
    expect(sourceStatus('Ingress', [])).toEqual({ source: 'Ingress', hosts: '', routeCount: 0 });
  });

  const next = sourceStatus('HTTPRoute', [route('a.com')]);
  it.each([
    { name: 'no status yet', current: undefined, changed: true },
    { name: 'the same fields, others aside', current: { ...next, routingMode: 'tunnel' as const }, changed: false },
    { name: 'written before status.source existed', current: { hosts: 'a.com', routeCount: 1 }, changed: true },
    { name: 'another source', current: { ...next, source: 'Manual' as const }, changed: true },
    { name: 'other hosts', current: { ...next, hosts: 'b.com' }, changed: true },
    { name: 'another count', current: { ...next, routeCount: 2 }, changed: true },
  ])('changed: $name → $changed', ({ current, changed }) => {
    expect(sourceStatusChanged(current, next)).toBe(changed);
  });
});

// The status an Ingress of our class should show, against the one it shows (src/ingress/status.ts): written
// only when they differ, never for another class.
import { describe, expect, it } from '@jest/globals';
import type { IngressClass } from '../../../src/ingress/class.js';
import { addressKey, desiredLoadBalancer, loadBalancerIngress, type IngressWithStatus, type LoadBalancerIngress } from '../../../src/ingress/status.js';

const OURS = 'gateway.pipeops.io/tunnel';
const classes: IngressClass[] = [
  { metadata: { name: 'pipeops-tunnel' }, spec: { controller: OURS } },
  { metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx' } },
];

function ingress(className: string | undefined, current?: LoadBalancerIngress[], extra: { annotations?: Record<string, string>; deletionTimestamp?: string } = {}): IngressWithStatus {
  return {
    metadata: { name: 'web', namespace: 'shop', uid: 'u1', annotations: extra.annotations, deletionTimestamp: extra.deletionTimestamp },
    spec: { ingressClassName: className },
    status: current === undefined ? {} : { loadBalancer: { ingress: current } },
  };
}

describe('loadBalancerIngress', () => {
  it.each([
    { address: { hostname: 'gw.example.com' }, expected: [{ hostname: 'gw.example.com' }] },
    { address: { ip: '203.0.113.10' }, expected: [{ ip: '203.0.113.10' }] },
    { address: { hostname: 'gw.example.com', ip: '203.0.113.10' }, expected: [{ hostname: 'gw.example.com', ip: '203.0.113.10' }] },
  ])('$address', ({ address, expected }) => {
    expect(loadBalancerIngress(address)).toEqual(expected);
  });
});

describe('desiredLoadBalancer', () => {
  const GW = { hostname: 'gw.example.com' };
  it.each<{ name: string; input: IngressWithStatus; address?: { hostname?: string; ip?: string }; expected: LoadBalancerIngress[] | undefined }>([
    { name: 'ours, empty status: write', input: ingress('pipeops-tunnel'), address: GW, expected: [GW] },
    { name: 'ours, empty list: write', input: ingress('pipeops-tunnel', []), address: GW, expected: [GW] },
    { name: 'ours, already shown: nothing', input: ingress('pipeops-tunnel', [{ hostname: 'gw.example.com' }]), address: GW, expected: undefined },
    { name: 'ours, another address shown: write', input: ingress('pipeops-tunnel', [{ hostname: 'old.example.com' }]), address: GW, expected: [GW] },
    { name: 'ours, the ip shown, the hostname wanted: write', input: ingress('pipeops-tunnel', [{ ip: '203.0.113.10' }]), address: GW, expected: [GW] },
    { name: 'ours, an extra entry shown: write', input: ingress('pipeops-tunnel', [{ hostname: 'gw.example.com' }, { ip: '10.0.0.1' }]), address: GW, expected: [GW] },
    { name: 'ours, with ports shown: write', input: ingress('pipeops-tunnel', [{ hostname: 'gw.example.com', ports: [{ port: 443 }] }]), address: GW, expected: [GW] },
    { name: 'ours, both fields, key order aside: nothing', input: ingress('pipeops-tunnel', [{ ip: '203.0.113.10', hostname: 'gw.example.com' }]), address: { hostname: 'gw.example.com', ip: '203.0.113.10' }, expected: undefined },
    { name: 'ours, no address known: nothing (left as it is)', input: ingress('pipeops-tunnel', [{ hostname: 'old.example.com' }]), address: undefined, expected: undefined },
    { name: 'ours, opted out: nothing', input: ingress('pipeops-tunnel', [], { annotations: { 'gateway.pipeops.io/exclude': 'true' } }), address: GW, expected: undefined },
    { name: 'ours, being deleted: nothing', input: ingress('pipeops-tunnel', [], { deletionTimestamp: '2024-01-01T00:00:00Z' }), address: GW, expected: undefined },
    { name: 'another class, empty: never', input: ingress('nginx'), address: GW, expected: undefined },
    { name: 'another class, its own address: never', input: ingress('nginx', [{ ip: '10.0.0.5' }]), address: GW, expected: undefined },
    { name: 'no class, no default: never', input: ingress(undefined), address: GW, expected: undefined },
    { name: 'a class that does not exist: never', input: ingress('ghost'), address: GW, expected: undefined },
  ])('$name', ({ input, address, expected }) => {
    expect(desiredLoadBalancer(input, { classes, controllerName: OURS, address })).toEqual(expected);
  });
});

describe('addressKey', () => {
  it('tells addresses apart, and none from any', () => {
    const keys = [undefined, { hostname: 'a.example.com' }, { ip: '203.0.113.10' }, { hostname: 'a.example.com', ip: '203.0.113.10' }].map(addressKey);
    expect(new Set(keys).size).toBe(keys.length);
    expect(addressKey({ hostname: 'a.example.com' })).toBe(addressKey({ hostname: 'a.example.com' }));
  });
});

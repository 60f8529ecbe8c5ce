import { describe, expect, it } from '@jest/globals';
import { controllerType, decide, labelledController, gatewayCandidate, gatewayCandidates, isPrivateAddress, publicEndpoint, trustedGateway, type GatewayLike, type IngressServiceLike } from '../../src/connectivity/detect.js';

describe('isPrivateAddress', () => {
  it.each([
    ['10.1.2.3', true], ['172.16.0.1', true], ['172.31.255.255', true], ['172.32.0.1', false], ['192.168.1.1', true],
    ['100.64.0.1', true], ['100.127.255.255', true], ['100.128.0.1', false], ['127.0.0.1', true], ['169.254.1.1', true],
    ['8.8.8.8', false], ['203.0.113.10', false], ['::1', true], ['fc00::1', true], ['fd12:3456::1', true], ['fe80::1', true],
    ['2001:db8::1', false], ['::ffff:10.0.0.1', true], ['not-an-ip', false],
  ])('%s → %s', (address, expected) => {
    expect(isPrivateAddress(address)).toBe(expected);
  });
});

describe('publicEndpoint', () => {
  it.each([
    { ports: [{ name: 'http', port: 80 }, { name: 'https', port: 443 }], expected: '1.2.3.4:443' },
    { ports: [{ name: 'web', port: 8000 }, { name: 'websecure', port: 8443 }], expected: '1.2.3.4:8443' },
    { ports: [{ name: 'web', port: 8000 }], expected: '1.2.3.4:8000' },
    { ports: [{ name: 'metrics', port: 9100 }], expected: '1.2.3.4:9100' },
  ])('$expected', ({ ports, expected }) => {
    expect(publicEndpoint('1.2.3.4', ports)).toBe(expected);
  });
});

describe('decide', () => {
  const svc = (type: string, ingress?: Array<{ ip?: string; hostname?: string }>): IngressServiceLike => ({
    metadata: { namespace: 'ingress-nginx', name: 'ingress-nginx-controller' },
    spec: { type, ports: [{ name: 'https', port: 443 }] },
    status: { loadBalancer: { ingress } },
  });
  it.each([
    { name: 'no Service', service: undefined, waited: 0, isPrivate: true, waiting: false, reason: /no ingress controller Service/ },
    { name: 'NodePort', service: svc('NodePort'), waited: 0, isPrivate: true, waiting: false, reason: /is NodePort/ },
    { name: 'LB waiting', service: svc('LoadBalancer'), waited: 1000, isPrivate: true, waiting: true, reason: /waiting up to 120 s/ },
    { name: 'LB timed out', service: svc('LoadBalancer'), waited: 120_000, isPrivate: true, waiting: false, reason: /no address within 120 s/ },
    { name: 'LB private IP', service: svc('LoadBalancer', [{ ip: '10.0.0.5' }]), waited: 0, isPrivate: true, waiting: false, reason: /private address 10.0.0.5/ },
    { name: 'LB public IP', service: svc('LoadBalancer', [{ ip: '203.0.113.7' }]), waited: 0, isPrivate: false, waiting: false, reason: /public address 203.0.113.7/ },
    { name: 'LB hostname that does not resolve here', service: svc('LoadBalancer', [{ hostname: 'lb.example.com' }]), waited: 0, isPrivate: true, waiting: false, reason: /lb.example.com, not resolvable from here/ },
  ])('$name', ({ service, waited, isPrivate, waiting, reason }) => {
    const d = decide(service, waited, 120_000);
    expect([d.isPrivate, d.routingMode, d.waiting]).toEqual([isPrivate, isPrivate ? 'tunnel' : 'direct', waiting]);
    expect(d.reason).toMatch(reason);
  });
  it.each([
    { name: 'hostname resolving to a public address', addresses: ['203.0.113.9'], isPrivate: false, reason: /public address lb.example.com \(resolves to 203.0.113.9\)/ },
    { name: 'hostname resolving to private and public', addresses: ['10.0.0.1', '203.0.113.9'], isPrivate: false, reason: /resolves to 10.0.0.1, 203.0.113.9/ },
    { name: 'hostname resolving only to private addresses (an internal load balancer)', addresses: ['10.0.0.1', 'fd00::1'], isPrivate: true, reason: /hostname lb.example.com resolving only to private addresses \(10.0.0.1, fd00::1\)/ },
    { name: 'hostname not resolvable here: kept private', addresses: undefined, isPrivate: true, reason: /not resolvable from here; kept private \(tunnel\)/ },
  ])('$name', ({ addresses, isPrivate, reason }) => {
    const d = decide(svc('LoadBalancer', [{ hostname: 'lb.example.com' }]), 0, 120_000, (h) => (h === 'lb.example.com' ? addresses : undefined));
    expect(d.isPrivate).toBe(isPrivate);
    expect(d.reason).toMatch(reason);
    expect(d.publicEndpoint).toBe(isPrivate ? undefined : 'lb.example.com:443');
  });
  it('a public IP wins over a hostname', () => {
    expect(decide(svc('LoadBalancer', [{ hostname: 'lb.example.com' }, { ip: '203.0.113.7' }]), 0, 1, () => ['10.0.0.1']).publicEndpoint).toBe('203.0.113.7:443');
  });
  it('gives the public endpoint host:port', () => {
    expect(decide(svc('LoadBalancer', [{ ip: '203.0.113.7' }]), 0, 1).publicEndpoint).toBe('203.0.113.7:443');
  });
});

import { findPrometheus } from '../../src/connectivity/prometheus.js';
import { identityCondition } from '../../src/connectivity/controller.js';

describe('findPrometheus', () => {
  const svc = (namespace: string, name: string, ports: Array<{ name?: string; port: number }>, labels?: Record<string, string>) => ({
    metadata: { namespace, name, labels },
    spec: { ports },
  });
  it.each([
    { name: 'none', services: [svc('default', 'web', [{ port: 80 }])], expected: undefined },
    {
      name: 'kube-prometheus-stack beats prometheus-operated',
      services: [svc('mon', 'prometheus-operated', [{ name: 'web', port: 9090 }]), svc('mon', 'kps-kube-prometheus-stack-prometheus', [{ name: 'http-web', port: 9090 }])],
      expected: 'http://kps-kube-prometheus-stack-prometheus.mon.svc:9090',
    },
    { name: 'prometheus-server on port 80', services: [svc('p', 'prometheus-server', [{ name: 'http', port: 80 }])], expected: 'http://prometheus-server.p.svc:80' },
    { name: 'by label', services: [svc('o', 'metrics', [{ port: 9090 }], { 'app.kubernetes.io/name': 'prometheus' })], expected: 'http://metrics.o.svc:9090' },
  ])('$name', ({ services, expected }) => {
    expect(findPrometheus(services)?.url).toBe(expected);
  });
  it('only in the configured namespaces', () => {
    expect(findPrometheus([svc('other', 'prometheus-server', [{ port: 80 }])], ['monitoring'])).toBeUndefined();
  });
});

describe('labelledController: labels are trusted only in the ingress controllers\' namespaces', () => {
  const labelled = (namespace: string): IngressServiceLike => ({ metadata: { namespace, name: 'x', labels: { 'app.kubernetes.io/name': 'ingress-nginx' } } });
  it.each([
    ['ingress-nginx', 'ingress-nginx'],
    ['kube-system', 'ingress-nginx'],
    ['envoy-gateway-system', 'ingress-nginx'],
    ['tenant-a', undefined],
    ['default', undefined],
  ])('%s → %s', (namespace, type) => expect(labelledController(labelled(namespace))).toBe(type));
});

describe('controllerType', () => {
  const service = (name: string, labels: Record<string, string> = {}): IngressServiceLike => ({ metadata: { name, namespace: 'x', labels } });
  it.each([
    [service('ingress-nginx-controller'), 'ingress-nginx'],
    [service('x', { 'app.kubernetes.io/name': 'ingress-nginx' }), 'ingress-nginx'],
    [service('traefik'), 'traefik'],
    [service('istio-ingressgateway'), 'istio'],
    [service('gw', { istio: 'ingressgateway' }), 'istio'],
    [service('envoy-default-eg-1a2b', { 'gateway.envoyproxy.io/owning-gateway-name': 'eg' }), 'envoy-gateway'],
    [service('nginx-gateway'), 'nginx-gateway-fabric'],
    [service('x', { 'gateway.nginx.org/gateway': 'gw' }), 'nginx-gateway-fabric'],
    [service('cilium-ingress'), 'cilium'],
    [service('cilium-gateway-web', { 'io.cilium.gateway/owning-gateway': 'web' }), 'cilium'],
    [service('something-else'), 'unknown'],
  ])('%o → %s', (svc, type) => expect(controllerType(svc)).toBe(type));
});

describe('a Gateway as a candidate', () => {
  const gateway = (addresses?: Array<{ type?: string; value: string }>): GatewayLike => ({
    metadata: { namespace: 'infra', name: 'eg' },
    spec: { listeners: [{ name: 'http', port: 80 }, { name: 'https', port: 443 }] },
    status: addresses ? { addresses } : {},
  });
  it.each<[string, GatewayLike, boolean | undefined, string | undefined]>([
    ['no addresses yet: not a candidate', gateway(), undefined, undefined],
    ['NamedAddress only: not a candidate', gateway([{ type: 'NamedAddress', value: 'pool-a' }]), undefined, undefined],
    ['a public IP (type defaults to IPAddress)', gateway([{ value: '198.51.100.30' }]), false, 'Gateway infra/eg has public address 198.51.100.30'],
    ['a private IP', gateway([{ type: 'IPAddress', value: '10.0.0.9' }]), true, 'Gateway infra/eg has only the private address 10.0.0.9'],
    ['a hostname resolving only to private addresses', gateway([{ type: 'Hostname', value: 'internal.lb' }]), true, 'Gateway infra/eg has hostname internal.lb resolving only to private addresses (10.0.0.5)'],
  ])('%s', (_name, gw, isPrivate, reason) => {
    const candidate = gatewayCandidate(gw);
    if (isPrivate === undefined) return expect(candidate).toBeUndefined();
    expect(controllerType(candidate!)).toBe('gateway-api');
    const decision = decide(candidate, 0, 120_000, (h) => (h === 'internal.lb' ? ['10.0.0.5'] : undefined));
    expect([decision.isPrivate, decision.reason]).toEqual([isPrivate, reason]);
    if (!isPrivate) expect(decision.publicEndpoint).toBe('198.51.100.30:443');
  });
});

describe('gatewayCandidates: Gateways decide only in the namespaces trusted for labelled Services', () => {
  const gateway = (namespace: string, name: string, value?: string): GatewayLike => ({
    metadata: { namespace, name },
    spec: { listeners: [{ name: 'https', port: 443 }] },
    status: value ? { addresses: [{ value }] } : {},
  });
  const firstPublic = (gateways: GatewayLike[]) => gatewayCandidates(gateways).map((c) => decide(c, 0, 120_000)).find((d) => !d.isPrivate);
  it.each<{ name: string; gateways: GatewayLike[]; candidates: string[]; endpoint?: string }>([
    { name: "a tenant's public Gateway alone: no candidate", gateways: [gateway('tenant-a', 'gw', '203.0.113.66')], candidates: [] },
    { name: "a tenant's public Gateway in default: no candidate", gateways: [gateway('default', 'gw', '203.0.113.66')], candidates: [] },
    { name: 'a trusted public Gateway decides', gateways: [gateway('envoy-gateway-system', 'eg', '198.51.100.30')], candidates: ['envoy-gateway-system/eg'], endpoint: '198.51.100.30:443' },
    {
      name: "a tenant's Gateway sorted first does not win over a trusted one",
      gateways: [gateway('gateway-system', 'eg', '198.51.100.30'), gateway('a-tenant', 'gw', '203.0.113.66')],
      candidates: ['gateway-system/eg'],
      endpoint: '198.51.100.30:443',
    },
    {
      name: "a tenant's public Gateway does not win over a trusted private one",
      gateways: [gateway('istio-system', 'internal', '10.0.0.9'), gateway('tenant-a', 'gw', '203.0.113.66')],
      candidates: ['istio-system/internal'],
    },
    { name: 'trusted ones sorted by namespace/name, those without addresses left out', gateways: [gateway('kube-system', 'b', '10.0.0.1'), gateway('kube-system', 'a'), gateway('gateway-system', 'z', '10.0.0.2')], candidates: ['gateway-system/z', 'kube-system/b'] },
    { name: 'a Gateway without a namespace: no candidate', gateways: [{ metadata: { name: 'gw' }, status: { addresses: [{ value: '203.0.113.66' }] } }], candidates: [] },
  ])('$name', ({ gateways, candidates, endpoint }) => {
    expect(gatewayCandidates(gateways).map((c) => `${c.metadata?.namespace}/${c.metadata?.name}`)).toEqual(candidates);
    expect(firstPublic(gateways)?.publicEndpoint).toBe(endpoint);
  });
  it.each([
    ['gateway-system', true],
    ['envoy-gateway-system', true],
    ['istio-system', true],
    ['kube-system', true],
    ['tenant-a', false],
    ['default', false],
    ['', false],
  ])('trustedGateway(%p) → %p, as labelledController for a Service there', (namespace, trusted) => {
    expect(trustedGateway(gateway(namespace, 'gw'))).toBe(trusted);
    expect(labelledController({ metadata: { namespace, name: 'x', labels: { 'app.kubernetes.io/name': 'traefik' } } }) !== undefined).toBe(trusted);
  });
});

describe('identityCondition', () => {
  it.each([
    { name: 'cached', status: { cached: true, fingerprint: 'u1' }, expected: ['True', 'Cached', /cached in the state ConfigMap/] },
    { name: 'not registered yet', status: {}, expected: ['Unknown', 'NotRegistered', /not registered/] },
    { name: 'not cached, resumed by fingerprint', status: { cached: false, fingerprint: 'u1', problem: 'ConfigMap x/y: create: namespaces "x" not found' }, expected: ['False', 'NotCached', /namespaces "x" not found; restarts resume this cluster by its fingerprint \(kube-system UID u1\)/] },
    { name: 'not cached, no fingerprint', status: { cached: false, problem: 'forbidden' }, expected: ['False', 'NotCached', /forbidden; the cluster fingerprint cannot be read either/] },
  ])('$name', ({ status, expected: [conditionStatus, reason, message] }) => {
    const condition = identityCondition(status);
    expect([condition.type, condition.status, condition.reason]).toEqual(['IdentityCached', conditionStatus, reason]);
    expect(condition.message).toMatch(message as RegExp);
  });
});

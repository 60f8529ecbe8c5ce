// BackendTLSPolicy, pure: CA bundles as the ConfigMap cache keeps them, what one policy says (conditions and
// what the tunnel is handed), which policy applies to a Service port, conflicts, and status.ancestors.
import { describe, expect, it } from '@jest/globals';
import { keepCaOnly, MAX_CA_BUNDLE_BYTES, parseCaBundle, type CaConfigMap } from '../../../src/gatewayapi/backendtls/ca.js';
import { conflictOf, evaluatePolicy, MAX_POLICY_CA_BYTES, policyForPort, SharedCaBundles, type BackendTLSPolicy } from '../../../src/gatewayapi/backendtls/policy.js';
import { ancestorsOf, MAX_ANCESTORS, updateAncestors } from '../../../src/gatewayapi/backendtls/status.js';
import type { GatewayRoute } from '../../../src/api/v1alpha1/types.js';
import { BackendResolver } from '../../../src/gatewayroute/backends.js';

// A self-signed EC CA (CN test-ca, valid until 2126), made with openssl for these tests.
const CA = `-----BEGIN CERTIFICATE-----
MIIBezCCASGgAwIBAgIUYwYLaH2CXWo1/J+wylBWvSj2jTIwCgYIKoZIzj0EAwIw
EjEQMA4GA1UEAwwHdGVzdC1jYTAgFw0yNjEyMDExMDUxNTZaGA8yMTI2MTEwNzEw
NTE1NlowEjEQMA4GA1UEAwwHdGVzdC1jYTBZMBMGByqGSM49AgEGCCqGSM49AwEH
A0IABEQBkjVUegnXnyWLJtCdg6WeGgTTyzfiWTGPP4FlyAL7W3Yi4IKPGTpBF/z4
j4vPxxgHtepsDk2ND+hZy9P2rdajUzBRMB0GA1UdDgQWBBSExPWcEAI5iu3b58xH
vGxU+W+fCjAfBgNVHSMEGDAWgBSExPWcEAI5iu3b58xHvGxU+W+fCjAPBgNVHRMB
Af8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIQCFQg+p70/A8JCtFIT8zvdrb7h1
13EC+cch2O+DH0RDNwIgTyAmD76LgUScCYaaEL0Yz+uDyeHPGQRJqE5A0FUAbYA=
-----END CERTIFICATE-----
`;

describe('parseCaBundle', () => {
  it.each<[string, string, ReturnType<typeof parseCaBundle>]>([
    ['one certificate', CA, { ok: true, pem: CA, certificates: 1 }],
    ['two, with comments and a stray key around them: only the certificates are kept', `# ours\n${CA}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n${CA}`, { ok: true, pem: `${CA}${CA}`, certificates: 2 }],
    ['empty', '', { ok: false, error: 'ca.crt holds no PEM certificate (-----BEGIN CERTIFICATE-----)' }],
    ['not PEM', 'hello', { ok: false, error: 'ca.crt holds no PEM certificate (-----BEGIN CERTIFICATE-----)' }],
    ['a private key only', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', { ok: false, error: 'ca.crt holds no PEM certificate (-----BEGIN CERTIFICATE-----)' }],
    ['a certificate block of garbage', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', { ok: false, error: expect.stringMatching(/^ca\.crt: certificate 1 of 1 cannot be parsed \(/) as unknown as string }],
    ['too large', 'x'.repeat(MAX_CA_BUNDLE_BYTES + 1), { ok: false, error: `ca.crt is ${MAX_CA_BUNDLE_BYTES + 1} bytes, more than the ${MAX_CA_BUNDLE_BYTES} a CA bundle may have` }],
  ])('%s', (_name, text, expected) => {
    expect(parseCaBundle(text)).toEqual(expected);
  });
});

describe('keepCaOnly (the ConfigMap cache transform)', () => {
  it('keeps the identity and the parsed ca.crt, nothing else', () => {
    const kept = keepCaOnly({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ca', namespace: 'shop', resourceVersion: '7', labels: { a: 'b' } } as never, data: { 'ca.crt': CA, 'dashboard.json': 'x'.repeat(100_000) } } as never);
    expect(kept).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ca', namespace: 'shop', resourceVersion: '7' }, ca: { ok: true, pem: CA, certificates: 1 } });
  });
  it('says when there is no ca.crt', () => {
    expect(keepCaOnly({ metadata: { name: 'other', namespace: 'shop' }, data: { x: 'y' } } as never).ca).toBeUndefined();
  });
});

// Just over half the per-policy limit: one fits, two together do not.
const BIG = CA.repeat(Math.ceil(MAX_POLICY_CA_BYTES / 2 / CA.length) + 1);
const configMaps: Record<string, CaConfigMap> = {
  'shop/ca': keepCaOnly({ metadata: { name: 'ca', namespace: 'shop' }, data: { 'ca.crt': CA } } as never),
  'shop/ca2': keepCaOnly({ metadata: { name: 'ca2', namespace: 'shop' }, data: { 'ca.crt': CA } } as never),
  'shop/big1': keepCaOnly({ metadata: { name: 'big1', namespace: 'shop', resourceVersion: '1' }, data: { 'ca.crt': BIG } } as never),
  'shop/big2': keepCaOnly({ metadata: { name: 'big2', namespace: 'shop', resourceVersion: '1' }, data: { 'ca.crt': BIG } } as never),
  'shop/empty': keepCaOnly({ metadata: { name: 'empty', namespace: 'shop' }, data: {} } as never),
  'shop/junk': keepCaOnly({ metadata: { name: 'junk', namespace: 'shop' }, data: { 'ca.crt': 'not a certificate' } } as never),
};
const lookup = (namespace: string, name: string) => configMaps[`${namespace}/${name}`];

function policy(name: string, validation: BackendTLSPolicy['spec']['validation'], extra: { created?: string; sectionName?: string; service?: string; options?: Record<string, string> } = {}): BackendTLSPolicy {
  return {
    metadata: { name, namespace: 'shop', creationTimestamp: extra.created ?? '2026-01-01T00:00:00Z' },
    spec: { targetRefs: [{ group: '', kind: 'Service', name: extra.service ?? 'web', ...(extra.sectionName ? { sectionName: extra.sectionName } : {}) }], validation, ...(extra.options ? { options: extra.options } : {}) },
  };
}
const ref = (name: string, kind = 'ConfigMap', group = '') => ({ group, kind, name });

describe('evaluatePolicy', () => {
  // validation, Accepted [status, reason], ResolvedRefs [status, reason], applied
  it.each<[string, BackendTLSPolicy['spec']['validation'], [string, string, string?], [string, string, string?], object]>([
    ['a CA ConfigMap', { hostname: 'web.internal', caCertificateRefs: [ref('ca')] }, ['True', 'Accepted'], ['True', 'ResolvedRefs'], { name: 'shop/p', hostname: 'web.internal', ca: CA }],
    ['the system roots', { hostname: 'web.internal', wellKnownCACertificates: 'System' }, ['True', 'Accepted'], ['True', 'ResolvedRefs'], { name: 'shop/p', hostname: 'web.internal' }],
    ['two CA ConfigMaps: one bundle', { hostname: 'web.internal', caCertificateRefs: [ref('ca'), ref('ca2')] }, ['True', 'Accepted'], ['True', 'ResolvedRefs'], { name: 'shop/p', hostname: 'web.internal', ca: CA + CA }],
    ['one ConfigMap named twice: read once', { hostname: 'web.internal', caCertificateRefs: [ref('ca'), ref('ca')] }, ['True', 'Accepted'], ['True', 'ResolvedRefs', '1 CA certificate reference(s) resolved'], { name: 'shop/p', hostname: 'web.internal', ca: CA }],
    [
      'CA ConfigMaps over the limit together: unusable, naming the limit',
      { hostname: 'web.internal', caCertificateRefs: [ref('big1'), ref('big2')] },
      ['False', 'Invalid', `validation.caCertificateRefs: the referenced CA certificates are ${2 * BIG.length} bytes together, more than the ${MAX_POLICY_CA_BYTES} one BackendTLSPolicy may use`],
      ['True', 'ResolvedRefs'],
      { name: 'shop/p', hostname: 'web.internal', error: `validation.caCertificateRefs: the referenced CA certificates are ${2 * BIG.length} bytes together, more than the ${MAX_POLICY_CA_BYTES} one BackendTLSPolicy may use` },
    ],
    ['one large ConfigMap named eight times: within the limit', { hostname: 'web.internal', caCertificateRefs: Array.from({ length: 8 }, () => ref('big1')) }, ['True', 'Accepted'], ['True', 'ResolvedRefs'], { name: 'shop/p', hostname: 'web.internal', ca: BIG }],
    ['a missing ConfigMap', { hostname: 'web.internal', caCertificateRefs: [ref('gone')] }, ['False', 'NoValidCACertificate'], ['False', 'InvalidCACertificateRef', 'validation.caCertificateRefs[0]: ConfigMap shop/gone not found'], { name: 'shop/p', hostname: 'web.internal', error: 'validation.caCertificateRefs[0]: ConfigMap shop/gone not found' }],
    ['a ConfigMap without ca.crt', { hostname: 'web.internal', caCertificateRefs: [ref('empty')] }, ['False', 'NoValidCACertificate'], ['False', 'InvalidCACertificateRef', 'validation.caCertificateRefs[0]: ConfigMap shop/empty has no key ca.crt'], { name: 'shop/p', hostname: 'web.internal', error: 'validation.caCertificateRefs[0]: ConfigMap shop/empty has no key ca.crt' }],
    ['a ca.crt that is no certificate', { hostname: 'web.internal', caCertificateRefs: [ref('junk')] }, ['False', 'NoValidCACertificate'], ['False', 'InvalidCACertificateRef', 'validation.caCertificateRefs[0]: ConfigMap shop/junk: ca.crt holds no PEM certificate (-----BEGIN CERTIFICATE-----)'], { name: 'shop/p', hostname: 'web.internal', error: 'validation.caCertificateRefs[0]: ConfigMap shop/junk: ca.crt holds no PEM certificate (-----BEGIN CERTIFICATE-----)' }],
    ['one good and one missing: accepted, but the backend is refused', { hostname: 'web.internal', caCertificateRefs: [ref('ca'), ref('gone')] }, ['True', 'Accepted'], ['False', 'InvalidCACertificateRef', 'validation.caCertificateRefs[1]: ConfigMap shop/gone not found'], { name: 'shop/p', hostname: 'web.internal', error: 'validation.caCertificateRefs[1]: ConfigMap shop/gone not found' }],
    ['a Secret reference', { hostname: 'web.internal', caCertificateRefs: [ref('ca', 'Secret')] }, ['False', 'NoValidCACertificate'], ['False', 'InvalidKind', 'validation.caCertificateRefs[0]: kind Secret is not supported (ConfigMap is)'], { name: 'shop/p', hostname: 'web.internal', error: 'validation.caCertificateRefs[0]: kind Secret is not supported (ConfigMap is)' }],
    ['subjectAltNames', { hostname: 'web.internal', caCertificateRefs: [ref('ca')], subjectAltNames: [{ type: 'Hostname', hostname: 'x' }] }, ['False', 'Invalid', 'validation.subjectAltNames is not supported: remove it to verify validation.hostname'], ['True', 'ResolvedRefs'], { name: 'shop/p', hostname: 'web.internal', error: 'validation.subjectAltNames is not supported: remove it to verify validation.hostname' }],
    ['another set of well-known CAs', { hostname: 'web.internal', wellKnownCACertificates: 'example.com/corp' }, ['False', 'Invalid', 'validation.wellKnownCACertificates "example.com/corp" is not supported (System is)'], ['True', 'ResolvedRefs'], { name: 'shop/p', hostname: 'web.internal', error: 'validation.wellKnownCACertificates "example.com/corp" is not supported (System is)' }],
  ])('%s', (_name, validation, accepted, resolvedRefs, applied) => {
    const result = evaluatePolicy(policy('p', validation), lookup);
    expect([result.accepted.status, result.accepted.reason]).toEqual(accepted.slice(0, 2));
    if (accepted[2]) expect(result.accepted.message).toBe(accepted[2]);
    expect([result.resolvedRefs.status, result.resolvedRefs.reason]).toEqual(resolvedRefs.slice(0, 2));
    if (resolvedRefs[2]) expect(result.resolvedRefs.message).toBe(resolvedRefs[2]);
    expect(result.applied).toEqual(applied);
  });

  it('policies naming the same ConfigMaps at the same versions share one bundle string; it is dropped with its last user', () => {
    const shared = new SharedCaBundles();
    const evaluate = (p: BackendTLSPolicy) => evaluatePolicy(p, lookup, { bundle: (parts) => shared.bundleFor(`shop/${p.metadata.name}`, parts) }).applied.ca;
    const first = evaluate(policy('first', { hostname: 'h', caCertificateRefs: [ref('ca'), ref('big1')] }));
    const second = evaluate(policy('second', { hostname: 'h', caCertificateRefs: [ref('big1'), ref('ca')] }));
    expect(first).toBe(CA + BIG); // sorted by ConfigMap, whatever the order of the references
    expect(second).toBe(first);
    expect(shared.size).toBe(1);
    // Another version of a ConfigMap is another bundle; the old one goes when its last user moves on.
    const newer: Record<string, CaConfigMap> = { ...configMaps, 'shop/ca': { ...configMaps['shop/ca']!, metadata: { ...configMaps['shop/ca']!.metadata, resourceVersion: '2' } } };
    evaluatePolicy(policy('first', { hostname: 'h', caCertificateRefs: [ref('ca'), ref('big1')] }), (ns, name) => newer[`${ns}/${name}`], { bundle: (parts) => shared.bundleFor('shop/first', parts) });
    expect(shared.size).toBe(2);
    shared.release('shop/second');
    expect(shared.size).toBe(1);
    shared.release('shop/first');
    expect(shared.size).toBe(0);
  });

  it('says that options are ignored', () => {
    expect(evaluatePolicy(policy('p', { hostname: 'h', wellKnownCACertificates: 'System' }, { options: { 'example.com/min-tls': '1.3' } }), lookup).accepted.message).toMatch(/; options are ignored$/);
  });
});

describe('which policy applies, and conflicts', () => {
  const system = { hostname: 'h', wellKnownCACertificates: 'System' };
  const older = policy('zeta', system, { created: '2026-01-01T00:00:00Z' });
  const newer = policy('alpha', system, { created: '2026-01-02T00:00:00Z' });
  const sameTimeFirst = policy('beta', system, { created: '2026-01-03T00:00:00Z', service: 'api' });
  const sameTimeSecond = policy('gamma', system, { created: '2026-01-03T00:00:00Z', service: 'api' });
  const forPort = policy('port', system, { created: '2026-01-05T00:00:00Z', sectionName: 'https' });
  const other = policy('other', system, { service: 'db' });

  it.each<[string, BackendTLSPolicy[], string, { name?: string }, BackendTLSPolicy | undefined]>([
    ['none', [], 'web', {}, undefined],
    ['one', [newer], 'web', { name: 'https' }, newer],
    ['the older wins, whatever the names', [newer, older], 'web', {}, older],
    ['as old: namespace/name decides', [sameTimeSecond, sameTimeFirst], 'api', {}, sameTimeFirst],
    ['a policy for the port beats older ones for the whole Service', [older, forPort], 'web', { name: 'https' }, forPort],
    ['a policy for a port does not apply to another port', [forPort], 'web', { name: 'http' }, undefined],
    ['a policy for a port does not apply to an unnamed port', [forPort], 'web', {}, undefined],
    ['another Service', [other], 'web', {}, undefined],
  ])('%s', (_name, candidates, service, port, expected) => {
    expect(policyForPort(candidates, service, port)).toBe(expected);
  });

  it.each<[string, BackendTLSPolicy, BackendTLSPolicy[], string | undefined]>([
    ['the older is not conflicted', older, [older, newer], undefined],
    ['the newer is Conflicted, naming the winner', newer, [older, newer], 'BackendTLSPolicy shop/zeta applies to Service shop/web: it is older (or, as old, first by namespace/name)'],
    ['as old: the second by name is Conflicted', sameTimeSecond, [sameTimeFirst, sameTimeSecond], 'BackendTLSPolicy shop/beta applies to Service shop/api: it is older (or, as old, first by namespace/name)'],
    ['a port policy does not conflict with a whole-Service one', forPort, [older, forPort], undefined],
    ['alone', newer, [newer], undefined],
  ])('%s', (_name, subject, candidates, message) => {
    const conflict = conflictOf(subject, candidates);
    expect(conflict && [conflict.status, conflict.reason, conflict.message]).toEqual(message ? ['False', 'Conflicted', message] : undefined);
  });
});

describe('status.ancestors', () => {
  const controllerName = 'gateway.pipeops.io/tunnel';
  const gatewayRoute = (name: string, service: string, owner?: { kind: string; apiVersion: string }, namespace = 'shop'): GatewayRoute => ({
    apiVersion: 'gateway.pipeops.io/v1alpha1',
    kind: 'GatewayRoute',
    metadata: { name, namespace, ...(owner ? { ownerReferences: [{ ...owner, name, uid: 'u', controller: true }] } : {}) },
    spec: { routes: [{ host: 'a.example.com', path: '/', pathType: 'Prefix', backend: { service, port: { number: 443 }, ...(namespace !== 'shop' ? { namespace: 'shop' } : {}) } }] },
  });
  // Service shop/web (and any other of shop) has port 443.
  const backends = new BackendResolver((namespace) => (namespace === 'shop' ? { spec: { ports: [{ name: 'https', port: 443 }] } } : undefined));
  const lookups = {
    controllerName,
    backends,
    gatewayRoutesUsing: (key: string) =>
      key === 'shop/web' ? [gatewayRoute('from-ingress', 'web', { kind: 'Ingress', apiVersion: 'networking.k8s.io/v1' }), gatewayRoute('from-httproute', 'web', { kind: 'HTTPRoute', apiVersion: 'gateway.networking.k8s.io/v1' })] : [],
    usesPort: () => true,
    route: () => ({
      metadata: { name: 'from-httproute', namespace: 'shop' },
      spec: {},
      status: {
        parents: [
          { parentRef: { name: 'ours' }, controllerName, conditions: [{ type: 'Accepted', status: 'True' as const, reason: 'Accepted', message: '', lastTransitionTime: '' }] },
          { parentRef: { name: 'not-attached' }, controllerName, conditions: [{ type: 'Accepted', status: 'False' as const, reason: 'NotAllowedByListeners', message: '', lastTransitionTime: '' }] },
          { parentRef: { name: 'theirs' }, controllerName: 'example.com/other', conditions: [{ type: 'Accepted', status: 'True' as const, reason: 'Accepted', message: '', lastTransitionTime: '' }] },
        ],
      },
    }),
  };

  it('the Gateways of ours an HTTPRoute is attached to, and the GatewayRoute of an Ingress', () => {
    expect(ancestorsOf(policy('p', { hostname: 'h', wellKnownCACertificates: 'System' }), lookups)).toEqual([
      { group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'shop', name: 'ours' },
      { group: 'gateway.pipeops.io', kind: 'GatewayRoute', namespace: 'shop', name: 'from-ingress' },
    ]);
    expect(ancestorsOf(policy('p', { hostname: 'h', wellKnownCACertificates: 'System' }, { service: 'unused' }), lookups)).toEqual([]);
  });

  it('a GatewayRoute of another namespace is an ancestor only when a ReferenceGrant lets it use the Service', () => {
    const tenants = Array.from({ length: MAX_ANCESTORS }, (_, i) => gatewayRoute(`squatter${i}`, 'web', undefined, `tenant${i}`));
    const granted = new BackendResolver(backends.service);
    const withTenants = (resolver: BackendResolver) => ({ ...lookups, backends: resolver, gatewayRoutesUsing: (key: string) => [...lookups.gatewayRoutesUsing(key), ...(key === 'shop/web' ? tenants : [])] });
    const ours = [
      { group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'shop', name: 'ours' },
      { group: 'gateway.pipeops.io', kind: 'GatewayRoute', namespace: 'shop', name: 'from-ingress' },
    ];
    const target = policy('p', { hostname: 'h', wellKnownCACertificates: 'System' });
    expect(ancestorsOf(target, withTenants(granted))).toEqual(ours);
    granted.permitCrossNamespace((from, to, service) => from === 'tenant3' && to === 'shop' && service === 'web');
    expect(ancestorsOf(target, withTenants(granted))).toEqual([...ours, { group: 'gateway.pipeops.io', kind: 'GatewayRoute', namespace: 'tenant3', name: 'squatter3' }]);
  });

  const conditions = [{ type: 'Accepted', status: 'True' as const, reason: 'Accepted', message: 'ok' }];
  const now = new Date('2026-02-01T00:00:00Z');
  const theirs = { ancestorRef: { name: 'gw' }, controllerName: 'example.com/other', conditions: [] };

  it("keeps other controllers' entries, and says when nothing changed", () => {
    const first = updateAncestors({ previous: [theirs], refs: [{ name: 'a' }], conditions, controllerName, generation: 1, now });
    expect(first.changed).toBe(true);
    expect(first.ancestors.map((a) => [a.controllerName, a.ancestorRef.name])).toEqual([['example.com/other', 'gw'], [controllerName, 'a']]);
    expect(updateAncestors({ previous: first.ancestors, refs: [{ name: 'a' }], conditions, controllerName, generation: 1, now: new Date() }).changed).toBe(false);
    const gone = updateAncestors({ previous: first.ancestors, refs: [], conditions, controllerName, generation: 1, now });
    expect([gone.changed, gone.ancestors]).toEqual([true, [theirs]]);
  });

  it('adds none past 16 entries', () => {
    const previous = Array.from({ length: 10 }, (_, i) => ({ ...theirs, ancestorRef: { name: `gw${i}` } }));
    const update = updateAncestors({ previous, refs: Array.from({ length: 10 }, (_, i) => ({ name: `ours${i}` })), conditions, controllerName, generation: 1, now });
    expect([update.ancestors.length, update.left]).toEqual([MAX_ANCESTORS, 4]);
  });
});

// The one rule for how a backend is dialled: every precedence case of the two questions (TLS or not, HTTP/2
// or not), the certificate checks, the opt-out, and a policy that cannot be used.
import { describe, expect, it } from '@jest/globals';
import { chooseBackendTransport, type AppliedTlsPolicy, type BackendTransport, type TransportInputs } from '../../../src/routing/backend-transport.js';

const SERVICE_HOST = 'web.shop.svc.cluster.local';
const policy: AppliedTlsPolicy = { name: 'shop/web-tls', hostname: 'web.internal', ca: '-----BEGIN CERTIFICATE-----…' };
const systemRoots: AppliedTlsPolicy = { name: 'shop/public', hostname: 'api.example.com' };
const verified = (servername: string, source: string, ca?: string): BackendTransport['tls'] => ({ servername, verify: true, source, ...(ca ? { ca } : {}) });

type Case = [name: string, inputs: Omit<TransportInputs, 'serviceHost'>, transport: BackendTransport, explanation: string];

const cases: Case[] = [
  // Nothing said: HTTP/1.1 cleartext.
  ['nothing set', {}, { protocol: 'HTTP' }, 'HTTP'],
  ['an appProtocol this rule does not read', { appProtocol: 'mysql' }, { protocol: 'HTTP' }, 'HTTP'],
  // The Service port's appProtocol alone.
  ['appProtocol kubernetes.io/h2c', { appProtocol: 'kubernetes.io/h2c' }, { protocol: 'H2C' }, 'H2C (appProtocol kubernetes.io/h2c)'],
  ['appProtocol grpc', { appProtocol: 'grpc' }, { protocol: 'H2C' }, 'H2C (appProtocol grpc)'],
  ['appProtocol is compared case-insensitively', { appProtocol: 'HTTP2' }, { protocol: 'H2C' }, 'H2C (appProtocol HTTP2)'],
  ['appProtocol https', { appProtocol: 'https' }, { protocol: 'HTTPS', tls: verified(SERVICE_HOST, 'appProtocol https') }, 'HTTPS (appProtocol https)'],
  ['appProtocol kubernetes.io/wss', { appProtocol: 'kubernetes.io/wss' }, { protocol: 'HTTPS', tls: verified(SERVICE_HOST, 'appProtocol kubernetes.io/wss') }, 'HTTPS (appProtocol kubernetes.io/wss)'],
  ['appProtocol grpcs', { appProtocol: 'grpcs' }, { protocol: 'H2', tls: verified(SERVICE_HOST, 'appProtocol grpcs') }, 'H2 (appProtocol grpcs)'],
  ['appProtocol h2', { appProtocol: 'h2' }, { protocol: 'H2', tls: verified(SERVICE_HOST, 'appProtocol h2') }, 'H2 (appProtocol h2)'],
  ['appProtocol http says plain', { appProtocol: 'http' }, { protocol: 'HTTP' }, 'HTTP (appProtocol http)'],
  // The route's protocol beats appProtocol for HTTP/2 or not, and can add TLS.
  ['route H2C', { routeProtocol: 'H2C' }, { protocol: 'H2C' }, 'H2C (route protocol H2C)'],
  ['route H2', { routeProtocol: 'H2' }, { protocol: 'H2', tls: verified(SERVICE_HOST, 'route protocol H2') }, 'H2 (route protocol H2)'],
  ['route HTTP over appProtocol h2c', { routeProtocol: 'HTTP', appProtocol: 'kubernetes.io/h2c' }, { protocol: 'HTTP' }, "HTTP (route protocol HTTP; appProtocol kubernetes.io/h2c ignored: the route's protocol wins)"],
  ['route HTTPS over appProtocol h2c (HTTP/1.1 wins too)', { routeProtocol: 'HTTPS', appProtocol: 'kubernetes.io/h2c' }, { protocol: 'HTTPS', tls: verified(SERVICE_HOST, 'route protocol HTTPS') }, "HTTPS (route protocol HTTPS; appProtocol kubernetes.io/h2c ignored: the route's protocol wins)"],
  ['route HTTPS over appProtocol grpcs: HTTP/1.1 from the route, TLS from both', { routeProtocol: 'HTTPS', appProtocol: 'grpcs' }, { protocol: 'HTTPS', tls: verified(SERVICE_HOST, 'route protocol HTTPS') }, "HTTPS (route protocol HTTPS; appProtocol grpcs (its HTTP/2) ignored: the route's protocol wins)"],
  // TLS when any source asks for it: a cleartext route protocol never downgrades a port that serves TLS.
  ['route H2C over appProtocol https: TLS stays (H2)', { routeProtocol: 'H2C', appProtocol: 'https' }, { protocol: 'H2', tls: verified(SERVICE_HOST, 'appProtocol https') }, "H2 (route protocol H2C; appProtocol https (TLS wins over the route's H2C; its HTTP/1.1 ignored: the route's protocol wins))"],
  ['route H2C over appProtocol grpcs (a GRPCRoute to a TLS port): H2', { routeProtocol: 'H2C', appProtocol: 'grpcs' }, { protocol: 'H2', tls: verified(SERVICE_HOST, 'appProtocol grpcs') }, "H2 (route protocol H2C; appProtocol grpcs (TLS wins over the route's H2C))"],
  ['route H2C over appProtocol kubernetes.io/wss: H2', { routeProtocol: 'H2C', appProtocol: 'kubernetes.io/wss' }, { protocol: 'H2', tls: verified(SERVICE_HOST, 'appProtocol kubernetes.io/wss') }, "H2 (route protocol H2C; appProtocol kubernetes.io/wss (TLS wins over the route's H2C; its HTTP/1.1 ignored: the route's protocol wins))"],
  ['route HTTP over appProtocol https: HTTPS', { routeProtocol: 'HTTP', appProtocol: 'https' }, { protocol: 'HTTPS', tls: verified(SERVICE_HOST, 'appProtocol https') }, "HTTPS (appProtocol https (TLS wins over the route's HTTP))"],
  ['route HTTP over appProtocol h2: HTTP/1.1 from the route, TLS from appProtocol', { routeProtocol: 'HTTP', appProtocol: 'h2' }, { protocol: 'HTTPS', tls: verified(SERVICE_HOST, 'appProtocol h2') }, "HTTPS (appProtocol h2 (TLS wins over the route's HTTP; its HTTP/2 ignored: the route's protocol wins))"],
  ['route H2 over appProtocol http: the route adds TLS', { routeProtocol: 'H2', appProtocol: 'http' }, { protocol: 'H2', tls: verified(SERVICE_HOST, 'route protocol H2') }, "H2 (route protocol H2; appProtocol http ignored: the route's protocol wins)"],
  ['route and appProtocol agree', { routeProtocol: 'H2C', appProtocol: 'grpc' }, { protocol: 'H2C' }, 'H2C (route protocol H2C)'],
  // A BackendTLSPolicy makes it TLS whatever the route or appProtocol say; HTTP/2 stays theirs.
  ['a policy alone', { policy }, { protocol: 'HTTPS', tls: verified('web.internal', 'BackendTLSPolicy shop/web-tls', policy.ca) }, 'HTTPS (BackendTLSPolicy shop/web-tls)'],
  ['a policy with wellKnownCACertificates System: the system roots', { policy: systemRoots }, { protocol: 'HTTPS', tls: verified('api.example.com', 'BackendTLSPolicy shop/public') }, 'HTTPS (BackendTLSPolicy shop/public)'],
  ['a policy over the route HTTP', { routeProtocol: 'HTTP', policy }, { protocol: 'HTTPS', tls: verified('web.internal', 'BackendTLSPolicy shop/web-tls', policy.ca) }, "HTTPS (BackendTLSPolicy shop/web-tls (wins over the route's HTTP))"],
  ['a policy over the route H2C: H2', { routeProtocol: 'H2C', policy }, { protocol: 'H2', tls: verified('web.internal', 'BackendTLSPolicy shop/web-tls', policy.ca) }, "H2 (route protocol H2C; BackendTLSPolicy shop/web-tls (wins over the route's H2C))"],
  ['a policy and the route H2 agree', { routeProtocol: 'H2', policy }, { protocol: 'H2', tls: verified('web.internal', 'BackendTLSPolicy shop/web-tls', policy.ca) }, 'H2 (route protocol H2; BackendTLSPolicy shop/web-tls)'],
  ['a policy over appProtocol h2c: H2', { appProtocol: 'kubernetes.io/h2c', policy }, { protocol: 'H2', tls: verified('web.internal', 'BackendTLSPolicy shop/web-tls', policy.ca) }, 'H2 (BackendTLSPolicy shop/web-tls; appProtocol kubernetes.io/h2c)'],
  ['a policy, the route HTTP over appProtocol h2 (HTTP/1.1 from the route)', { routeProtocol: 'HTTP', appProtocol: 'h2', policy }, { protocol: 'HTTPS', tls: verified('web.internal', 'BackendTLSPolicy shop/web-tls', policy.ca) }, "HTTPS (BackendTLSPolicy shop/web-tls (wins over the route's HTTP); appProtocol h2 (TLS wins over the route's HTTP; its HTTP/2 ignored: the route's protocol wins))"],
  // Verification and the explicit opt-out.
  ['the opt-out on a TLS route', { routeProtocol: 'HTTPS', insecureSkipVerify: true }, { protocol: 'HTTPS', tls: { servername: SERVICE_HOST, verify: false, source: 'route protocol HTTPS' } }, 'HTTPS (route protocol HTTPS; certificate NOT verified (insecureSkipVerify))'],
  ['the opt-out on appProtocol https', { appProtocol: 'https', insecureSkipVerify: true }, { protocol: 'HTTPS', tls: { servername: SERVICE_HOST, verify: false, source: 'appProtocol https' } }, 'HTTPS (appProtocol https; certificate NOT verified (insecureSkipVerify))'],
  ['insecureSkipVerify false verifies', { routeProtocol: 'H2', insecureSkipVerify: false }, { protocol: 'H2', tls: verified(SERVICE_HOST, 'route protocol H2') }, 'H2 (route protocol H2)'],
  ['the opt-out cannot undo a policy', { policy, insecureSkipVerify: true }, { protocol: 'HTTPS', tls: verified('web.internal', 'BackendTLSPolicy shop/web-tls', policy.ca) }, 'HTTPS (BackendTLSPolicy shop/web-tls; insecureSkipVerify ignored: BackendTLSPolicy shop/web-tls verifies)'],
  // The opt-out is for the Service's own namespace: a route granted another namespace's Service still verifies.
  ['the opt-out across namespaces is ignored, and said why', { routeProtocol: 'HTTPS', insecureSkipVerify: true, crossNamespace: { from: 'tenant', to: 'shop' } }, { protocol: 'HTTPS', tls: verified(SERVICE_HOST, 'route protocol HTTPS') }, "HTTPS (route protocol HTTPS; insecureSkipVerify ignored: the Service is in namespace shop, not the GatewayRoute's tenant (only routes of the Service's own namespace may skip verification))"],
  ['the opt-out across namespaces on appProtocol https is ignored', { appProtocol: 'https', insecureSkipVerify: true, crossNamespace: { from: 'tenant', to: 'shop' } }, { protocol: 'HTTPS', tls: verified(SERVICE_HOST, 'appProtocol https') }, "HTTPS (appProtocol https; insecureSkipVerify ignored: the Service is in namespace shop, not the GatewayRoute's tenant (only routes of the Service's own namespace may skip verification))"],
  ['across namespaces without the opt-out: nothing to say', { routeProtocol: 'H2', crossNamespace: { from: 'tenant', to: 'shop' } }, { protocol: 'H2', tls: verified(SERVICE_HOST, 'route protocol H2') }, 'H2 (route protocol H2)'],
  ['the opt-out on cleartext is said to do nothing', { insecureSkipVerify: true }, { protocol: 'HTTP' }, 'HTTP (insecureSkipVerify has no effect: cleartext)'],
];

describe('chooseBackendTransport', () => {
  it.each(cases)('%s', (_name, inputs, transport, explanation) => {
    expect(chooseBackendTransport({ ...inputs, serviceHost: SERVICE_HOST })).toEqual({ ok: true, transport, explanation });
  });

  // A policy that cannot be used refuses the backend, whatever else says TLS or cleartext: never plaintext, never the system roots.
  it.each<[string, Omit<TransportInputs, 'serviceHost' | 'policy'>]>([
    ['alone', {}],
    ['with the route HTTP', { routeProtocol: 'HTTP' }],
    ['with the route HTTPS and the opt-out', { routeProtocol: 'HTTPS', insecureSkipVerify: true }],
    ['with appProtocol https', { appProtocol: 'https' }],
  ])('an unusable policy refuses the backend (%s)', (_name, inputs) => {
    const broken: AppliedTlsPolicy = { name: 'shop/web-tls', hostname: 'web.internal', error: 'ConfigMap shop/ca not found' };
    expect(chooseBackendTransport({ ...inputs, policy: broken, serviceHost: SERVICE_HOST })).toEqual({
      ok: false,
      error: 'BackendTLSPolicy shop/web-tls cannot be used: ConfigMap shop/ca not found',
    });
  });

  it('TLS settings are present exactly when the protocol is HTTPS or H2', () => {
    const inputs: Array<Omit<TransportInputs, 'serviceHost'>> = cases.map(([, i]) => i);
    for (const input of inputs) {
      const choice = chooseBackendTransport({ ...input, serviceHost: SERVICE_HOST });
      if (!choice.ok) throw new Error(choice.error);
      expect(choice.transport.tls !== undefined).toBe(choice.transport.protocol === 'HTTPS' || choice.transport.protocol === 'H2');
    }
  });
});

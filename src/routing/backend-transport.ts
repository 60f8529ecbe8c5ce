// How the tunnel speaks to a route's backend: HTTP/1.1 or HTTP/2, cleartext or TLS, and how a TLS backend's
// certificate is checked. Chosen by the operator from standard fields (see chooseBackendTransport, and the
// README's "Backend protocols" table); the tunnel only dials what it is given. Kept out of the wire routes:
// a CA bundle is the cluster's business, not the control plane's.

/** HTTP: HTTP/1.1 cleartext; HTTPS: HTTP/1.1 over TLS; H2C: HTTP/2 cleartext (prior knowledge); H2: HTTP/2 over TLS (ALPN h2). */
export type BackendProtocol = 'HTTP' | 'HTTPS' | 'H2C' | 'H2';
export const BACKEND_PROTOCOLS: readonly BackendProtocol[] = ['HTTP', 'HTTPS', 'H2C', 'H2'];

export interface BackendTls {
  /** The name the certificate must carry, also sent as SNI. */
  servername: string;
  /** PEM bundle of the CAs to trust; undefined: the system roots. */
  ca?: string;
  /** False only by the explicit opt-out: the certificate is not checked at all. */
  verify: boolean;
  /** What chose these settings, for errors and logs: e.g. `BackendTLSPolicy shop/web-tls`. */
  source: string;
}

export interface BackendTransport {
  protocol: BackendProtocol;
  /** Present exactly when protocol is HTTPS or H2. */
  tls?: BackendTls;
}

export const PLAIN_HTTP: BackendTransport = { protocol: 'HTTP' };

export const isHttp2 = (protocol: BackendProtocol): boolean => protocol === 'H2C' || protocol === 'H2';
export const isTls = (protocol: BackendProtocol): boolean => protocol === 'HTTPS' || protocol === 'H2';

/** A BackendTLSPolicy that applies to the backend's Service port, as the resolver read it. */
export interface AppliedTlsPolicy {
  /** "namespace/name", for messages. */
  name: string;
  hostname: string;
  /** PEM bundle from its caCertificateRefs; undefined: wellKnownCACertificates System. */
  ca?: string;
  /** Why it cannot be used (a missing or malformed CA ConfigMap): the backend is then not dialled at all. */
  error?: string;
}

export interface TransportInputs {
  /** The GatewayRoute route's backend.protocol (from an annotation or a GRPCRoute), when set. */
  routeProtocol?: BackendProtocol;
  /** The route's backend.tls.insecureSkipVerify. */
  insecureSkipVerify?: boolean;
  /** The Service port's appProtocol. */
  appProtocol?: string;
  policy?: AppliedTlsPolicy;
  /** The Service's cluster DNS name: the certificate name checked when no BackendTLSPolicy names one. */
  serviceHost: string;
}

export type TransportChoice =
  | { ok: true; transport: BackendTransport; /** What decided, for the GatewayRoute's status: e.g. "H2 (BackendTLSPolicy shop/web-tls; appProtocol kubernetes.io/h2c)". */ explanation: string }
  | { ok: false; error: string };

// appProtocol values (Kubernetes' own, Gateway API GEP-1911, and the IANA / mesh names users already write).
const HTTP2_APP_PROTOCOLS = new Set(['kubernetes.io/h2c', 'h2c', 'http2', 'grpc']);
const TLS_APP_PROTOCOLS = new Set(['https', 'kubernetes.io/wss', 'grpcs', 'h2']);
const HTTP2_TLS_APP_PROTOCOLS = new Set(['grpcs', 'h2']);
const PLAIN_APP_PROTOCOLS = new Set(['http', 'kubernetes.io/ws']);

const protocolOf = (http2: boolean, tls: boolean): BackendProtocol => (http2 ? (tls ? 'H2' : 'H2C') : tls ? 'HTTPS' : 'HTTP');

/** What a known appProtocol says (compared lower-case); undefined for a value this rule does not read. */
function appProtocolSays(appProtocol: string | undefined): { http2: boolean; tls: boolean } | undefined {
  const app = appProtocol?.toLowerCase();
  if (!app) return undefined;
  const http2 = HTTP2_APP_PROTOCOLS.has(app) || HTTP2_TLS_APP_PROTOCOLS.has(app);
  const tls = TLS_APP_PROTOCOLS.has(app);
  return http2 || tls || PLAIN_APP_PROTOCOLS.has(app) ? { http2, tls } : undefined;
}

/**
 * The one rule for how a backend is dialled. Precedence, for each of the two questions:
 * - TLS or not: a BackendTLSPolicy for the Service port (the Service owner's statement that it serves TLS)
 *   beats the route's protocol, which beats the port's appProtocol; default cleartext.
 * - HTTP/2 or HTTP/1.1: the route's protocol beats the port's appProtocol; default HTTP/1.1.
 * TLS verifies the certificate (the policy's hostname and CA, else the Service's DNS name and the system
 * roots) unless the route opts out explicitly; a BackendTLSPolicy's verification cannot be opted out of
 * (it is the Service owner's, and a route may come from another namespace).
 * A policy that cannot be used (its `error`) refuses the backend: never plaintext, never the system roots.
 */
export function chooseBackendTransport(inputs: TransportInputs): TransportChoice {
  const { routeProtocol, appProtocol, policy } = inputs;
  if (policy?.error) return { ok: false, error: `BackendTLSPolicy ${policy.name} cannot be used: ${policy.error}` };
  const app = appProtocolSays(appProtocol);
  const http2 = routeProtocol ? isHttp2(routeProtocol) : (app?.http2 ?? false);
  const tls = policy ? true : routeProtocol ? isTls(routeProtocol) : (app?.tls ?? false);

  const reasons: string[] = [];
  // The route's protocol is named where it decided something: always, except an HTTP the policy overrules
  // (HTTP/1.1 is the default anyway, and the policy's entry says it won).
  const policyOverrulesRoute = policy !== undefined && routeProtocol !== undefined && !isTls(routeProtocol);
  if (routeProtocol && !(policyOverrulesRoute && routeProtocol === 'HTTP')) reasons.push(`route protocol ${routeProtocol}`);
  if (policy) reasons.push(`BackendTLSPolicy ${policy.name}${policyOverrulesRoute ? ` (wins over the route's ${routeProtocol})` : ''}`);
  if (app) {
    const overruled = routeProtocol !== undefined && (app.http2 !== http2 || (!policy && app.tls !== tls));
    if (overruled) reasons.push(`appProtocol ${appProtocol} ignored: the route's protocol wins`);
    else if (!routeProtocol) reasons.push(`appProtocol ${appProtocol}`);
  }

  const transport: BackendTransport = { protocol: protocolOf(http2, tls) };
  if (tls) {
    const optOut = inputs.insecureSkipVerify === true;
    const verify = !optOut || policy !== undefined;
    transport.tls = {
      servername: policy?.hostname ?? inputs.serviceHost,
      verify,
      source: policy ? `BackendTLSPolicy ${policy.name}` : (reasons[0] ?? 'the route'),
      ...(policy?.ca !== undefined ? { ca: policy.ca } : {}),
    };
    if (!verify) reasons.push('certificate NOT verified (insecureSkipVerify)');
    else if (optOut) reasons.push(`insecureSkipVerify ignored: BackendTLSPolicy ${policy?.name ?? ''} verifies`);
  } else if (inputs.insecureSkipVerify === true) {
    reasons.push('insecureSkipVerify has no effect: cleartext');
  }
  return { ok: true, transport, explanation: `${transport.protocol}${reasons.length ? ` (${reasons.join('; ')})` : ''}` };
}

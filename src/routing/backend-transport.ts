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
  /**
   * Set when the backend Service is in another namespace than the GatewayRoute (a ReferenceGrant allowed it):
   * the route may use the Service, but not switch off the check of its certificate.
   */
  crossNamespace?: { from: string; to: string };
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
 * The one rule for how a backend is dialled. For each of the two questions:
 * - TLS or not: TLS when any source asks for it: a BackendTLSPolicy for the Service port, the route's protocol
 *   (HTTPS, H2), or the port's appProtocol (https, kubernetes.io/wss, grpcs, h2); default cleartext. A route
 *   can add TLS, never remove it: a cleartext route protocol does not downgrade a port that serves TLS.
 * - HTTP/2 or HTTP/1.1: the route's protocol beats the port's appProtocol; default HTTP/1.1.
 * TLS verifies the certificate (the policy's hostname and CA, else the Service's DNS name and the system
 * roots) unless the route opts out explicitly. The opt-out is not honoured for a BackendTLSPolicy (the Service
 * owner's statement) nor for a Service in another namespace than the GatewayRoute (its owner did not ask).
 * A policy that cannot be used (its `error`) refuses the backend: never plaintext, never the system roots.
 */
export function chooseBackendTransport(inputs: TransportInputs): TransportChoice {
  const { routeProtocol, appProtocol, policy } = inputs;
  if (policy?.error) return { ok: false, error: `BackendTLSPolicy ${policy.name} cannot be used: ${policy.error}` };
  const app = appProtocolSays(appProtocol);
  const http2 = routeProtocol ? isHttp2(routeProtocol) : (app?.http2 ?? false);
  const routeTls = routeProtocol !== undefined && isTls(routeProtocol);
  const tls = policy !== undefined || routeTls || app?.tls === true;
  const reasons = decidingSources({ routeProtocol, appProtocol, app, policy, http2, tls });
  const transport: BackendTransport = { protocol: protocolOf(http2, tls) };
  if (tls) {
    const verification = verificationOf(inputs);
    transport.tls = {
      servername: policy?.hostname ?? inputs.serviceHost,
      verify: verification.verify,
      source: policy ? `BackendTLSPolicy ${policy.name}` : routeTls ? `route protocol ${routeProtocol}` : `appProtocol ${appProtocol}`,
      ...(policy?.ca !== undefined ? { ca: policy.ca } : {}),
    };
    if (verification.said) reasons.push(verification.said);
  } else if (inputs.insecureSkipVerify === true) {
    reasons.push('insecureSkipVerify has no effect: cleartext');
  }
  return { ok: true, transport, explanation: `${transport.protocol}${reasons.length ? ` (${reasons.join('; ')})` : ''}` };
}

/**
 * Each source that decided a half, and what of a source was overruled. A cleartext route protocol with TLS
 * from elsewhere is named by the TLS source ("wins over the route's H2C"); the route's own entry is left out
 * only for HTTP, which decided nothing then (HTTP/1.1 is the default).
 */
function decidingSources(said: {
  routeProtocol?: BackendProtocol;
  appProtocol?: string;
  app?: { http2: boolean; tls: boolean };
  policy?: AppliedTlsPolicy;
  http2: boolean;
  tls: boolean;
}): string[] {
  const { routeProtocol, appProtocol, app, policy, http2, tls } = said;
  const routeCleartext = routeProtocol !== undefined && !isTls(routeProtocol);
  const reasons: string[] = [];
  if (routeProtocol && !(routeProtocol === 'HTTP' && tls)) reasons.push(`route protocol ${routeProtocol}`);
  if (policy) reasons.push(`BackendTLSPolicy ${policy.name}${routeCleartext ? ` (wins over the route's ${routeProtocol})` : ''}`);
  if (!app) return reasons;
  if (!routeProtocol) {
    reasons.push(`appProtocol ${appProtocol}`);
    return reasons;
  }
  const addsTls = app.tls && routeCleartext;
  const http2Overruled = app.http2 !== http2;
  if (addsTls) reasons.push(`appProtocol ${appProtocol} (TLS wins over the route's ${routeProtocol}${http2Overruled ? `; its ${app.http2 ? 'HTTP/2' : 'HTTP/1.1'} ignored: the route's protocol wins` : ''})`);
  else if (http2Overruled) reasons.push(`appProtocol ${appProtocol} ${app.tls ? `(its ${app.http2 ? 'HTTP/2' : 'HTTP/1.1'}) ` : ''}ignored: the route's protocol wins`);
  return reasons;
}

/** Whether a TLS backend's certificate is checked, and what the status says about the opt-out. */
function verificationOf({ insecureSkipVerify, policy, crossNamespace }: TransportInputs): { verify: boolean; said?: string } {
  if (insecureSkipVerify !== true) return { verify: true };
  if (policy) return { verify: true, said: `insecureSkipVerify ignored: BackendTLSPolicy ${policy.name} verifies` };
  if (crossNamespace) {
    return {
      verify: true,
      said: `insecureSkipVerify ignored: the Service is in namespace ${crossNamespace.to}, not the GatewayRoute's ${crossNamespace.from} (only routes of the Service's own namespace may skip verification)`,
    };
  }
  return { verify: false, said: 'certificate NOT verified (insecureSkipVerify)' };
}

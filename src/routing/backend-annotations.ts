// Annotations that say how a source's backends are dialled, read into GatewayRoute backend fields, pure:
// ingress-nginx's backend-protocol (on Ingresses) and our TLS opt-out (on Ingresses and HTTPRoutes). A value
// that cannot be honoured is not applied and is named in what comes back, for the status and an Event.
import type { RouteSpec } from '../api/v1alpha1/types.js';
import type { BackendProtocol } from './backend-transport.js';

export const BACKEND_PROTOCOL_ANNOTATION = 'nginx.ingress.kubernetes.io/backend-protocol';
export const INSECURE_SKIP_VERIFY_ANNOTATION = 'gateway.pipeops.io/backend-tls-insecure-skip-verify';

/** ingress-nginx's values (upper-cased) → ours. AUTO_HTTP and FCGI have no equivalent here. */
const NGINX_PROTOCOLS: Readonly<Record<string, BackendProtocol>> = { HTTP: 'HTTP', HTTPS: 'HTTPS', GRPC: 'H2C', GRPCS: 'H2', H2C: 'H2C' };

/** How much of a tenant's value a message repeats: annotations may be 256 KiB. */
const SHOWN_VALUE_CHARS = 64;

export interface BackendSettings {
  protocol?: BackendProtocol;
  insecureSkipVerify?: true;
}

export interface BackendAnnotations {
  settings: BackendSettings;
  /** One message per annotation not applied, naming it and its value. */
  ignored: string[];
}

export interface BackendAnnotationOptions {
  /** Read nginx.ingress.kubernetes.io/backend-protocol (Ingresses only: an HTTPRoute says it with a GRPCRoute). */
  backendProtocol: boolean;
}

function shown(value: string): string {
  return JSON.stringify(value.length > SHOWN_VALUE_CHARS ? `${value.slice(0, SHOWN_VALUE_CHARS)}…` : value);
}

/** The backend settings these annotations ask for, and the ones that cannot be applied. */
export function readBackendAnnotations(annotations: Readonly<Record<string, string>> | undefined, options: BackendAnnotationOptions): BackendAnnotations {
  const settings: BackendSettings = {};
  const ignored: string[] = [];
  const protocol = options.backendProtocol ? annotations?.[BACKEND_PROTOCOL_ANNOTATION] : undefined;
  if (protocol !== undefined) {
    const ours = Object.hasOwn(NGINX_PROTOCOLS, protocol.trim().toUpperCase()) ? NGINX_PROTOCOLS[protocol.trim().toUpperCase()] : undefined;
    if (ours) settings.protocol = ours;
    else ignored.push(`annotation ${BACKEND_PROTOCOL_ANNOTATION}: ${shown(protocol)} is not supported (HTTP, HTTPS, GRPC, GRPCS and H2C are); backends are dialled as without it`);
  }
  const skipVerify = annotations?.[INSECURE_SKIP_VERIFY_ANNOTATION];
  if (skipVerify !== undefined) {
    const value = skipVerify.trim().toLowerCase();
    if (value === 'true') settings.insecureSkipVerify = true;
    else if (value !== 'false') ignored.push(`annotation ${INSECURE_SKIP_VERIFY_ANNOTATION}: ${shown(skipVerify)} is neither "true" nor "false"; certificates are verified`);
  }
  return { settings, ignored };
}

/** `backend` with the settings applied (a new object; unset settings leave their fields out). */
export function withBackendSettings(backend: RouteSpec['backend'], settings: BackendSettings): RouteSpec['backend'] {
  return {
    ...backend,
    ...(settings.protocol ? { protocol: settings.protocol } : {}),
    ...(settings.insecureSkipVerify ? { tls: { insecureSkipVerify: true } } : {}),
  };
}

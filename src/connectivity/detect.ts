// Private or public? Decided from the ingress controller's Service and from the addresses Gateway API
// implementations publish on their Gateways, pure: a LoadBalancer (or Gateway) with a public address, or a
// hostname that resolves to one, is public; NodePort, ClusterIP, no Service, a private address, a hostname
// resolving only to private addresses, or no address after the wait is private.
import type { RoutingMode } from '../api/v1alpha1/types.js';

export interface ServicePort {
  name?: string;
  port: number;
}

export interface IngressServiceLike {
  /** 'Gateway' when this stands for a Gateway API Gateway (see gatewayCandidate). */
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  spec?: { type?: string; ports?: ServicePort[] };
  status?: { loadBalancer?: { ingress?: Array<{ ip?: string; hostname?: string }> } };
}

/** Where to look, in order, before falling back to labels (CONTROLLER_LABELS). */
export const CANDIDATES: ReadonlyArray<{ namespace: string; name: string }> = [
  { namespace: 'ingress-nginx', name: 'ingress-nginx-controller' },
  { namespace: 'kube-system', name: 'rke2-ingress-nginx-controller' },
  { namespace: 'kube-system', name: 'traefik' },
  { namespace: 'traefik', name: 'traefik' },
  { namespace: 'istio-system', name: 'istio-ingressgateway' },
  { namespace: 'nginx-gateway', name: 'nginx-gateway' },
  { namespace: 'kube-system', name: 'cilium-ingress' },
];

/** Labels that mark an ingress controller's (or Gateway's data plane) Service, and the kind they mean. */
export const CONTROLLER_LABELS: ReadonlyArray<{ label: string; value?: string; type: string }> = [
  { label: 'app.kubernetes.io/name', value: 'ingress-nginx', type: 'ingress-nginx' },
  { label: 'app.kubernetes.io/name', value: 'traefik', type: 'traefik' },
  { label: 'gateway.envoyproxy.io/owning-gateway-name', type: 'envoy-gateway' },
  { label: 'istio', value: 'ingressgateway', type: 'istio' },
  { label: 'app.kubernetes.io/name', value: 'nginx-gateway', type: 'nginx-gateway-fabric' },
  { label: 'gateway.nginx.org/gateway', type: 'nginx-gateway-fabric' },
  { label: 'cilium.io/ingress', type: 'cilium' },
  { label: 'io.cilium.gateway/owning-gateway', type: 'cilium' },
];

/**
 * The namespaces whose labelled Services and whose Gateways are trusted to decide: where ingress controllers
 * and Gateway data planes are installed, never a tenant's namespace (a tenant's LoadBalancer labelled
 * ingress-nginx, or a tenant's Gateway with a public address, must not decide the cluster's routing).
 * Anything else is named in spec.ingressService, or forced with spec.mode.
 */
export const TRUSTED_NAMESPACES: ReadonlySet<string> = new Set([...CANDIDATES.map((c) => c.namespace), 'envoy-gateway-system', 'gateway-system']);

/** The kind of controller a Service's labels say it belongs to, if any; only in TRUSTED_NAMESPACES. */
export function labelledController(service: IngressServiceLike): string | undefined {
  if (!TRUSTED_NAMESPACES.has(service.metadata?.namespace ?? '')) return undefined;
  return labelledType(service);
}

function labelledType(service: IngressServiceLike): string | undefined {
  const labels = service.metadata?.labels ?? {};
  return CONTROLLER_LABELS.find((m) => m.label in labels && (m.value === undefined || labels[m.label] === m.value))?.type;
}

function ipv4(address: string): number[] | undefined {
  const parts = address.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.map(Number);
}

/** RFC 1918, 100.64/10 (CGNAT), 127/8, 169.254/16, fc00::/7, fe80::/10, ::1. */
export function isPrivateAddress(address: string): boolean {
  const v4 = ipv4(address.startsWith('::ffff:') ? address.slice(7) : address);
  if (v4) {
    const [a = 0, b = 0] = v4;
    return a === 10 || a === 127 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127) || (a === 169 && b === 254);
  }
  const lower = address.toLowerCase();
  if (!lower.includes(':')) return false;
  if (lower === '::1') return true;
  const first = parseInt(lower.split(':')[0] || '0', 16);
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80;
}

export function controllerType(service: IngressServiceLike): string {
  if (service.kind === 'Gateway') return 'gateway-api';
  const labelled = labelledType(service);
  if (labelled) return labelled;
  const name = service.metadata?.name ?? '';
  if (name.includes('istio')) return 'istio';
  if (name.includes('cilium')) return 'cilium';
  if (name === 'nginx-gateway') return 'nginx-gateway-fabric';
  if (name.includes('nginx')) return 'ingress-nginx';
  if (name.includes('traefik')) return 'traefik';
  return 'unknown';
}

/** host:port of the public endpoint, preferring 443/https/websecure, then 80/http/web. */
export function publicEndpoint(host: string, ports: readonly ServicePort[] = []): string {
  const pick = (numbers: number[], names: string[]) => ports.find((p) => numbers.includes(p.port) || names.includes(p.name ?? ''));
  const port = pick([443], ['https', 'websecure']) ?? pick([80], ['http', 'web']) ?? ports[0];
  const shown = host.includes(':') ? `[${host}]` : host;
  return port ? `${shown}:${port.port}` : shown;
}

export interface Decision {
  isPrivate: boolean;
  routingMode: RoutingMode;
  publicEndpoint?: string;
  reason: string;
  /** Still waiting for a LoadBalancer address; decide again after the remaining time. */
  waiting: boolean;
}

/**
 * @param resolved what a LoadBalancer hostname resolves to (undefined: not resolved, e.g. no DNS here): a
 *   hostname is judged by its addresses, so an internal load balancer's name is private.
 */
export function decide(service: IngressServiceLike | undefined, waitedMs: number, timeoutMs: number, resolved: (hostname: string) => readonly string[] | undefined = () => undefined): Decision {
  const priv = (reason: string, waiting = false): Decision => ({ isPrivate: true, routingMode: 'tunnel', reason, waiting });
  if (!service) return priv('no ingress controller Service found');
  const what = service.kind === 'Gateway' ? 'Gateway' : 'LoadBalancer';
  const where = `${service.metadata?.namespace}/${service.metadata?.name}`;
  const type = service.spec?.type ?? 'ClusterIP';
  if (type !== 'LoadBalancer') return priv(`Service ${where} is ${type}, not LoadBalancer`);
  const ingress = service.status?.loadBalancer?.ingress ?? [];
  const publicIp = ingress.find((i) => i.ip && !isPrivateAddress(i.ip))?.ip;
  if (publicIp) {
    return { isPrivate: false, routingMode: 'direct', publicEndpoint: publicEndpoint(publicIp, service.spec?.ports), reason: `${what} ${where} has public address ${publicIp}`, waiting: false };
  }
  const hostnames = ingress.flatMap((i) => (i.hostname ? [i.hostname] : []));
  const judged = hostnames.map((hostname) => ({ hostname, addresses: resolved(hostname) }));
  const publicName = judged.find((h) => h.addresses?.some((a) => !isPrivateAddress(a)));
  if (publicName) {
    const how = ` (resolves to ${publicName.addresses?.join(', ')})`;
    return { isPrivate: false, routingMode: 'direct', publicEndpoint: publicEndpoint(publicName.hostname, service.spec?.ports), reason: `${what} ${where} has public address ${publicName.hostname}${how}`, waiting: false };
  }
  // A name that does not resolve proves nothing: the tunnel works either way, a wrong "direct" does not.
  const unresolved = judged.find((h) => h.addresses === undefined);
  if (unresolved) return priv(`${what} ${where} has hostname ${unresolved.hostname}, not resolvable from here; kept private (tunnel) until it resolves to a public address`);
  if (judged.length) {
    const [first] = judged as [{ hostname: string; addresses: readonly string[] }];
    return priv(`${what} ${where} has hostname ${first.hostname} resolving only to private addresses (${first.addresses.join(', ')})`);
  }
  const privateIp = ingress.find((i) => i.ip)?.ip;
  if (privateIp) return priv(`${what} ${where} has only the private address ${privateIp}`);
  if (waitedMs < timeoutMs) return priv(`LoadBalancer ${where} has no address yet; waiting up to ${Math.round(timeoutMs / 1000)} s`, true);
  return priv(`LoadBalancer ${where} got no address within ${Math.round(timeoutMs / 1000)} s`);
}

export interface GatewayLike {
  metadata?: { name?: string; namespace?: string };
  spec?: { listeners?: Array<{ name?: string; port: number }> };
  status?: { addresses?: Array<{ type?: string; value: string }> };
}

/** Whether a Gateway may decide at all: the same rule as for labelled Services (TRUSTED_NAMESPACES). */
export function trustedGateway(gateway: GatewayLike): boolean {
  return TRUSTED_NAMESPACES.has(gateway.metadata?.namespace ?? '');
}

/**
 * The Gateways that may decide, as candidates, sorted by namespace/name (the first public one decides):
 * trusted ones with published addresses only. Any tenant can create a Gateway of any GatewayClass and its
 * implementation publishes an address for it, so neither the class nor the address says who is behind it.
 */
export function gatewayCandidates(gateways: readonly GatewayLike[]): IngressServiceLike[] {
  const key = (c: IngressServiceLike): string => `${c.metadata?.namespace}/${c.metadata?.name}`;
  return gateways
    .filter(trustedGateway)
    .map(gatewayCandidate)
    .filter((c): c is IngressServiceLike => c !== undefined)
    .sort((a, b) => key(a).localeCompare(key(b)));
}

/**
 * A Gateway whose implementation published addresses (Envoy Gateway, Istio, Cilium, NGINX Gateway Fabric…),
 * as a candidate decide() judges like a LoadBalancer Service; undefined when it has none (yet). Whether it
 * is trusted is gatewayCandidates'.
 */
export function gatewayCandidate(gateway: GatewayLike): IngressServiceLike | undefined {
  const ingress = (gateway.status?.addresses ?? []).flatMap((a): Array<{ ip?: string; hostname?: string }> =>
    (a.type ?? 'IPAddress') === 'IPAddress' ? [{ ip: a.value }] : a.type === 'Hostname' ? [{ hostname: a.value }] : [],
  );
  if (ingress.length === 0) return undefined;
  return {
    kind: 'Gateway',
    metadata: { namespace: gateway.metadata?.namespace, name: gateway.metadata?.name },
    spec: { type: 'LoadBalancer', ports: (gateway.spec?.listeners ?? []).map((l) => ({ name: l.name, port: l.port })) },
    status: { loadBalancer: { ingress } },
  };
}

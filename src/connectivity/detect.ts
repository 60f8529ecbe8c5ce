// Private or public? Decided from the ingress controller's Service, pure: a LoadBalancer with a public
// address (or a hostname) is public; NodePort, ClusterIP, no Service, a private address, or no address
// after the wait is private.
import type { RoutingMode } from '../api/v1alpha1/types.js';

export interface ServicePort {
  name?: string;
  port: number;
}

export interface IngressServiceLike {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  spec?: { type?: string; ports?: ServicePort[] };
  status?: { loadBalancer?: { ingress?: Array<{ ip?: string; hostname?: string }> } };
}

/** Where to look, in order, before falling back to the app.kubernetes.io/name label. */
export const CANDIDATES: ReadonlyArray<{ namespace: string; name: string }> = [
  { namespace: 'ingress-nginx', name: 'ingress-nginx-controller' },
  { namespace: 'kube-system', name: 'rke2-ingress-nginx-controller' },
  { namespace: 'kube-system', name: 'traefik' },
  { namespace: 'traefik', name: 'traefik' },
];
export const CONTROLLER_LABEL = 'app.kubernetes.io/name';
export const CONTROLLER_LABEL_VALUES = ['ingress-nginx', 'traefik'];

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
  const text = `${service.metadata?.name ?? ''} ${service.metadata?.labels?.[CONTROLLER_LABEL] ?? ''}`;
  if (text.includes('nginx')) return 'ingress-nginx';
  if (text.includes('traefik')) return 'traefik';
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

export function decide(service: IngressServiceLike | undefined, waitedMs: number, timeoutMs: number): Decision {
  const priv = (reason: string, waiting = false): Decision => ({ isPrivate: true, routingMode: 'tunnel', reason, waiting });
  if (!service) return priv('no ingress controller Service found');
  const where = `${service.metadata?.namespace}/${service.metadata?.name}`;
  const type = service.spec?.type ?? 'ClusterIP';
  if (type !== 'LoadBalancer') return priv(`Service ${where} is ${type}, not LoadBalancer`);
  const ingress = service.status?.loadBalancer?.ingress ?? [];
  const hostname = ingress.find((i) => i.hostname)?.hostname;
  const publicIp = ingress.find((i) => i.ip && !isPrivateAddress(i.ip))?.ip;
  const address = publicIp ?? hostname;
  if (address) {
    return { isPrivate: false, routingMode: 'direct', publicEndpoint: publicEndpoint(address, service.spec?.ports), reason: `LoadBalancer ${where} has public address ${address}`, waiting: false };
  }
  const privateIp = ingress.find((i) => i.ip)?.ip;
  if (privateIp) return priv(`LoadBalancer ${where} has only the private address ${privateIp}`);
  if (waitedMs < timeoutMs) return priv(`LoadBalancer ${where} has no address yet; waiting up to ${Math.round(timeoutMs / 1000)} s`, true);
  return priv(`LoadBalancer ${where} got no address within ${Math.round(timeoutMs / 1000)} s`);
}

// Resolving a route's backend port through its Service: a named port by spec.ports[].name, a number
// by spec.ports[].port. Pure: takes the Service as a plain object.
import type { BackendPort } from '../api/v1alpha1/types.js';

export interface ServiceLike {
  metadata?: { name?: string; namespace?: string };
  spec?: { ports?: Array<{ name?: string; port: number }> };
}

export type PortResolution = { ok: true; port: number } | { ok: false; reason: 'ServiceNotFound' | 'PortNotFound'; message: string };

export function describePort(port: BackendPort): string {
  return port.name !== undefined ? `"${port.name}"` : String(port.number);
}

export function resolveBackendPort(service: ServiceLike | undefined, serviceName: string, port: BackendPort): PortResolution {
  if (!service) return { ok: false, reason: 'ServiceNotFound', message: `Service ${serviceName} not found` };
  const ports = service.spec?.ports ?? [];
  const match = port.name !== undefined ? ports.find((p) => p.name === port.name) : ports.find((p) => p.port === port.number);
  if (!match) return { ok: false, reason: 'PortNotFound', message: `port ${describePort(port)} not found on Service ${serviceName}` };
  return { ok: true, port: match.port };
}

// Resolving a route's backend port through its Service: a named port by spec.ports[].name, a number
// by spec.ports[].port. An ExternalName Service is refused: it is a DNS alias, and dialling it would
// reach wherever cluster DNS points the name, outside the cluster included. Pure: takes the Service as a
// plain object.
import type { BackendPort } from '../api/v1alpha1/types.js';

export interface ServiceLike {
  metadata?: { name?: string; namespace?: string };
  spec?: { type?: string; ports?: Array<{ name?: string; port: number; appProtocol?: string }> };
}

/**
 * ServiceNotFound and PortNotFound may be passing (a Service being recreated); the others are refusals that
 * hold until the objects change: the tunnel never reaches such a backend.
 */
export type PortResolution =
  | { ok: true; port: number }
  | { ok: false; reason: 'ServiceNotFound' | 'PortNotFound'; message: string }
  | { ok: false; reason: 'UnsupportedBackend' | 'RefNotPermitted'; message: string; refused: true };

export function describePort(port: BackendPort): string {
  return port.name !== undefined ? `"${port.name}"` : String(port.number);
}

export function resolveBackendPort(service: ServiceLike | undefined, serviceName: string, port: BackendPort): PortResolution {
  if (!service) return { ok: false, reason: 'ServiceNotFound', message: `Service ${serviceName} not found` };
  if (service.spec?.type === 'ExternalName') {
    return { ok: false, reason: 'UnsupportedBackend', message: `Service ${serviceName} is of type ExternalName (a DNS alias that may lead outside the cluster): not served`, refused: true };
  }
  const ports = service.spec?.ports ?? [];
  const match = port.name !== undefined ? ports.find((p) => p.name === port.name) : ports.find((p) => p.port === port.number);
  if (!match) return { ok: false, reason: 'PortNotFound', message: `port ${describePort(port)} not found on Service ${serviceName}` };
  return { ok: true, port: match.port };
}

// Ingresses of our IngressClass get the hosted gateway's address in status.loadBalancer.ingress, as every
// ingress controller writes its own: `kubectl get ingress` shows it as ADDRESS, and Argo CD's built-in
// Ingress health is Healthy once it is there (Progressing while empty). The address is --ingress-status-address,
// else what the control plane told at registration; while neither is known, statuses are left as they are.
// Ingresses of any other class are never written, even when mirrored: their own controller owns their status.
import type { CustomObjectsClient } from '../operator/clients.js';
import type { GatewayAddress } from '../controlplane/protocol.js';
import type { Logger } from '../log.js';
import { applyStatus, ObjectError, type CustomObjectRef } from '../operator/apply.js';
import type { Informer } from '../operator/informer.js';
import { jsonEqual } from '../operator/json.js';
import { INGRESS, splitKey } from '../operator/kinds.js';
import { excluded, isOurClass, type IngressClass } from './class.js';
import type { IngressLike } from './translate.js';

/** Its own field manager: the status is this controller's alone, apart from the GatewayRoute writers'. */
export const INGRESS_STATUS_FIELD_MANAGER = 'gateway-operator-ingress-status';

export interface LoadBalancerIngress {
  hostname?: string;
  ip?: string;
  ports?: unknown[];
}

export interface IngressWithStatus extends IngressLike {
  metadata?: IngressLike['metadata'] & { uid?: string; deletionTimestamp?: string };
  status?: { loadBalancer?: { ingress?: LoadBalancerIngress[] } };
}

/** Where the address comes from: the flag, or the control-plane session. */
export interface GatewayAddressSource {
  /** The address to show now; undefined while none is known. */
  current(): GatewayAddress | undefined;
  /** `listener` is called whenever current() may have changed. */
  onChange(listener: () => void): void;
}

/** The status.loadBalancer.ingress that shows `address`: one entry, hostname and/or ip. */
export function loadBalancerIngress(address: GatewayAddress): LoadBalancerIngress[] {
  const entry: LoadBalancerIngress = {};
  if (address.hostname !== undefined) entry.hostname = address.hostname;
  if (address.ip !== undefined) entry.ip = address.ip;
  return [entry];
}

/**
 * The status.loadBalancer.ingress to write for this Ingress, or undefined when none is to be written: not of
 * our class (or opted out), going away, no address known, or the status already shows it.
 */
export function desiredLoadBalancer(
  ingress: IngressWithStatus,
  context: { classes: readonly IngressClass[]; controllerName: string; address: GatewayAddress | undefined },
): LoadBalancerIngress[] | undefined {
  if (!context.address || ingress.metadata?.deletionTimestamp || excluded(ingress)) return undefined;
  if (!isOurClass(ingress, context.classes, context.controllerName)) return undefined;
  const desired = loadBalancerIngress(context.address);
  return jsonEqual(ingress.status?.loadBalancer?.ingress ?? [], desired) ? undefined : desired;
}

/** An address as one comparable string ('' for none). */
export function addressKey(address: GatewayAddress | undefined): string {
  return address ? `${address.hostname ?? ''}|${address.ip ?? ''}` : '';
}

export interface IngressStatusParts {
  ingresses: Informer<IngressWithStatus>;
  ingressClasses: Informer<IngressClass>;
  address: GatewayAddressSource;
  controllerName: string;
  custom: CustomObjectsClient;
  logger: Logger;
}

export class IngressStatusController {
  constructor(private readonly parts: IngressStatusParts) {}

  /** Whether the Ingress is of our class (and not opted out): the ones whose status is ours to write. */
  ours(ingress: IngressWithStatus): boolean {
    return !excluded(ingress) && isOurClass(ingress, this.parts.ingressClasses.list(), this.parts.controllerName);
  }

  async reconcile(key: string): Promise<void> {
    const { ingresses, ingressClasses, address, controllerName, custom, logger } = this.parts;
    const ingress = ingresses.get(key);
    if (!ingress) return;
    const desired = desiredLoadBalancer(ingress, { classes: ingressClasses.list(), controllerName, address: address.current() });
    if (!desired) return;
    const { namespace, name } = splitKey(key);
    const ref: CustomObjectRef = { group: 'networking.k8s.io', version: 'v1', plural: INGRESS.plural, kind: INGRESS.kind, namespace, name };
    // The uid makes the apply fail rather than write to another Ingress recreated under the same name.
    const body = { apiVersion: INGRESS.apiVersion, kind: INGRESS.kind, metadata: { namespace, name, uid: ingress.metadata?.uid }, status: { loadBalancer: { ingress: desired } } };
    try {
      await applyStatus(custom, ref, body, INGRESS_STATUS_FIELD_MANAGER);
    } catch (err) {
      if (err instanceof ObjectError && err.code === 404) return; // deleted meanwhile: nothing to show
      throw err;
    }
    logger.info('Ingress status written', { namespace, name, address: desired[0] });
  }
}

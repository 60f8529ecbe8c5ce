// Status of the GatewayClasses and Gateways this operator answers for: a GatewayClass whose controllerName
// is ours is Accepted; a Gateway of such a class gets Accepted / Programmed and, per listener, its
// conditions, the route kinds it carries and the number of routes (of every kind) attached. Objects of other
// classes are never touched.
import { conditionsChanged, ownConditions, setConditions } from '../api/v1alpha1/conditions.js';
import { applyStatus, type CustomObjectRef } from '../operator/apply.js';
import type { Informer } from '../operator/informer.js';
import { jsonEqual } from '../operator/json.js';
import { splitKey } from '../operator/kinds.js';
import type { Manager } from '../operator/manager.js';
import { ownsClass, type ParentAttachment } from './attach.js';
import type { GatewayApiInformers, GatewayApiOptions } from './informers.js';
import { gatewayClassConditions, gatewayStatus } from './status.js';
import { GATEWAY, GATEWAY_API_GROUP, GATEWAY_CLASS, type GatewayApiRoute, type RouteKindName } from './types.js';

export const GATEWAY_STATUS_FIELD_MANAGER = 'gateway-operator-gateway';
/** Routes (of each kind) by the Gateways their parentRefs name ("namespace/name"). */
export const PARENT_GATEWAY_INDEX = 'parent-gateway';

function ref(kind: typeof GATEWAY | typeof GATEWAY_CLASS, namespace: string, name: string): CustomObjectRef {
  return { group: GATEWAY_API_GROUP, version: 'v1', plural: kind.plural, kind: kind.kind, name, ...(namespace ? { namespace } : {}) };
}

/** What the Gateway status reads of one route kind's controller: its routes, and where each attached. */
export interface AttachedRoutes {
  readonly kind: { readonly name: RouteKindName };
  /** With the PARENT_GATEWAY_INDEX. */
  readonly informer: Pick<Informer<GatewayApiRoute>, 'byIndex'>;
  parents(route: GatewayApiRoute): ParentAttachment[];
}

export interface GatewayControllerOptions {
  manager: Manager;
  informers: GatewayApiInformers;
  /** One per route kind the apiserver serves. */
  routeKinds: readonly AttachedRoutes[];
  options: GatewayApiOptions;
}

export class GatewayController {
  private readonly manager: Manager;
  private readonly informers: GatewayApiInformers;
  private readonly routeKinds: readonly AttachedRoutes[];
  private readonly options: GatewayApiOptions;

  constructor({ manager, informers, routeKinds, options }: GatewayControllerOptions) {
    this.manager = manager;
    this.informers = informers;
    this.routeKinds = routeKinds;
    this.options = options;
  }

  async reconcileClass(name: string): Promise<void> {
    const gatewayClass = this.informers.gatewayClasses.get(name);
    if (!gatewayClass || gatewayClass.spec.controllerName !== this.options.controllerName) return;
    const previous = gatewayClass.status?.conditions ?? [];
    const conditions = setConditions(previous, gatewayClassConditions(this.options.controllerName), gatewayClass.metadata.generation, new Date());
    if (!conditionsChanged(previous, conditions)) return;
    await applyStatus(
      this.manager.custom,
      ref(GATEWAY_CLASS, '', name),
      { apiVersion: GATEWAY_CLASS.apiVersion, kind: GATEWAY_CLASS.kind, metadata: { name }, status: { conditions } },
      GATEWAY_STATUS_FIELD_MANAGER,
    );
  }

  async reconcileGateway(key: string): Promise<void> {
    const gateway = this.informers.gateways.get(key);
    if (!gateway || gateway.metadata.deletionTimestamp || !ownsClass(this.informers.gatewayClasses.get(gateway.spec.gatewayClassName), this.options.controllerName)) return;
    const attached = this.attachedRoutes(key);
    const computed = gatewayStatus(gateway, { attachedRoutes: (listener) => attached.get(listener) ?? 0, routeKinds: this.routeKinds.map((routes) => routes.kind.name) });
    const now = new Date();
    const generation = gateway.metadata.generation;
    const previous = gateway.status ?? {};
    const conditions = setConditions(previous.conditions, computed.conditions, generation, now);
    const listeners = computed.listeners.map((l) => ({
      ...l,
      conditions: ownConditions(previous.listeners?.find((p) => p.name === l.name)?.conditions, l.conditions, generation, now),
    }));
    const listenersChanged =
      listeners.length !== (previous.listeners?.length ?? 0) ||
      listeners.some((l, i) => {
        const before = previous.listeners?.[i];
        return !before || before.name !== l.name || before.attachedRoutes !== l.attachedRoutes || !jsonEqual(before.supportedKinds, l.supportedKinds) || conditionsChanged(before.conditions, l.conditions);
      });
    if (!conditionsChanged(previous.conditions, conditions) && !listenersChanged) return;
    const { namespace, name } = splitKey(key);
    await applyStatus(
      this.manager.custom,
      ref(GATEWAY, namespace, name),
      { apiVersion: GATEWAY.apiVersion, kind: GATEWAY.kind, metadata: { name, namespace }, status: { conditions, listeners } },
      GATEWAY_STATUS_FIELD_MANAGER,
    );
  }

  /** Listener name → routes (of every kind) attached to it through this Gateway. */
  private attachedRoutes(gatewayKey: string): Map<string, number> {
    const counts = new Map<string, number>();
    for (const routes of this.routeKinds) {
      for (const route of routes.informer.byIndex(PARENT_GATEWAY_INDEX, gatewayKey)) {
        const listeners = new Set<string>();
        for (const parent of routes.parents(route)) {
          if (parent.gateway === gatewayKey && parent.attachment.attached) for (const listener of parent.attachment.listeners) listeners.add(listener);
        }
        for (const listener of listeners) counts.set(listener, (counts.get(listener) ?? 0) + 1);
      }
    }
    return counts;
  }
}

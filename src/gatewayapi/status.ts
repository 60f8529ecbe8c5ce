// The Gateway API status this operator writes, with the Gateway API's own condition types and reasons:
// GatewayClass Accepted; Gateway Accepted / Programmed and per-listener Accepted / Programmed /
// ResolvedRefs with supportedKinds and attachedRoutes; a route parent's (HTTPRoute's, GRPCRoute's) Accepted /
// ResolvedRefs / PartiallyInvalid. Pure.
import type { ConditionInput } from '../api/v1alpha1/conditions.js';
import { listenerConflicts, listenerRouteKinds, type Attachment } from './attach.js';
import { routeResolvedRefs, type RouteTranslation } from './translate.js';
import { GATEWAY_API_GROUP, type Gateway, type Listener, type RouteKindName } from './types.js';

const condition = (type: string, ok: boolean, reason: string, message: string): ConditionInput => ({ type, status: ok ? 'True' : 'False', reason, message });

export function gatewayClassConditions(controllerName: string): ConditionInput[] {
  return [condition('Accepted', true, 'Accepted', `handled by ${controllerName}: Gateways of this class are served by the hosted gateway through the tunnel`)];
}

export interface ListenerStatusInput {
  name: string;
  supportedKinds: Array<{ group: string; kind: string }>;
  attachedRoutes: number;
  conditions: ConditionInput[];
}

const noConflicts = condition('Conflicted', false, 'NoConflicts', 'no conflicts');

export interface ListenerStatusOptions {
  /** Routes of every kind attached through this listener. */
  attachedRoutes: number;
  /** The route kinds the apiserver serves and this operator translates (HTTPRoute; GRPCRoute where installed). */
  routeKinds: readonly RouteKindName[];
  conflict?: { reason: string; message: string };
}

export function listenerStatus(listener: Listener, { attachedRoutes, routeKinds, conflict }: ListenerStatusOptions): ListenerStatusInput {
  const base = { name: listener.name, attachedRoutes };
  const supportedKinds = listenerRouteKinds(listener, routeKinds).map((kind) => ({ group: GATEWAY_API_GROUP, kind }));
  if (conflict) {
    return {
      ...base,
      supportedKinds,
      conditions: [
        condition('Accepted', true, 'Accepted', 'listener accepted'),
        condition('Programmed', false, 'Invalid', `conflicted: ${conflict.message}`),
        condition('ResolvedRefs', true, 'ResolvedRefs', 'no references to resolve'),
        condition('Conflicted', true, conflict.reason, conflict.message),
      ],
    };
  }
  if (listener.protocol !== 'HTTP' && listener.protocol !== 'HTTPS') {
    return {
      ...base,
      supportedKinds: [],
      conditions: [
        condition('Accepted', false, 'UnsupportedProtocol', `protocol ${listener.protocol} is not supported (HTTP and HTTPS are)`),
        condition('Programmed', false, 'Invalid', 'the listener is not accepted'),
        condition('ResolvedRefs', true, 'ResolvedRefs', 'no references to resolve'),
        noConflicts,
      ],
    };
  }
  if (supportedKinds.length === 0) {
    return {
      ...base,
      supportedKinds,
      conditions: [
        condition('Accepted', true, 'Accepted', 'listener accepted'),
        condition('Programmed', false, 'Invalid', 'no supported route kind is allowed'),
        condition('ResolvedRefs', false, 'InvalidRouteKinds', `allowedRoutes.kinds names no supported kind (${routeKinds.join(', ')})`),
        noConflicts,
      ],
    };
  }
  return {
    ...base,
    supportedKinds,
    conditions: [
      condition('Accepted', true, 'Accepted', 'listener accepted'),
      condition('Programmed', true, 'Programmed', 'served by the hosted gateway through the tunnel'),
      // TLS is terminated by the hosted gateway: certificateRefs are not read in the cluster.
      condition('ResolvedRefs', true, 'ResolvedRefs', listener.protocol === 'HTTPS' ? 'TLS is terminated by the hosted gateway; certificateRefs are not read' : 'no references to resolve'),
      noConflicts,
    ],
  };
}

export interface GatewayStatusOptions {
  /** Routes of every kind attached through a listener. */
  attachedRoutes: (listener: string) => number;
  routeKinds: readonly RouteKindName[];
}

export function gatewayStatus(gateway: Gateway, { attachedRoutes, routeKinds }: GatewayStatusOptions): { conditions: ConditionInput[]; listeners: ListenerStatusInput[] } {
  const conflicts = listenerConflicts(gateway.spec.listeners);
  const listeners = gateway.spec.listeners.map((l) => {
    const conflict = conflicts.get(l.name);
    return listenerStatus(l, { attachedRoutes: attachedRoutes(l.name), routeKinds, ...(conflict ? { conflict } : {}) });
  });
  const valid = listeners.filter((l) => l.conditions.every((c) => (c.type === 'Conflicted' ? c.status === 'False' : c.status === 'True'))).length;
  if (gateway.spec.addresses?.length) {
    return {
      listeners,
      conditions: [
        condition('Accepted', false, 'UnsupportedAddress', 'spec.addresses cannot be honoured: the hosted gateway chooses the addresses'),
        condition('Programmed', false, 'Invalid', 'the Gateway is not accepted'),
      ],
    };
  }
  if (valid === 0) {
    return {
      listeners,
      conditions: [condition('Accepted', false, 'ListenersNotValid', 'no listener is valid'), condition('Programmed', false, 'Invalid', 'no listener is valid')],
    };
  }
  const partly = valid < listeners.length ? ` (${listeners.length - valid} of ${listeners.length} listeners invalid)` : '';
  return {
    listeners,
    conditions: [
      condition('Accepted', true, 'Accepted', `accepted${partly}`),
      condition('Programmed', true, 'Programmed', `served by the hosted gateway through the tunnel${partly}`),
    ],
  };
}

export interface RouteParentInput {
  attachment: Attachment;
  translation: RouteTranslation;
  /** Why this route's GatewayRoute cannot be written (its name is taken), if so. */
  nameConflict?: string;
}

export function routeParentConditions({ attachment, translation, nameConflict }: RouteParentInput): ConditionInput[] {
  const resolved = routeResolvedRefs(translation.backendProblems);
  if (!attachment.attached) return [condition('Accepted', false, attachment.reason, attachment.message), resolved];
  if (nameConflict) return [condition('Accepted', false, 'NameConflict', nameConflict), resolved];
  const routes = translation.spec.routes?.length ?? 0;
  const dropped = translation.dropped.slice(0, 5).join('; ') + (translation.dropped.length > 5 ? `; and ${translation.dropped.length - 5} more` : '');
  if (routes === 0) return [condition('Accepted', false, 'UnsupportedValue', `nothing can be served: ${dropped || 'no rules'}`), resolved];
  const notes = translation.notes.length ? `; ${translation.notes.join('; ')}` : '';
  const conditions = [condition('Accepted', true, 'Accepted', `${routes} route(s) served by the hosted gateway${notes}`), resolved];
  if (translation.dropped.length) conditions.push(condition('PartiallyInvalid', true, 'UnsupportedValue', `dropped: ${dropped}`));
  return conditions;
}

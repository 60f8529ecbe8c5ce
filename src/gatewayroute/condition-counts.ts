// GatewayRoutes by condition: the gateway_operator_gatewayroutes gauge per (condition, status), kept as the
// GatewayRoute cache changes (the object's previous version out, the new one in), never by scanning the cache.
// Only the operator's own condition types and the three statuses are counted, so whatever a status writer puts
// in a condition cannot add series.
import { GATEWAY_ROUTE_REASONS, SUMMARY_REASONS } from '../api/v1alpha1/reasons.js';
import type { ConditionStatus, GatewayRoute } from '../api/v1alpha1/types.js';
import { metrics } from '../metrics.js';
import type { Informer } from '../operator/informer.js';

export const COUNTED_CONDITIONS: ReadonlySet<string> = new Set([...Object.keys(SUMMARY_REASONS), ...Object.keys(GATEWAY_ROUTE_REASONS)]);
const STATUSES: readonly ConditionStatus[] = ['True', 'False', 'Unknown'];

/** Counts `gatewayRoutes`' conditions into `gauge`; every (condition, status) series exists from the start, at 0. */
export function countConditions(gatewayRoutes: Informer<GatewayRoute>, gauge = metrics.gatewayRoutes): void {
  for (const condition of COUNTED_CONDITIONS) for (const status of STATUSES) gauge.set({ condition, status }, 0);
  const add = (route: GatewayRoute, delta: 1 | -1): void => {
    const seen = new Set<string>(); // a condition type listed twice counts once
    for (const { type, status } of route.status?.conditions ?? []) {
      if (!COUNTED_CONDITIONS.has(type) || !STATUSES.includes(status) || seen.has(type)) continue;
      seen.add(type);
      gauge.inc({ condition: type, status }, delta);
    }
  };
  gatewayRoutes.onChange((route, previous, deleted) => {
    if (previous) add(previous, -1);
    if (!deleted) add(route, 1);
  });
}

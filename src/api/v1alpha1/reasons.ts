// Every condition type the operator writes on its own kinds (GatewayRoute, ClusterConnectivity) and every
// reason each is written with, in one place: the functions that build these conditions are typed by the
// tables (a reason not listed here does not compile), STALLED_REASONS is read from them, and
// test/unit/api/reasons.test.ts fails when docs/conditions.md leaves one out or lists one that is not here.
import type { ConditionStatus } from './generated.js';

export interface ReasonSpec {
  /** The status the condition has with this reason. */
  readonly status: ConditionStatus;
  /** Nothing progresses until the user changes something: Stalled=True (kstatus; Argo CD: Degraded). */
  readonly stalls?: true;
}

/** Condition type → reason → how it is written. */
export type ReasonTable = Readonly<Record<string, Readonly<Record<string, ReasonSpec>>>>;

const TRUE = { status: 'True' } as const;
/** Not there yet, and it may get there without the user: Reconciling=True. */
const FALSE = { status: 'False' } as const;
const STALLS = { status: 'False', stalls: true } as const;
const UNKNOWN = { status: 'Unknown' } as const;

/** The conditions of a GatewayRoute that Ready summarises, in the order Ready reads them. */
export const GATEWAY_ROUTE_REASONS = {
  Accepted: { Accepted: TRUE, PartiallyAccepted: TRUE, NoRoutes: STALLS },
  // A refused backend (UnsupportedBackend, RefNotPermitted) is never sent, so Synced=BackendUnresolved stalls for it.
  // A backend whose BackendTLSPolicy cannot be used is sent (the tunnel answers 5xx): this reason stalls itself.
  ResolvedRefs: { ResolvedRefs: TRUE, ServiceNotFound: STALLS, PortNotFound: STALLS, UnsupportedBackend: FALSE, RefNotPermitted: FALSE, InvalidBackendTLSPolicy: STALLS },
  Synced: {
    Synced: TRUE,
    Pending: FALSE,
    Disconnected: FALSE,
    Retrying: FALSE,
    NoControlPlane: UNKNOWN,
    BackendUnresolved: STALLS,
    Refused: STALLS,
    Rejected: STALLS,
  },
} as const satisfies ReasonTable;

/** ClusterConnectivity's own conditions (IdentityCached is not part of Ready). */
export const CLUSTER_CONNECTIVITY_REASONS = {
  Detected: { Private: TRUE, Public: TRUE, WaitingForAddress: UNKNOWN },
  ControlPlaneConnected: { Registered: TRUE, Disconnected: FALSE, Unauthorized: STALLS, NoControlPlane: UNKNOWN },
  IdentityCached: { Cached: TRUE, NotRegistered: UNKNOWN, NotCached: FALSE },
} as const satisfies ReasonTable;

/**
 * Ready, Reconciling and Stalled (progressSummary), on both kinds: the reasons of their own. Otherwise they
 * carry the reason of the condition in the way: Ready=False and Reconciling=True or Stalled=True with it.
 */
export const SUMMARY_REASONS = {
  Ready: { Ready: TRUE, Pending: { status: 'False' }, Progressing: { status: 'False' } },
  Reconciling: { Ready: { status: 'False' }, Stalled: { status: 'False' }, Pending: TRUE, Progressing: TRUE },
  Stalled: { Ready: { status: 'False' }, Progressing: { status: 'False' } },
} as const satisfies ReasonTable;

/** A condition of `Type` with one of the reasons `Table` lists for it, and the status that reason goes with. */
export type ConditionOf<Table extends ReasonTable, Type extends keyof Table & string> = {
  [Reason in keyof Table[Type] & string]: { type: Type; status: Table[Type][Reason]['status']; reason: Reason; message: string };
}[keyof Table[Type] & string];

export type GatewayRouteConditionType = keyof typeof GATEWAY_ROUTE_REASONS;
export type ClusterConnectivityConditionType = keyof typeof CLUSTER_CONNECTIVITY_REASONS;
/** A GatewayRoute condition of one type (all of them by default) as the tables allow it. */
export type GatewayRouteCondition<Type extends GatewayRouteConditionType = GatewayRouteConditionType> = Type extends unknown
  ? ConditionOf<typeof GATEWAY_ROUTE_REASONS, Type>
  : never;
export type ClusterConnectivityCondition<Type extends ClusterConnectivityConditionType = ClusterConnectivityConditionType> = Type extends unknown
  ? ConditionOf<typeof CLUSTER_CONNECTIVITY_REASONS, Type>
  : never;

/**
 * `condition` (read back from an object's status) as a condition of `type`, when `table` lists its reason
 * with its status; undefined otherwise (another writer's, or an older version's).
 */
export function listedCondition<Table extends ReasonTable, Type extends keyof Table & string>(
  table: Table,
  type: Type,
  condition: { status: ConditionStatus; reason: string; message: string },
): ConditionOf<Table, Type> | undefined {
  const reasons: Readonly<Record<string, ReasonSpec>> = table[type] ?? {};
  if (!Object.hasOwn(reasons, condition.reason) || reasons[condition.reason]?.status !== condition.status) return undefined;
  // Checked just above: the reason is one of the type's, with its status.
  return { type, status: condition.status, reason: condition.reason, message: condition.message } as ConditionOf<Table, Type>;
}

/** Condition type → the reasons that stall it, from the tables. */
export function stalledReasons(...tables: readonly ReasonTable[]): Readonly<Record<string, ReadonlySet<string>>> {
  const stalled: Record<string, Set<string>> = {};
  for (const table of tables) {
    for (const [type, reasons] of Object.entries(table)) {
      for (const [reason, spec] of Object.entries(reasons)) if (spec.stalls) (stalled[type] ??= new Set()).add(reason);
    }
  }
  return stalled;
}

// Condition helpers in the metav1.Condition conventions: lastTransitionTime moves only when status
// flips, every condition carries the generation it was computed for, and Ready summarises the others.
import { CLUSTER_CONNECTIVITY_REASONS, GATEWAY_ROUTE_REASONS, stalledReasons } from './reasons.js';
import { MAX_CONDITION_MESSAGE, type Condition, type ConditionStatus } from './types.js';

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/**
 * Items joined with "; " within `budget` characters, the rest counted as "and N more", each item cut to
 * `itemChars`: a message built from many peer-supplied parts still fits the CRD.
 */
export function listWithin(items: readonly string[], budget: number, itemChars = 512): string {
  const shown: string[] = [];
  let used = 0;
  for (const [index, item] of items.entries()) {
    const text = item.length > itemChars ? `${item.slice(0, itemChars)}…` : item;
    const rest = items.length - index - 1;
    // Room for this item, its separator, and the "; and N more" that may follow it.
    if (used + text.length + 2 + (rest ? 24 : 0) > budget) {
      shown.push(`and ${items.length - index} more`);
      break;
    }
    shown.push(text);
    used += text.length + 2;
  }
  return shown.join('; ');
}

/** A message the CRD accepts: what is past its maxLength is cut (callers list with listWithin first). */
function fitted(message: string): string {
  return message.length <= MAX_CONDITION_MESSAGE ? message : `${message.slice(0, MAX_CONDITION_MESSAGE - 16)}… (truncated)`;
}

/**
 * Returns the condition to store for `next`, keeping the previous lastTransitionTime when the status
 * did not change (reason or message changes are not transitions).
 */
export function nextCondition(
  previous: Condition | undefined,
  next: ConditionInput,
  generation: number | undefined,
  now: Date,
): Condition {
  const lastTransitionTime =
    previous && previous.status === next.status ? previous.lastTransitionTime : rfc3339(now);
  const condition: Condition = { ...next, message: fitted(next.message), lastTransitionTime };
  if (generation !== undefined) condition.observedGeneration = generation;
  return condition;
}

/** Sets several conditions at once on a copy of `conditions`, in the order given, others kept. */
export function setConditions(
  conditions: readonly Condition[] | undefined,
  updates: readonly ConditionInput[],
  generation: number | undefined,
  now: Date,
): Condition[] {
  const result = [...(conditions ?? [])];
  for (const update of updates) {
    const index = result.findIndex((c) => c.type === update.type);
    const condition = nextCondition(result[index], update, generation, now);
    if (index === -1) result.push(condition);
    else result[index] = condition;
  }
  return result;
}

/**
 * Exactly the conditions `updates` name, for this generation, each keeping its lastTransitionTime from
 * `previous` when its status did not flip: for a writer that owns these condition types and no others.
 */
export function ownConditions(
  previous: readonly Condition[] | undefined,
  updates: readonly ConditionInput[],
  generation: number | undefined,
  now: Date,
): Condition[] {
  const types = new Set(updates.map((c) => c.type));
  return setConditions(previous, updates, generation, now).filter((c) => types.has(c.type));
}

/** True when the conditions differ in anything but order. */
export function conditionsChanged(a: readonly Condition[] | undefined, b: readonly Condition[] | undefined): boolean {
  const left = a ?? [];
  const right = b ?? [];
  if (left.length !== right.length) return true;
  return left.some((c) => {
    const other = findCondition(right, c.type);
    return (
      !other ||
      other.status !== c.status ||
      other.reason !== c.reason ||
      other.message !== c.message ||
      other.observedGeneration !== c.observedGeneration ||
      other.lastTransitionTime !== c.lastTransitionTime
    );
  });
}

/** RFC 3339 with second precision, the form metav1.Time serialises to. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Condition reasons that need a user's change before anything can progress (kstatus and Argo CD: Stalled /
 * Degraded), by condition type: those reasons.ts marks `stalls`. Any other reason of a condition that is not
 * True is work in progress.
 */
export const STALLED_REASONS = stalledReasons(GATEWAY_ROUTE_REASONS, CLUSTER_CONNECTIVITY_REASONS);

export interface ProgressSummary {
  ready: ConditionInput;
  reconciling: ConditionInput;
  stalled: ConditionInput;
  /** Every listed condition has processed this generation: status.observedGeneration may say so. */
  observed: boolean;
}

/**
 * Ready, Reconciling and Stalled from the listed conditions, the way kstatus and Argo CD read them. A
 * condition computed for an older generation counts as not yet processed (in progress, whatever it says);
 * Stalled when one that is current is not True for a reason in STALLED_REASONS; else Reconciling while any
 * is not True; both False once Ready.
 */
export function progressSummary(conditions: readonly Condition[] | undefined, order: readonly string[], generation: number | undefined): ProgressSummary {
  let blocking: ConditionInput | undefined;
  let stalled: ConditionInput | undefined;
  let observed = true;
  for (const type of order) {
    const condition = findCondition(conditions, type);
    if (!condition) {
      observed = false;
      blocking ??= { type, status: 'Unknown', reason: 'Pending', message: `${type} has not been reported yet` };
      continue;
    }
    if (generation !== undefined && condition.observedGeneration !== generation) {
      observed = false;
      blocking ??= { type, status: 'Unknown', reason: 'Progressing', message: `${type} has not processed generation ${generation} yet` };
      continue;
    }
    if (condition.status === 'True') continue;
    blocking ??= condition;
    if (!stalled && STALLED_REASONS[type]?.has(condition.reason)) stalled = condition;
  }
  if (!blocking) {
    return {
      ready: { type: 'Ready', status: 'True', reason: 'Ready', message: 'all conditions are satisfied' },
      reconciling: { type: 'Reconciling', status: 'False', reason: 'Ready', message: 'nothing in progress' },
      stalled: { type: 'Stalled', status: 'False', reason: 'Ready', message: 'nothing in the way' },
      observed,
    };
  }
  const cause = stalled ?? blocking;
  const ready: ConditionInput = { type: 'Ready', status: 'False', reason: cause.reason, message: `${cause.type}: ${cause.message}` };
  if (stalled) {
    return {
      ready,
      reconciling: { type: 'Reconciling', status: 'False', reason: 'Stalled', message: 'waiting for a change to the object or its backends' },
      stalled: { type: 'Stalled', status: 'True', reason: stalled.reason, message: `${stalled.type}: ${stalled.message}` },
      observed,
    };
  }
  return {
    ready,
    reconciling: { type: 'Reconciling', status: 'True', reason: blocking.reason, message: `${blocking.type}: ${blocking.message}` },
    stalled: { type: 'Stalled', status: 'False', reason: 'Progressing', message: 'in progress' },
    observed,
  };
}

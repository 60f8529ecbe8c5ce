// Condition helpers in the metav1.Condition conventions: lastTransitionTime moves only when status
// flips, every condition carries the generation it was computed for, and Ready summarises the others.
import type { Condition, ConditionStatus } from './types.js';

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
  const condition: Condition = { ...next, lastTransitionTime };
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

/**
 * The Ready summary: True when every listed condition is True; otherwise the first one that is not,
 * with its reason and message, False when it is False and also when it is Unknown (not ready yet).
 * A listed condition that is missing counts as Unknown with `missingReason`.
 */
export function readySummary(
  conditions: readonly Condition[] | undefined,
  order: readonly string[],
  missingReason = 'Pending',
): ConditionInput {
  for (const type of order) {
    const condition = findCondition(conditions, type);
    if (!condition) {
      return { type: 'Ready', status: 'False', reason: missingReason, message: `${type} has not been reported yet` };
    }
    if (condition.status !== 'True') {
      return { type: 'Ready', status: 'False', reason: condition.reason, message: `${type}: ${condition.message}` };
    }
  }
  return { type: 'Ready', status: 'True', reason: 'Ready', message: 'all conditions are satisfied' };
}

/** RFC 3339 with second precision, the form metav1.Time serialises to. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

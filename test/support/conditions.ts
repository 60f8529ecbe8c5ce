// A condition as a controller computed it for a generation: what the status-summary tests feed progressSummary.
import type { Condition } from '../../src/api/v1alpha1/types.js';

export function conditionAt(type: string, status: Condition['status'], reason: string, observedGeneration = 2): Condition {
  return { type, status, reason, message: `${type} says ${reason}`, observedGeneration, lastTransitionTime: '2026-01-01T00:00:00Z' };
}

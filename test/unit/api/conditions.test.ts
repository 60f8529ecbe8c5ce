import { describe, expect, it } from '@jest/globals';
import {
  conditionsChanged,
  listWithin,
  nextCondition,
  ownConditions,
  progressSummary,
  rfc3339,
  setConditions,
} from '../../../src/api/v1alpha1/conditions.js';
import { MAX_CONDITION_MESSAGE, type Condition } from '../../../src/api/v1alpha1/types.js';
import { conditionAt } from '../../support/conditions.js';

const earlier = '2026-01-01T00:00:00Z';
const now = new Date('2026-02-02T10:20:30.456Z');

function condition(type: string, status: Condition['status'], reason = 'R', message = 'm'): Condition {
  return { type, status, reason, message, lastTransitionTime: earlier, observedGeneration: 1 };
}

describe('nextCondition', () => {
  const cases = [
    { name: 'new condition gets now', previous: undefined, status: 'True', reason: 'A', time: '2026-02-02T10:20:30Z' },
    { name: 'same status keeps time', previous: condition('X', 'True'), status: 'True', reason: 'A', time: earlier },
    { name: 'reason change keeps time', previous: condition('X', 'False', 'Old'), status: 'False', reason: 'New', time: earlier },
    { name: 'status flip moves time', previous: condition('X', 'False'), status: 'True', reason: 'A', time: '2026-02-02T10:20:30Z' },
    { name: 'Unknown to False moves time', previous: condition('X', 'Unknown'), status: 'False', reason: 'A', time: '2026-02-02T10:20:30Z' },
  ] as const;

  it.each(cases)('$name', ({ previous, status, reason, time }) => {
    const next = nextCondition(previous, { type: 'X', status, reason, message: 'msg' }, 3, now);
    expect(next).toEqual({ type: 'X', status, reason, message: 'msg', lastTransitionTime: time, observedGeneration: 3 });
  });

  it('omits observedGeneration when unknown', () => {
    expect(nextCondition(undefined, { type: 'X', status: 'True', reason: 'A', message: '' }, undefined, now)).not.toHaveProperty(
      'observedGeneration',
    );
  });
});

describe('setConditions', () => {
  it('replaces in place, appends new ones and keeps the others', () => {
    const start = [condition('Accepted', 'True'), condition('Synced', 'Unknown')];
    const result = setConditions(start, [
      { type: 'Synced', status: 'True', reason: 'Synced', message: 'ok' },
      { type: 'Ready', status: 'True', reason: 'Ready', message: 'ok' },
    ], 2, now);
    expect(result.map((c) => [c.type, c.status, c.observedGeneration])).toEqual([
      ['Accepted', 'True', 1],
      ['Synced', 'True', 2],
      ['Ready', 'True', 2],
    ]);
    expect(start[1]?.status).toBe('Unknown');
  });
});

describe('conditionsChanged', () => {
  const base = [condition('A', 'True'), condition('B', 'False')];
  const cases: Array<{ name: string; other: Condition[] | undefined; changed: boolean }> = [
    { name: 'same content', other: [condition('A', 'True'), condition('B', 'False')], changed: false },
    { name: 'other order', other: [condition('B', 'False'), condition('A', 'True')], changed: false },
    { name: 'status differs', other: [condition('A', 'False'), condition('B', 'False')], changed: true },
    { name: 'message differs', other: [condition('A', 'True', 'R', 'x'), condition('B', 'False')], changed: true },
    { name: 'missing one', other: [condition('A', 'True')], changed: true },
    { name: 'undefined', other: undefined, changed: true },
  ];
  it.each(cases)('$name → $changed', ({ other, changed }) => {
    expect(conditionsChanged(base, other)).toBe(changed);
  });
});

describe('progressSummary: the Ready condition', () => {
  const order = ['Accepted', 'ResolvedRefs', 'Synced'];
  const cases: Array<{ name: string; conditions: Condition[]; status: string; reason: string }> = [
    {
      name: 'all true',
      conditions: [condition('Accepted', 'True'), condition('ResolvedRefs', 'True'), condition('Synced', 'True')],
      status: 'True',
      reason: 'Ready',
    },
    {
      name: 'first failing wins',
      conditions: [condition('Accepted', 'True'), condition('ResolvedRefs', 'False', 'ServiceNotFound'), condition('Synced', 'False', 'Disconnected')],
      status: 'False',
      reason: 'ServiceNotFound',
    },
    {
      name: 'unknown counts as not ready',
      conditions: [condition('Accepted', 'True'), condition('ResolvedRefs', 'True'), condition('Synced', 'Unknown', 'NoControlPlane')],
      status: 'False',
      reason: 'NoControlPlane',
    },
    { name: 'missing counts as pending', conditions: [condition('Accepted', 'True')], status: 'False', reason: 'Pending' },
  ];
  it.each(cases)('$name', ({ conditions, status, reason }) => {
    const summary = progressSummary(conditions, order, 1).ready;
    expect([summary.type, summary.status, summary.reason]).toEqual(['Ready', status, reason]);
  });
});

describe('rfc3339', () => {
  it('drops milliseconds', () => {
    expect(rfc3339(now)).toBe('2026-02-02T10:20:30Z');
  });
});

describe('conditionsChanged: each field counts', () => {
  const base = [condition('A', 'True'), condition('B', 'False')];
  it.each([
    { name: 'nothing', other: [condition('B', 'False'), condition('A', 'True')], changed: false },
    { name: 'both absent', left: undefined, other: undefined, changed: false },
    { name: 'absent vs empty', left: undefined, other: [], changed: false },
    { name: 'one more', other: [...base, condition('C', 'True')], changed: true },
    { name: 'another type', other: [condition('A', 'True'), condition('C', 'False')], changed: true },
    { name: 'status', other: [condition('A', 'False'), condition('B', 'False')], changed: true },
    { name: 'reason', other: [condition('A', 'True', 'Other'), condition('B', 'False')], changed: true },
    { name: 'message', other: [condition('A', 'True', 'R', 'other'), condition('B', 'False')], changed: true },
    { name: 'observedGeneration', other: [{ ...condition('A', 'True'), observedGeneration: 2 }, condition('B', 'False')], changed: true },
    { name: 'lastTransitionTime', other: [{ ...condition('A', 'True'), lastTransitionTime: '2026-03-03T00:00:00Z' }, condition('B', 'False')], changed: true },
  ] as Array<{ name: string; left?: Condition[]; other: Condition[] | undefined; changed: boolean }>)('$name → $changed', (c) => {
    expect(conditionsChanged('left' in c ? c.left : base, c.other)).toBe(c.changed);
  });
});

describe('progressSummary: the exact Ready condition', () => {
  it.each([
    { conditions: [condition('A', 'True'), condition('B', 'True')], ready: { type: 'Ready', status: 'True', reason: 'Ready', message: 'all conditions are satisfied' } },
    { conditions: [condition('A', 'True'), condition('B', 'Unknown', 'Waiting', 'soon')], ready: { type: 'Ready', status: 'False', reason: 'Waiting', message: 'B: soon' } },
    { conditions: [condition('A', 'False', 'Broken', 'why'), condition('B', 'False', 'Other', 'x')], ready: { type: 'Ready', status: 'False', reason: 'Broken', message: 'A: why' } },
    { conditions: [condition('B', 'True')], ready: { type: 'Ready', status: 'False', reason: 'Pending', message: 'A: A has not been reported yet' } },
    { conditions: undefined, ready: { type: 'Ready', status: 'False', reason: 'Pending', message: 'A: A has not been reported yet' } },
  ])('%#', ({ conditions, ready }) => {
    expect(progressSummary(conditions, ['A', 'B'], 1).ready).toEqual(ready);
  });
});

describe('rfc3339: whole seconds', () => {
  it('rfc3339 drops only the milliseconds', () => {
    expect(rfc3339(new Date('2026-02-02T10:20:30.456Z'))).toBe('2026-02-02T10:20:30Z');
    expect(rfc3339(new Date('2026-02-02T10:20:30Z'))).toBe('2026-02-02T10:20:30Z');
  });
});

describe('setConditions: on a copy', () => {
  it('leaves the input alone, replaces by type in place and appends new types in the order given', () => {
    const input = [condition('A', 'True'), condition('B', 'True')];
    const result = setConditions(input, [{ type: 'C', status: 'True', reason: 'C', message: 'c' }, { type: 'A', status: 'False', reason: 'X', message: 'x' }], 4, now);
    expect(input.map((c) => c.status)).toEqual(['True', 'True']);
    expect(result.map((c) => [c.type, c.status, c.observedGeneration])).toEqual([['A', 'False', 4], ['B', 'True', 1], ['C', 'True', 4]]);
    expect(setConditions(undefined, [], 1, now)).toEqual([]);
  });
});

describe('progressSummary (Ready, Reconciling, Stalled as kstatus and Argo CD read them)', () => {
  const at = conditionAt;
  const order = ['Accepted', 'ResolvedRefs', 'Synced'];
  const ok = [at('Accepted', 'True', 'Accepted'), at('ResolvedRefs', 'True', 'ResolvedRefs')];

  it.each([
    { name: 'all True for this generation', conditions: [...ok, at('Synced', 'True', 'Synced')], ready: 'True', reconciling: 'False', stalled: 'False', reason: 'Ready', observed: true },
    { name: 'waiting for the acknowledgement', conditions: [...ok, at('Synced', 'False', 'Pending')], ready: 'False', reconciling: 'True', stalled: 'False', reason: 'Pending', observed: true },
    { name: 'a retryable refusal', conditions: [...ok, at('Synced', 'False', 'Retrying')], ready: 'False', reconciling: 'True', stalled: 'False', reason: 'Retrying', observed: true },
    { name: 'disconnected', conditions: [...ok, at('Synced', 'False', 'Disconnected')], ready: 'False', reconciling: 'True', stalled: 'False', reason: 'Disconnected', observed: true },
    { name: 'rejected by the control plane', conditions: [...ok, at('Synced', 'False', 'Rejected')], ready: 'False', reconciling: 'False', stalled: 'True', reason: 'Rejected', observed: true },
    { name: 'refused, not retried', conditions: [...ok, at('Synced', 'False', 'Refused')], ready: 'False', reconciling: 'False', stalled: 'True', reason: 'Refused', observed: true },
    { name: 'a backend Service missing', conditions: [ok[0]!, at('ResolvedRefs', 'False', 'ServiceNotFound'), at('Synced', 'False', 'BackendUnresolved')], ready: 'False', reconciling: 'False', stalled: 'True', reason: 'ServiceNotFound', observed: true },
    { name: 'no routes', conditions: [at('Accepted', 'False', 'NoRoutes'), ok[1]!, at('Synced', 'True', 'Synced')], ready: 'False', reconciling: 'False', stalled: 'True', reason: 'NoRoutes', observed: true },
    { name: 'an input computed for an older generation', conditions: [at('Accepted', 'True', 'Accepted', 1), ok[1]!, at('Synced', 'True', 'Synced')], ready: 'False', reconciling: 'True', stalled: 'False', reason: 'Progressing', observed: false },
    { name: 'an input not reported yet', conditions: [...ok], ready: 'False', reconciling: 'True', stalled: 'False', reason: 'Pending', observed: false },
    { name: 'a stale input does not hide a stalled one', conditions: [at('Accepted', 'True', 'Accepted', 1), ok[1]!, at('Synced', 'False', 'Rejected')], ready: 'False', reconciling: 'False', stalled: 'True', reason: 'Rejected', observed: false },
  ])('$name', ({ conditions, ready, reconciling, stalled, reason, observed }) => {
    const summary = progressSummary(conditions, order, 2);
    expect([summary.ready.status, summary.reconciling.status, summary.stalled.status]).toEqual([ready, reconciling, stalled]);
    expect(summary.ready.reason).toBe(reason);
    expect(summary.observed).toBe(observed);
    if (stalled === 'True') expect(summary.stalled.reason).toBe(reason);
    if (reconciling === 'True') expect(summary.reconciling.reason).toBe(reason);
  });
});

describe('ownConditions', () => {
  it('keeps only the updated types, with their transition times where the status held', () => {
    const previous = [condition('A', 'True'), condition('B', 'False'), condition('Other', 'True')];
    const result = ownConditions(previous, [{ type: 'A', status: 'True', reason: 'A', message: 'a' }, { type: 'B', status: 'True', reason: 'B', message: 'b' }], 2, now);
    expect(result).toEqual([
      { type: 'A', status: 'True', reason: 'A', message: 'a', lastTransitionTime: earlier, observedGeneration: 2 },
      { type: 'B', status: 'True', reason: 'B', message: 'b', lastTransitionTime: '2026-02-02T10:20:30Z', observedGeneration: 2 },
    ]);
  });
});

// A message made of parts a peer chose (rejection reasons) must still fit the CRD (maxLength 32768).
describe('listWithin and the message limit', () => {
  it.each([
    { name: 'all fit', items: ['a', 'b', 'c'], budget: 100, expected: 'a; b; c' },
    { name: 'the rest counted', items: ['aaaa', 'bbbb', 'cccc', 'dddd'], budget: 30, expected: 'aaaa; and 3 more' },
    { name: 'nothing fits', items: ['x'.repeat(50)], budget: 10, expected: 'and 1 more' },
    { name: 'a long item is cut', items: ['y'.repeat(20)], budget: 100, itemChars: 5, expected: 'yyyyy…' },
    { name: 'none', items: [], budget: 10, expected: '' },
  ])('$name', ({ items, budget, itemChars, expected }) => {
    expect(listWithin(items, budget, itemChars)).toBe(expected);
  });

  it('250 rejections of 200 characters each stay within the CRD limit, counted', () => {
    const reasons = Array.from({ length: 250 }, (_, i) => `ns/route-${i}/Prefix:h${i}.example.com/: ${'refused by policy '.repeat(10)}`);
    const message = `the control plane rejected 250 route(s): ${listWithin(reasons, MAX_CONDITION_MESSAGE - 256)}`;
    expect(message.length).toBeLessThanOrEqual(MAX_CONDITION_MESSAGE);
    expect(message).toMatch(/; and \d+ more$/);
  });

  it('setConditions cuts any message past the limit, so a status write is never refused for it', () => {
    const [condition] = setConditions([], [{ type: 'Synced', status: 'False', reason: 'Rejected', message: 'm'.repeat(100_000) }], 1, new Date(0));
    expect(condition?.message.length).toBeLessThanOrEqual(MAX_CONDITION_MESSAGE);
    expect(condition?.message.endsWith('… (truncated)')).toBe(true);
  });
});

import { describe, expect, it } from '@jest/globals';
import { negotiateVersion, pickConnection, retryDecision, type Candidate, type FailedExchange } from '../../../src/reference-control-plane/connections.js';

describe('negotiateVersion', () => {
  it.each([
    { offered: [2], served: [2, 3], picked: 2 },
    { offered: [3], served: [2, 3], picked: 3 },
    { offered: [2, 3], served: [2, 3], picked: 3 },
    { offered: [3, 2], served: [2, 3], picked: 3 },
    { offered: [1], served: [2, 3], picked: undefined },
    { offered: [], served: [2, 3], picked: undefined },
    { offered: [4, 2], served: [2, 3], picked: 2 },
  ])('offered $offered, served $served: $picked', ({ offered, served, picked }) => {
    expect(negotiateVersion(offered, served)).toBe(picked);
  });
});

describe('pickConnection', () => {
  const c = (name: string, order: number, inFlight: number, draining = false): Candidate & { name: string } => ({ name, order, inFlight, draining });
  it.each([
    { why: 'none: nothing to pick', connections: [], picked: undefined },
    { why: 'the fewest in flight', connections: [c('a', 1, 3), c('b', 2, 1), c('c', 3, 2)], picked: 'b' },
    { why: 'a tie: the earliest registered', connections: [c('b', 2, 1), c('a', 1, 1), c('c', 3, 1)], picked: 'a' },
    { why: 'a draining one gets nothing new, however idle', connections: [c('a', 1, 0, true), c('b', 2, 9)], picked: 'b' },
    { why: 'every one draining: the least busy of them rather than a 503', connections: [c('a', 1, 4, true), c('b', 2, 2, true)], picked: 'b' },
    { why: 'one alone, draining', connections: [c('a', 1, 0, true)], picked: 'a' },
  ])('$why', ({ connections, picked }) => {
    expect(pickConnection(connections)?.name).toBe(picked);
  });
});

describe('retryDecision', () => {
  const exchange = (over: Partial<FailedExchange>): FailedExchange => ({ method: 'GET', answerBegun: false, bodyStreamed: false, retried: false, otherConnection: true, ...over });
  it.each<{ over: Partial<FailedExchange>; retry?: true; reason?: string }>([
    { over: {}, retry: true },
    ...['HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE', 'get'].map((method) => ({ over: { method }, retry: true as const })),
    { over: { method: 'POST' }, reason: 'POST is not idempotent' },
    { over: { method: 'PATCH' }, reason: 'PATCH is not idempotent' },
    { over: { method: 'CONNECT' }, reason: 'CONNECT is not idempotent' },
    { over: { answerBegun: true }, reason: 'its answer had begun' },
    { over: { answerBegun: true, method: 'POST' }, reason: 'its answer had begun' },
    { over: { method: 'PUT', bodyStreamed: true }, reason: 'its request body was streamed' },
    { over: { retried: true }, reason: 'it was already retried once' },
    { over: { otherConnection: false }, reason: 'no other connection of the cluster can take it' },
  ])('$over', ({ over, retry, reason }) => {
    expect(retryDecision(exchange(over))).toEqual(retry ? { retry: true } : { retry: false, reason });
  });
});

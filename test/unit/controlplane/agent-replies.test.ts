import { describe, expect, it } from '@jest/globals';
import { parseFrame } from '../../../src/controlplane/protocol.js';
import { AGENT_REPLY_SCHEMAS, answerStep, invalidHeaders, isFinalStatus, type AnswerState } from '../../../src/reference-control-plane/agent-replies.js';
import { SourceLimiter } from '../../../src/reference-control-plane/source-limiter.js';
import { withoutBodies } from '../../../src/reference-control-plane/server.js';
import { decodePathSegment } from '../../../src/routing/request-path.js';

describe('isFinalStatus', () => {
  it.each([
    [200, true], [204, true], [302, true], [404, true], [599, true],
    [100, false], [101, false], [103, false], [199, false], [600, false], [1000, false], [0, false], [-200, false], [200.5, false], ['200', false], [null, false], [undefined, false],
  ])('%p → %p', (status, want) => {
    expect(isFinalStatus(status)).toBe(want);
  });
});

describe('invalidHeaders', () => {
  it.each([
    { name: 'none', headers: {}, problem: undefined },
    { name: 'strings and lists', headers: { 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] }, problem: undefined },
    { name: 'tab and obs-text in a value', headers: { 'x-a': 'a\tb\u00e9' }, problem: undefined },
    { name: 'not an object', headers: 'x', problem: /must be an object/ },
    { name: 'an array', headers: ['a'], problem: /must be an object/ },
    { name: 'a space in the name', headers: { 'bad name': 'v' }, problem: /not a token/ },
    { name: 'an empty name', headers: { '': 'v' }, problem: /not a token/ },
    { name: 'a colon in the name', headers: { 'a:b': 'v' }, problem: /not a token/ },
    { name: 'CR LF in a value', headers: { 'x-a': 'v\r\nset-cookie: stolen' }, problem: /control character/ },
    { name: 'NUL in a listed value', headers: { 'x-a': ['ok', 'v\u0000'] }, problem: /control character/ },
    { name: 'a value beyond latin-1', headers: { 'x-a': '\u2028' }, problem: /control character/ },
    { name: 'a number', headers: { 'content-length': 5 }, problem: /must be a string/ },
    { name: 'a nested object', headers: { 'x-a': { b: 'c' } }, problem: /must be a string/ },
  ])('$name', ({ headers, problem }) => {
    const result = invalidHeaders(headers);
    if (problem) expect(result).toMatch(problem);
    else expect(result).toBeUndefined();
  });
});

describe('AGENT_REPLY_SCHEMAS', () => {
  const frame = (type: string, payload: unknown) => parseFrame(JSON.stringify({ type, request_id: 'r', payload }), AGENT_REPLY_SCHEMAS);
  it.each([
    { type: 'proxy_response', payload: { status: 200, headers: {}, body: '' }, ok: true },
    { type: 'proxy_response', payload: { status: 1000, headers: {}, body: '' }, ok: false },
    { type: 'proxy_response', payload: { status: 101, headers: {}, body: '' }, ok: false },
    { type: 'proxy_response', payload: { status: 200, headers: { 'a b': 'c' }, body: '' }, ok: false },
    { type: 'proxy_response', payload: { status: 200, headers: {}, body: 5 }, ok: false },
    { type: 'proxy_response_header', payload: { status: 200, headers: { 'x-a': 'b' } }, ok: true },
    { type: 'proxy_response_header', payload: { status: 200 }, ok: false },
    { type: 'proxy_response_chunk', payload: { data: 'aGk=' }, ok: true },
    { type: 'proxy_response_chunk', payload: { data: { length: 5 } }, ok: false },
    { type: 'proxy_response_chunk', payload: {}, ok: false },
    { type: 'proxy_error', payload: { status: 502, error: 'down' }, ok: true },
    { type: 'proxy_error', payload: { status: 99, error: 'down' }, ok: false },
    { type: 'ws_error', payload: { status: 403, error: 'no' }, ok: true },
    { type: 'ws_error', payload: { status: 101, error: 'no' }, ok: false },
    { type: 'ws_message', payload: { data: [1, 2], binary: true }, ok: false },
  ])('$type $payload → ok $ok', ({ type, payload, ok }) => {
    expect(frame(type, payload).ok).toBe(ok);
  });
});

describe('answerStep', () => {
  it.each<[AnswerState, string, string]>([
    ['awaiting', 'proxy_response', 'done'],
    ['awaiting', 'proxy_error', 'done'],
    ['awaiting', 'proxy_response_header', 'streaming'],
    ['awaiting', 'proxy_response_chunk', 'out of order'],
    ['awaiting', 'proxy_response_end', 'out of order'],
    ['streaming', 'proxy_response_chunk', 'streaming'],
    ['streaming', 'proxy_response_end', 'done'],
    ['streaming', 'proxy_error', 'done'],
    ['streaming', 'proxy_response_header', 'out of order'],
    ['streaming', 'proxy_response', 'out of order'],
    ['awaiting', 'ws_message', 'out of order'],
  ])('%s + %s → %s', (state, type, want) => {
    const step = answerStep(state, type);
    expect(step.ok ? step.next : 'out of order').toBe(want);
    if (!step.ok) expect(step.problem).toContain(type);
  });
});

describe('SourceLimiter', () => {
  it('gives each address its own slots, up to the maximum, and each release back once', () => {
    const limiter = new SourceLimiter(2);
    const first = limiter.acquire('10.0.0.1');
    const second = limiter.acquire('10.0.0.1');
    expect(first && second).toBeTruthy();
    expect(limiter.acquire('10.0.0.1')).toBeUndefined();
    expect(limiter.acquire('10.0.0.2')).toBeDefined();
    first!();
    first!(); // close and error may both release: counted once
    expect(limiter.held('10.0.0.1')).toBe(1);
    expect(limiter.acquire('10.0.0.1')).toBeDefined();
    expect(limiter.acquire('10.0.0.1')).toBeUndefined();
  });
});

describe('withoutBodies', () => {
  it.each([
    { type: 'proxy_response', payload: { status: 200, headers: {}, body: Buffer.from('hello').toString('base64') }, want: { status: 200, headers: {}, body_bytes: 5 } },
    { type: 'proxy_response_chunk', payload: { data: Buffer.from('abc') }, want: { data_bytes: 3 } },
    { type: 'proxy_request_chunk', payload: { data: 'AAAA' }, want: { data_bytes: 3 } },
    { type: 'ws_message', payload: { data: 'aGk=', binary: false }, want: { binary: false, data_bytes: 2 } },
    { type: 'heartbeat', payload: { status: 'healthy' }, want: { status: 'healthy' } },
    { type: 'proxy_response_end', payload: {}, want: {} },
  ])('$type', ({ type, payload, want }) => {
    expect(withoutBodies(type, payload)).toEqual(want);
  });
});

describe('decodePathSegment', () => {
  it.each([
    ['abc', 'abc'],
    ['a%20b', 'a b'],
    ['%E0%A4%A', undefined],
    ['%', undefined],
    ['%ZZ', undefined],
  ])('%s → %p', (segment, want) => {
    expect(decodePathSegment(segment)).toBe(want);
  });
});

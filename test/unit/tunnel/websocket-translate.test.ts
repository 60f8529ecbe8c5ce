import { describe, expect, it } from '@jest/globals';
import { closeCodeToSend, closeReasonToSend, offeredProtocols, upgradeHeaders } from '../../../src/tunnel/websocket-translate.js';
import { requestFraming } from '../../../src/tunnel/headers.js';

describe('closeCodeToSend', () => {
  it.each([
    [undefined, undefined],
    [1005, undefined], // no code was given: close without one
    [1000, 1000],
    [1001, 1001],
    [1003, 1003],
    [1004, 1011], // reserved
    [1006, 1011], // abnormal closure: never sent in a frame
    [1007, 1007],
    [1014, 1014],
    [1015, 1011], // TLS failure: never sent
    [2999, 1011],
    [3000, 3000],
    [4999, 4999],
    [5000, 1011],
    [999, 1011],
  ])('%p → %p', (code, sent) => expect(closeCodeToSend(code)).toBe(sent));
});

describe('closeReasonToSend', () => {
  it.each([
    { name: 'none', reason: undefined, sent: '' },
    { name: 'short', reason: 'bye', sent: 'bye' },
    { name: '123 bytes exactly', reason: 'a'.repeat(123), sent: 'a'.repeat(123) },
    { name: 'too long', reason: 'a'.repeat(200), sent: 'a'.repeat(123) },
    { name: 'multi-byte, cut on a character', reason: 'é'.repeat(100), sent: 'é'.repeat(61) },
  ])('$name', ({ reason, sent }) => {
    expect(closeReasonToSend(reason)).toBe(sent);
    expect(Buffer.byteLength(closeReasonToSend(reason))).toBeLessThanOrEqual(123);
  });
});

describe('closeReasonToSend: long multi-byte reasons fit a control frame and stay well-formed', () => {
  const LONG = 400_000;
  // Well-formed: survives a UTF-8 round trip unchanged (a lone surrogate would come back as U+FFFD).
  const wellFormed = (s: string): boolean => Buffer.from(s, 'utf8').toString('utf8') === s;
  it.each<{ name: string; reason: string; bytes: number; sent?: string }>([
    { name: '2-byte characters', reason: 'é'.repeat(LONG), bytes: 122 },
    { name: '3-byte characters', reason: '€'.repeat(LONG), bytes: 123 },
    { name: 'CJK', reason: '字'.repeat(LONG), bytes: 123 },
    { name: 'surrogate pairs (4 bytes, 2 UTF-16 units)', reason: '😀'.repeat(LONG), bytes: 120 },
    { name: 'a pair that would end past 123 bytes is left out whole', reason: 'a😀'.repeat(LONG), bytes: 121 },
    { name: 'ASCII then a pair across the limit', reason: `${'a'.repeat(121)}😀${'b'.repeat(LONG)}`, bytes: 121, sent: 'a'.repeat(121) },
    { name: 'combining marks', reason: 'e\u0301'.repeat(LONG), bytes: 123 },
    { name: 'lone high surrogates become U+FFFD', reason: '\uD83D'.repeat(LONG), bytes: 123, sent: '\uFFFD'.repeat(41) },
    { name: 'lone low surrogates become U+FFFD', reason: '\uDE00'.repeat(LONG), bytes: 123, sent: '\uFFFD'.repeat(41) },
    { name: 'a lone surrogate among text', reason: `ok\uD83Dfine${'x'.repeat(LONG)}`, bytes: 123, sent: `ok\uFFFDfine${'x'.repeat(123 - 9)}` },
    { name: 'a pair in reverse order: two lone surrogates', reason: '\uDE00\uD83D', bytes: 6, sent: '\uFFFD\uFFFD' },
  ])('$name', ({ reason, bytes, sent }) => {
    const result = closeReasonToSend(reason);
    expect(Buffer.byteLength(result)).toBe(bytes);
    expect(Buffer.byteLength(result)).toBeLessThanOrEqual(123);
    expect(wellFormed(result)).toBe(true);
    if (sent !== undefined) expect(result).toBe(sent);
    else expect(reason.startsWith(result)).toBe(true);
  });
});

describe('upgradeHeaders', () => {
  it('leaves out hop-by-hop and handshake headers, keeps the rest', () => {
    expect(
      upgradeHeaders({
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-key': 'k',
        'sec-websocket-version': '13',
        'sec-websocket-protocol': 'chat',
        'sec-websocket-extensions': 'permessage-deflate',
        cookie: 'a=b',
        origin: 'https://app.example.com',
        authorization: 'Bearer user',
        'x-list': ['1', '2'],
      }),
    ).toEqual({ cookie: 'a=b', origin: 'https://app.example.com', authorization: 'Bearer user', 'x-list': ['1', '2'] });
  });
});

describe('offeredProtocols', () => {
  it.each([
    [undefined, []],
    ['chat', ['chat']],
    ['chat, superchat', ['chat', 'superchat']],
    [['a,b', ' c '], ['a', 'b', 'c']],
    [' , ', []],
  ])('%p → %p', (header, protocols) => expect(offeredProtocols(header)).toEqual(protocols));
});

// How a tunnelled request's body is framed: the ways a request is smuggled to a kept-alive backend are refused.
describe('requestFraming', () => {
  it.each<[string, Record<string, string | string[]>, unknown]>([
    ['no body headers', {}, { chunked: false }],
    ['a length', { 'content-length': '12' }, { length: 12, chunked: false }],
    ['a zero length', { 'content-length': '0' }, { length: 0, chunked: false }],
    ['chunked', { 'transfer-encoding': 'chunked' }, { chunked: true }],
    ['two lengths in one header', { 'content-length': ['1', '2'] }, { error: 'Content-Length must be one decimal number' }],
    ['two lengths in two spellings', { 'content-length': '5', 'Content-Length': '50' }, { error: 'Content-Length must be one decimal number' }],
    ['a length that is no number', { 'content-length': '5, 5' }, { error: 'Content-Length must be one decimal number' }],
    ['a negative length', { 'content-length': '-1' }, { error: 'Content-Length must be one decimal number' }],
    ['length and chunked', { 'content-length': '5', 'Transfer-Encoding': 'chunked' }, { error: 'a request may not have both Content-Length and chunked Transfer-Encoding' }],
  ])('%s', (_name, headers, expected) => {
    expect(requestFraming(headers)).toEqual(expected);
  });
});

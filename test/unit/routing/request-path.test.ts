import { describe, expect, it } from '@jest/globals';
import { checkRequestPath, checkRequestQuery, checkRequestTarget, decodePathSegment } from '../../../src/routing/request-path.js';

// The one rule both ends of the tunnel apply: what is refused here never reaches a backend.
describe('checkRequestPath', () => {
  it.each([
    ['/', true],
    ['/api/v1/items', true],
    ['/api/file.txt', true],
    ['/a/.hidden', true],
    ['/a/...', true],
    ['/%7Euser/caf%C3%A9', true],
    ['/a;b=c/d', true],
    ['/api//x', true],
    // traversal in every spelling a backend might decode
    ['/api/../admin', false],
    ['/api/./admin', false],
    ['/api/..', false],
    ['/api/..;/admin', false],
    ['/api/..;jsessionid=1/admin', false],
    ['/api/.;/admin', false],
    ['/api/%2e%2e/admin', false],
    ['/api/%2E%2e;/admin', false],
    ['/api/.%2e/admin', false],
    // encoded separators and backslashes
    ['/api%2fadmin', false],
    ['/api/%2Fadmin', false],
    ['/api/%5cadmin', false],
    ['/api\\..\\admin', false],
    // not origin form
    ['@127.0.0.1:8080/x', false],
    ['http://evil/x', false],
    ['//evil.example.com/x'.slice(1), true], // "/evil.example.com/x" is a plain path
    ['', false],
    ['/a#frag', false],
    ['/a b', false],
    ['/a\tb', false],
    ['/a\r\nHost: x', false],
    ['/a\u0000', false],
    ['/caf\u00e9', false],
    // escapes
    ['/a%', false],
    ['/a%zz', false],
    ['/a%C0%AE%C0%AE/x', false],
    ['/api/..%00/admin', false],
    ['/api/..%20/admin', false],
    ['/api/.%252e/admin', false],
    ['/api/%252f', false],
    ['/a%20b', true],
    ['/100%25', true],
    [`/${'a'.repeat(8192)}`, false],
  ])('%j → %s', (path, ok) => {
    expect(checkRequestPath(path).ok).toBe(ok);
  });

  it('says why', () => {
    expect(checkRequestPath('/api/..;/admin')).toEqual({ ok: false, error: 'path segment "..;" is a dot segment' });
    expect(checkRequestPath('/api%2fadmin')).toEqual({ ok: false, error: 'path segment "api%2fadmin" holds an encoded "/" or "\\"' });
  });
});

describe('checkRequestQuery and checkRequestTarget', () => {
  it.each([
    ['a=1&b=2', true],
    ['q=%2e%2e%2f', true],
    ['a=..', true],
    ['a=b#c', false],
    ['a= b', false],
    ['a=\r\n', false],
  ])('query %j → %s', (query, ok) => {
    expect(checkRequestQuery(query).ok).toBe(ok);
  });

  it('checks the path, then the query', () => {
    expect(checkRequestTarget('/x', undefined).ok).toBe(true);
    expect(checkRequestTarget('/x', '').ok).toBe(true);
    expect(checkRequestTarget('/..', 'a=1').ok).toBe(false);
    expect(checkRequestTarget('/x', 'a b').ok).toBe(false);
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

import { describe, expect, it } from '@jest/globals';
import { matchRoute, normalizeHost, type MatchableRoute } from '../../../src/routing/match.js';

type Named = MatchableRoute & { id: string };
const r = (id: string, host: string, path: string, path_type: MatchableRoute['path_type'] = 'Prefix'): Named => ({ id, host, path, path_type });

describe('matchRoute', () => {
  const routes: Named[] = [
    r('root', 'a.example.com', '/'),
    r('foo', 'a.example.com', '/foo'),
    r('foo-exact', 'a.example.com', '/foo', 'Exact'),
    r('foo-bar', 'a.example.com', '/foo/bar/'),
    r('impl', 'a.example.com', '/impl', 'ImplementationSpecific'),
    r('wild', '*.example.com', '/'),
    r('catch', '', '/'),
    r('dup-old', 'dup.example.com', '/x'),
    r('dup-new', 'dup.example.com', '/x'),
  ];
  it.each([
    ['a.example.com', '/', 'root'],
    ['A.Example.com:8443', '/', 'root'],
    ['a.example.com', '/foo', 'foo-exact'],
    ['a.example.com', '/foo/', 'foo'],
    ['a.example.com', '/foo/baz', 'foo'],
    ['a.example.com', '/foobar', 'root'],
    ['a.example.com', '/FOO', 'root'],
    ['a.example.com', '/foo/bar', 'foo-bar'],
    ['a.example.com', '/foo/bar/baz?x=1', 'foo-bar'],
    ['a.example.com', '/impl/x', 'impl'],
    ['b.example.com', '/anything', 'wild'],
    ['x.b.example.com', '/', 'catch'],
    ['example.com', '/', 'catch'],
    ['dup.example.com', '/x', 'dup-old'],
  ])('%s %s → %s', (host, path, id) => {
    expect(matchRoute(routes, host, path)?.id).toBe(id);
  });

  it('no match → undefined (404)', () => {
    expect(matchRoute([r('only', 'a.example.com', '/api')], 'a.example.com', '/')).toBeUndefined();
    expect(matchRoute([r('only', 'a.example.com', '/')], 'other.com', '/')).toBeUndefined();
  });

  it('an Exact route does not match with a trailing slash', () => {
    expect(matchRoute([r('e', 'h', '/foo', 'Exact')], 'h', '/foo/')).toBeUndefined();
  });
});

describe('normalizeHost', () => {
  it.each([['Shop.Example.COM', 'shop.example.com'], ['shop.example.com:8080', 'shop.example.com'], ['[::1]:8080', '[::1]']])('%s → %s', (input, out) => {
    expect(normalizeHost(input)).toBe(out);
  });
});

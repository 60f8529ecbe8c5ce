import { describe, expect, it } from '@jest/globals';
import { acceptsTrailers, forwardableTrailers, stripHopByHop } from '../../../src/tunnel/headers.js';

describe('stripHopByHop', () => {
  it('leaves out hop-by-hop headers, those Connection lists, and HTTP/2 pseudo-headers; names in lower case', () => {
    expect(
      stripHopByHop({ ':method': 'POST', ':path': '/x', ':authority': 'a.example.com', Connection: 'x-private', 'X-Private': '1', TE: 'trailers', 'Transfer-Encoding': 'chunked', Accept: 'a', 'content-type': 'application/grpc' }),
    ).toEqual({ accept: 'a', 'content-type': 'application/grpc' });
  });
});

describe('acceptsTrailers', () => {
  it.each([
    [{ te: 'trailers' }, true],
    [{ TE: 'Trailers' }, true],
    [{ te: 'gzip, trailers;q=0.5' }, true],
    [{ te: ['deflate', 'trailers'] }, true],
    [{ te: 'gzip' }, false],
    [{ te: 'trailersx' }, false],
    [{}, false],
    [{ 'x-te': 'trailers' }, false],
  ])('%p → %p', (headers, want) => {
    expect(acceptsTrailers(headers)).toBe(want);
  });
});

describe('forwardableTrailers', () => {
  it('keeps what a trailer section may carry, in lower case, and drops framing, routing and hop-by-hop fields', () => {
    expect(
      forwardableTrailers({ 'Grpc-Status': '0', 'grpc-message': 'ok', 'x-list': ['1', '2'], 'content-length': '5', 'Transfer-Encoding': 'chunked', host: 'h', connection: 'close', ':status': '200', 'content-type': 'x', trailer: 'a' }),
    ).toEqual({ 'grpc-status': '0', 'grpc-message': 'ok', 'x-list': '1, 2' }); // a repeated field combined into one string, as the wire takes it
  });

  it('is undefined when nothing is left, or there were none', () => {
    expect(forwardableTrailers(undefined)).toBeUndefined();
    expect(forwardableTrailers({})).toBeUndefined();
    expect(forwardableTrailers({ 'content-length': '1', absent: undefined })).toBeUndefined();
  });
});

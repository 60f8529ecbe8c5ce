// Hop-by-hop headers belong to one connection and are never forwarded (RFC 9110 §7.6.1). Pure.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/**
 * Fields a trailer section may not carry, or that a recipient must not apply from one (RFC 9110 §6.5.1):
 * hop-by-hop fields, framing, routing and how the content is to be read. Dropped both ways.
 */
const NOT_IN_TRAILERS = new Set([...HOP_BY_HOP, 'http2-settings', 'content-length', 'content-encoding', 'content-type', 'content-range', 'host']);

export type HeaderMap = Record<string, string | string[]>;

/**
 * The headers to pass on: hop-by-hop ones (and those the Connection header lists) left out, as are HTTP/2's
 * pseudo-header fields (`:method`, `:path`, …), which are not header fields. Names in lower case.
 */
export function stripHopByHop(headers: Record<string, string | string[] | undefined>): HeaderMap {
  const listed = new Set(
    [headers.connection ?? headers.Connection ?? []].flat().flatMap((v) => String(v).split(',')).map((v) => v.trim().toLowerCase()).filter(Boolean),
  );
  const out: HeaderMap = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || HOP_BY_HOP.has(lower) || listed.has(lower) || lower.startsWith(':')) continue;
    out[lower] = value;
  }
  return out;
}

/**
 * Whether a request's TE header says its client takes trailers (`TE: trailers`, the one TE value HTTP/2
 * allows). TE is hop-by-hop: a proxy that passes trailers on says so again on its own hop. Pure.
 */
export function acceptsTrailers(headers: Record<string, string | string[] | undefined>): boolean {
  const te = Object.entries(headers).filter(([name]) => name.toLowerCase() === 'te').flatMap(([, value]) => [value ?? []].flat());
  return te.some((value) => value.split(',').some((part) => part.split(';')[0]?.trim().toLowerCase() === 'trailers'));
}

/** The trailers to pass on (names in lower case), without the fields a trailer section may not carry; undefined when none is left. Pure. */
export function forwardableTrailers(trailers: Record<string, string | string[] | undefined> | undefined): HeaderMap | undefined {
  if (!trailers) return undefined;
  let out: HeaderMap | undefined;
  for (const [name, value] of Object.entries(trailers)) {
    const lower = name.toLowerCase();
    if (value === undefined || NOT_IN_TRAILERS.has(lower) || lower.startsWith(':')) continue;
    // A trailer field is one string on the wire (protocol.md): repeated lines are combined as HTTP combines a
    // list-valued field, rather than the answer refused.
    (out ??= {})[lower] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/**
 * How a request's body is framed, from its headers: one decimal Content-Length, or chunked, never both and never
 * two lengths (the ways a request is smuggled past a proxy). Pure.
 */
export function requestFraming(headers: Record<string, string | string[]>): { length?: number; chunked: boolean } | { error: string } {
  // Header names in any case: a peer may send both "Content-Length" and "content-length".
  const lengths = Object.entries(headers).filter(([name]) => name.toLowerCase() === 'content-length').flatMap(([, value]) => [value].flat());
  const chunked = Object.entries(headers).some(([name, value]) => name.toLowerCase() === 'transfer-encoding' && /chunked/i.test(String(value)));
  if (lengths.length === 0) return { chunked };
  const [length] = lengths;
  if (lengths.length > 1 || !/^\d{1,15}$/.test(length ?? '')) return { error: 'Content-Length must be one decimal number' };
  if (chunked) return { error: 'a request may not have both Content-Length and chunked Transfer-Encoding' };
  return { length: Number(length), chunked: false };
}

// Hop-by-hop headers belong to one connection and are never forwarded (RFC 9110 §7.6.1). Pure.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

export type HeaderMap = Record<string, string | string[]>;

export function stripHopByHop(headers: Record<string, string | string[] | undefined>): HeaderMap {
  const listed = new Set(
    [headers.connection ?? headers.Connection ?? []].flat().flatMap((v) => String(v).split(',')).map((v) => v.trim().toLowerCase()).filter(Boolean),
  );
  const out: HeaderMap = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || HOP_BY_HOP.has(lower) || listed.has(lower)) continue;
    out[lower] = value;
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

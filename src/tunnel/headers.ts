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

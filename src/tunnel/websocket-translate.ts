// What a WebSocket stream passes on, both at the gateway and in the operator. Pure.
import { stripHopByHop, type HeaderMap } from './headers.js';

/**
 * The close code to send on the other side of a stream, for a side that closed with `code`. 1005 (no code
 * given) closes without a code; codes that must never be sent in a close frame (1006 abnormal closure, 1015
 * TLS failure, and anything outside the ranges a peer may send) become 1011: the other side went away.
 */
export function closeCodeToSend(code: number | undefined): number | undefined {
  if (code === undefined || code === 1005) return undefined;
  const sendable = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
  return sendable ? code : 1011;
}

/** The most bytes of UTF-8 a close reason may have: a control frame holds 125 bytes, 2 of them the code. */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * A close reason must fit a control frame: longer ones are cut on a character boundary. Reads at most
 * 123 characters of the input, whatever its length (a peer may send a long one). A lone surrogate (a JSON
 * string may carry one) becomes U+FFFD, which is what UTF-8 encoding sends for it anyway: the result is
 * always well-formed.
 */
export function closeReasonToSend(reason: string | undefined): string {
  if (!reason) return '';
  let bytes = 0;
  let sent = '';
  for (const char of reason) {
    // The iterator yields a pair whole, so a length-1 surrogate is a lone one.
    const whole = char.length === 1 && char >= '\uD800' && char <= '\uDFFF' ? '\uFFFD' : char;
    const size = Buffer.byteLength(whole);
    if (bytes + size > MAX_CLOSE_REASON_BYTES) break;
    bytes += size;
    sent += whole;
  }
  return sent;
}

/** The headers of an upgrade request to pass on: hop-by-hop and the handshake's own (Sec-WebSocket-*) left out. */
export function upgradeHeaders(headers: Record<string, string | string[] | undefined>): HeaderMap {
  const out = stripHopByHop(headers);
  for (const name of Object.keys(out)) if (name.startsWith('sec-websocket-')) delete out[name];
  return out;
}

/** The subprotocols a client offered in Sec-WebSocket-Protocol, in its order. */
export function offeredProtocols(header: string | string[] | undefined): string[] {
  return [header ?? []].flat().flatMap((value) => value.split(',')).map((p) => p.trim()).filter(Boolean);
}

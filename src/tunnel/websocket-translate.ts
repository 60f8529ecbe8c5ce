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

/** A close reason must fit a control frame (123 bytes of UTF-8): longer ones are cut on a character boundary. */
export function closeReasonToSend(reason: string | undefined): string {
  if (!reason) return '';
  let out = reason;
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -1);
  return out;
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

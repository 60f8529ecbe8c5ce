// What an agent may answer a proxied request or a WebSocket stream with, checked before any of it reaches
// a client: payload schemas (statuses a response can have, header names and values Node will write) and
// the order of one exchange's frames. A hostile or broken agent gets its exchange failed with 502, never a
// throw in the gateway. Pure.
import { isBool, isObject, isString, optional, WEBSOCKET_CLOSE_SCHEMA, WEBSOCKET_MESSAGE_SCHEMA, type FieldCheck, type Schema } from '../controlplane/protocol.js';

/** RFC 9110 token: what a header name may be made of. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What Node writes in a header value: no control characters but tab (no CR, LF or NUL). */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * A final status the gateway can answer a client with. 1xx are informational (Node sends them ahead of
 * the answer and the client keeps waiting for one), and 101 would switch protocols, so neither is final.
 */
export const isFinalStatus: FieldCheck = (v) => Number.isInteger(v) && (v as number) >= 200 && (v as number) <= 599;

/** Why a header map from an agent cannot be written to a client, or undefined when it can. */
export function invalidHeaders(headers: unknown): string | undefined {
  if (!isObject(headers)) return 'headers must be an object';
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
    if (!HEADER_NAME.test(name)) return `header name ${JSON.stringify(name)} is not a token`;
    const values = Array.isArray(value) ? (value as unknown[]) : [value];
    for (const v of values) {
      if (typeof v !== 'string') return `header ${name} must be a string or a list of strings`;
      if (!HEADER_VALUE.test(v)) return `header ${name} has a control character in its value`;
    }
  }
  return undefined;
}

export const isHeaderMap: FieldCheck = (v) => invalidHeaders(v) === undefined;

/** The agent's answers to proxy_request and ws_open (the rest of AGENT_SCHEMAS is in server.ts). */
export const AGENT_REPLY_SCHEMAS: Record<string, Schema> = {
  proxy_response: { status: isFinalStatus, headers: isHeaderMap, body: isString },
  proxy_response_header: { status: isFinalStatus, headers: isHeaderMap },
  proxy_response_chunk: { data: isString },
  proxy_response_end: {},
  proxy_error: { status: isFinalStatus, error: isString },
  proxy_flow: { paused: isBool },
  ws_opened: { protocol: optional(isString) },
  ws_error: { status: isFinalStatus, error: isString },
  ws_message: WEBSOCKET_MESSAGE_SCHEMA,
  ws_close: WEBSOCKET_CLOSE_SCHEMA,
  ws_flow: { paused: isBool },
};

/** Where one proxied request's answer is: not begun, or its header sent and chunks flowing. */
export type AnswerState = 'awaiting' | 'streaming';

export type AnswerStep = { ok: true; next: AnswerState | 'done' } | { ok: false; problem: string };

/**
 * The next state of an answer after a frame of `type`: one proxy_response or proxy_error, or one
 * proxy_response_header, then chunks, then proxy_response_end (or proxy_error, which cuts the response).
 * Anything else is out of order.
 */
export function answerStep(state: AnswerState, type: string): AnswerStep {
  switch (`${state} ${type}`) {
    case 'awaiting proxy_response':
    case 'awaiting proxy_error':
    case 'streaming proxy_error':
    case 'streaming proxy_response_end':
      return { ok: true, next: 'done' };
    case 'awaiting proxy_response_header':
    case 'streaming proxy_response_chunk':
      return { ok: true, next: 'streaming' };
    default:
      return { ok: false, problem: state === 'awaiting' ? `${type} before proxy_response_header` : `${type} after proxy_response_header` };
  }
}

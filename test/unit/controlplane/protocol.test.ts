import { describe, expect, it } from '@jest/globals';
import { agentSocketUrl } from '../../../src/controlplane/client.js';
import {
  bytesOf, checkFields, decodeBinaryFrame, encodeBinaryFrame, envelope, INBOUND_SCHEMAS, isArray, isBool, isNumber, isObject, isRoutingMode, isString, nonEmptyString, optional, parseFrame,
  type FieldCheck, type InboundMessage, type InboundPayloads, type InboundType,
} from '../../../src/controlplane/protocol.js';

const parse = (text: string) => parseFrame<InboundMessage>(text, INBOUND_SCHEMAS);

describe('parseFrame', () => {
  it.each([
    { name: 'not JSON', text: '{nope', code: 'bad_json' },
    { name: 'array', text: '[1]', code: 'bad_envelope' },
    { name: 'no type', text: '{"payload":{}}', code: 'bad_envelope' },
    { name: 'numeric type', text: '{"type":1}', code: 'bad_envelope' },
    { name: 'request_id not a string', text: '{"type":"ping","request_id":5}', code: 'bad_envelope' },
    { name: 'unknown type', text: '{"type":"launch_rockets","payload":{}}', code: 'unknown_type' },
    { name: 'prototype key as type', text: '{"type":"__proto__","payload":{}}', code: 'unknown_type' },
    { name: 'payload not an object', text: '{"type":"routes_ack","payload":"x"}', code: 'bad_payload' },
    { name: 'ack without revision', text: '{"type":"routes_ack","payload":{"accepted":[],"rejected":[]}}', code: 'bad_payload' },
    { name: 'ack with bad rejected', text: '{"type":"routes_ack","payload":{"revision":1,"accepted":[],"rejected":[{"key":1}]}}', code: 'bad_payload' },
    { name: 'register_success with empty id', text: '{"type":"register_success","payload":{"cluster_id":"","cluster_uuid":"u","protocol_version":2,"resume_revision":0}}', code: 'bad_payload' },
    { name: 'register_success without resume_revision', text: '{"type":"register_success","payload":{"cluster_id":"c","cluster_uuid":"u","protocol_version":2}}', code: 'bad_payload' },
    { name: 'fractional revision', text: '{"type":"routes_ack","payload":{"revision":1.5,"accepted":[],"rejected":[]}}', code: 'bad_payload' },
    { name: 'nack without retryable', text: '{"type":"routes_nack","payload":{"revision":1,"code":"x","message":"m"}}', code: 'bad_payload' },
    { name: 'proxy_request with bad headers', text: '{"type":"proxy_request","payload":{"method":"GET","path":"/","headers":{"a":1},"host":"h"}}', code: 'bad_payload' },
  ])('rejects $name as $code', ({ text, code }) => {
    const result = parse(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.code).toBe(code);
  });

  it.each([
    '{"type":"ping","request_id":"r1","payload":{},"timestamp":"2026-01-01T00:00:00Z"}',
    '{"type":"routes_ack","payload":{"revision":7,"accepted":["a/b/0"],"rejected":[{"key":"a/b/1","reason":"taken"}]}}',
    '{"type":"register_success","request_id":"x","payload":{"cluster_id":"c","cluster_uuid":"u","protocol_version":2,"resume_revision":0}}',
    '{"type":"routes_nack","request_id":"x","payload":{"revision":3,"code":"stale_revision","message":"m","retryable":true,"current_revision":9}}',
    '{"type":"proxy_request","request_id":"p","payload":{"method":"GET","path":"/","headers":{"a":"1","b":["2","3"]},"host":"h"}}',
    '{"type":"heartbeat_ack"}',
  ])('accepts %s', (text) => {
    expect(parse(text).ok).toBe(true);
  });

  // One of each, typed as the control plane sends it: a message type added to InboundPayloads needs a row here.
  const sent: { [T in InboundType]: InboundPayloads[T] } = {
    register_success: { cluster_id: 'c', cluster_uuid: 'u', protocol_version: 3, resume_revision: 0, max_frame_bytes: 1024 * 1024, binary_frames: true, trailers: true, role: 'tunnel', connections: 2 },
    sync_granted: { resume_revision: 7, connections: 2 },
    sync_revoked: { reason: 'another connection of this cluster claimed the route sync' },
    connections: { count: 3, draining: 1 },
    drain_ack: {},
    heartbeat_ack: {},
    routes_ack: { revision: 3, accepted: ['a/b/Prefix:h/'], rejected: [{ key: 'a/b/Prefix:g/', reason: 'taken' }] },
    routes_nack: { revision: 3, code: 'stale_revision', message: 'm', retryable: true, current_revision: 5 },
    error: { code: 'not_registered', message: 'm', type: 'routes_change' },
    ping: {},
    proxy_request: { method: 'GET', path: '/', query: 'a=1', headers: { accept: ['a', 'b'] }, host: 'h.example.com', namespace: 'ns', service_name: 'web', service_port: 80, timeout_ms: 1000, client: '10.0.0.1' },
    proxy_request_chunk: { data: 'aGk=' },
    proxy_request_end: {},
    proxy_cancel: {},
    proxy_flow: { paused: true },
    ws_open: { path: '/ws', headers: {}, host: 'h.example.com', protocols: ['chat'], client: '10.0.0.1' },
    ws_message: { data: 'aGk=', binary: true },
    ws_close: { code: 1001, reason: 'going away' },
    ws_flow: { paused: false },
  };
  it.each(Object.entries(sent))('%s as the control plane sends it passes', (type, payload) => {
    expect(parse(JSON.stringify(envelope(type, payload, 'r1')))).toMatchObject({ ok: true, message: { type, payload } });
  });

  it('keeps the request_id of a rejected frame so the error reply can carry it', () => {
    const result = parse('{"type":"routes_ack","request_id":"r9","payload":{}}');
    expect(result).toMatchObject({ ok: false, requestId: 'r9', type: 'routes_ack' });
  });
});

// Every limit a hostile control plane could push past (docs/protocol.md, "Limits"), and the value just inside it.
describe('parse-time limits of inbound frames', () => {
  const request = (fields: Record<string, unknown>, id: unknown = 'r1') =>
    JSON.stringify({ type: 'proxy_request', request_id: id, payload: { method: 'GET', path: '/', headers: {}, host: 'shop.example.com', ...fields } });
  const wsOpen = (fields: Record<string, unknown>) => JSON.stringify({ type: 'ws_open', request_id: 'w1', payload: { path: '/', headers: {}, host: 'h', ...fields } });
  const registered = (fields: Record<string, unknown>) =>
    JSON.stringify({ type: 'register_success', payload: { cluster_id: 'c', cluster_uuid: 'u', protocol_version: 2, resume_revision: 0, ...fields } });
  it.each([
    { name: 'request_id of 129 characters', text: request({}, 'a'.repeat(129)), ok: false },
    { name: 'request_id of 128 characters', text: request({}, 'a'.repeat(128)), ok: true },
    { name: 'request_id of 300 characters (past a binary frame\'s one-byte length)', text: request({}, 'x'.repeat(300)), ok: false },
    { name: 'empty request_id', text: request({}, ''), ok: false },
    { name: 'request_id with a space', text: request({}, 'a b'), ok: false },
    { name: 'request_id with non-ASCII', text: request({}, 'é'), ok: false },
    { name: 'timeout_ms above 2^31-1', text: request({ timeout_ms: 2 ** 31 }), ok: false },
    { name: 'timeout_ms of 2^31-1', text: request({ timeout_ms: 2 ** 31 - 1 }), ok: true },
    { name: 'fractional timeout_ms', text: request({ timeout_ms: 1.5 }), ok: false },
    { name: 'zero timeout_ms', text: request({ timeout_ms: 0 }), ok: false },
    { name: 'method with a space', text: request({ method: 'GET /admin' }), ok: false },
    { name: 'method of 33 characters', text: request({ method: 'A'.repeat(33) }), ok: false },
    { name: 'header name with a colon', text: request({ headers: { 'x:y': '1' } }), ok: false },
    { name: 'header value with CR LF', text: request({ headers: { x: 'a\r\nInjected: 1' } }), ok: false },
    { name: 'header value with NUL', text: request({ headers: { x: 'a\u0000' } }), ok: false },
    { name: '257 headers', text: request({ headers: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`h${i}`, 'v'])) }), ok: false },
    { name: 'headers over 64 KiB', text: request({ headers: { big: 'v'.repeat(65 * 1024) } }), ok: false },
    { name: 'host with userinfo', text: request({ host: 'evil@shop.example.com' }), ok: false },
    { name: 'host with a path', text: request({ host: 'shop.example.com/x' }), ok: false },
    { name: 'host with a port', text: request({ host: 'shop.example.com:8443' }), ok: true },
    { name: 'service_port 0', text: request({ namespace: 'a', service_name: 'b', service_port: 0 }), ok: false },
    { name: 'service_port 65536', text: request({ namespace: 'a', service_name: 'b', service_port: 65536 }), ok: false },
    { name: 'namespace that is no DNS label', text: request({ namespace: '../kube-system', service_name: 'b', service_port: 80 }), ok: false },
    { name: 'namespace of 64 characters', text: request({ namespace: 'a'.repeat(64), service_name: 'b', service_port: 80 }), ok: false },
    { name: 'namespace of 63 characters', text: request({ namespace: 'a'.repeat(63), service_name: 'b', service_port: 80 }), ok: true },
    { name: 'client of 300 characters', text: request({ client: 'c'.repeat(300) }), ok: false },
    { name: 'duplicate subprotocols', text: wsOpen({ protocols: ['chat', 'chat'] }), ok: false },
    { name: 'subprotocol with a comma', text: wsOpen({ protocols: ['a,b'] }), ok: false },
    { name: '33 subprotocols', text: wsOpen({ protocols: Array.from({ length: 33 }, (_, i) => `p${i}`) }), ok: false },
    { name: 'ws_close reason of 400,000 characters', text: JSON.stringify({ type: 'ws_close', request_id: 'w', payload: { code: 1000, reason: 'r'.repeat(400_000) } }), ok: false },
    { name: 'ws_close code 70000', text: JSON.stringify({ type: 'ws_close', request_id: 'w', payload: { code: 70_000 } }), ok: false },
    { name: 'resume_revision of 2^53-1', text: registered({ resume_revision: Number.MAX_SAFE_INTEGER }), ok: false },
    { name: 'resume_revision of 2^52', text: registered({ resume_revision: 2 ** 52 }), ok: true },
    { name: 'max_frame_bytes of 1', text: registered({ max_frame_bytes: 1 }), ok: false },
    { name: 'register_success role "leader"', text: registered({ role: 'leader' }), ok: false },
    { name: 'register_success trailers "yes"', text: registered({ trailers: 'yes' }), ok: false },
    { name: 'register_success connections -1', text: registered({ connections: -1 }), ok: false },
    { name: 'sync_granted resume_revision of 2^53-1', text: JSON.stringify({ type: 'sync_granted', request_id: 's', payload: { resume_revision: Number.MAX_SAFE_INTEGER, connections: 1 } }), ok: false },
    { name: 'sync_granted without connections', text: JSON.stringify({ type: 'sync_granted', request_id: 's', payload: { resume_revision: 1 } }), ok: false },
    { name: 'sync_revoked reason of 2,000 characters', text: JSON.stringify({ type: 'sync_revoked', payload: { reason: 'r'.repeat(2000) } }), ok: false },
    { name: 'connections count 1.5', text: JSON.stringify({ type: 'connections', payload: { count: 1.5, draining: 0 } }), ok: false },
    { name: 'connections count 2^53', text: JSON.stringify({ type: 'connections', payload: { count: 2 ** 53, draining: 0 } }), ok: false },
    { name: 'a type of 65 characters', text: JSON.stringify({ type: 't'.repeat(65), payload: {} }), ok: false },
    { name: 'stale_revision current_revision of 2^53-1', text: JSON.stringify({ type: 'routes_nack', payload: { revision: 1, code: 'stale_revision', message: 'm', retryable: true, current_revision: Number.MAX_SAFE_INTEGER } }), ok: false },
    { name: 'stale_revision current_revision of 2^52', text: JSON.stringify({ type: 'routes_nack', payload: { revision: 1, code: 'stale_revision', message: 'm', retryable: true, current_revision: 2 ** 52 } }), ok: true },
  ])('$name: accepted $ok', ({ text, ok }) => {
    expect(parse(text).ok).toBe(ok);
  });

  it('refuses a binary frame whose request_id is not printable ASCII', () => {
    const frame = Buffer.concat([Buffer.from([1, 2]), Buffer.from([0x0a, 0x20]), Buffer.from('x')]);
    expect(decodeBinaryFrame(frame)).toEqual({ ok: false, error: 'binary frame whose request_id is not 1-128 printable ASCII characters' });
  });
});

describe('field checks', () => {
  const checks: Record<string, FieldCheck> = { isString, isNumber, isBool, isObject, isArray, nonEmptyString, isRoutingMode, optionalNumber: optional(isNumber) };
  const values: Array<[string, unknown]> = [
    ['"x"', 'x'], ['""', ''], ['1', 1], ['NaN', NaN], ['Infinity', Infinity], ['"1"', '1'], ['true', true], ['false', false], ['null', null],
    ['undefined', undefined], ['{}', {}], ['[]', []], ['"tunnel"', 'tunnel'], ['"direct"', 'direct'], ['"Tunnel"', 'Tunnel'],
  ];
  // Which of the values each check accepts, in the order above.
  const accepts: Record<string, string[]> = {
    isString: ['"x"', '""', '"1"', '"tunnel"', '"direct"', '"Tunnel"'],
    isNumber: ['1'],
    isBool: ['true', 'false'],
    isObject: ['{}'],
    isArray: ['[]'],
    nonEmptyString: ['"x"', '"1"', '"tunnel"', '"direct"', '"Tunnel"'],
    isRoutingMode: ['"tunnel"', '"direct"'],
    optionalNumber: ['1', 'undefined'],
  };
  it.each(Object.keys(checks))('%s', (name) => {
    expect(values.filter(([, v]) => (checks[name] as FieldCheck)(v)).map(([label]) => label)).toEqual(accepts[name]);
  });

  it('checkFields names the first field that fails, and a payload that is not an object', () => {
    const schema = { a: isString, b: isNumber };
    expect(checkFields({ a: 'x', b: 1 }, schema, 'thing')).toBeUndefined();
    expect(checkFields({ a: 'x' }, schema, 'thing')).toBe('thing: field "b" is missing or of the wrong type');
    expect(checkFields({ a: 1, b: 'y' }, schema, 'thing')).toBe('thing: field "a" is missing or of the wrong type');
    expect(checkFields([], schema, 'thing')).toBe('thing: payload must be an object');
    expect(checkFields(null, {}, 'thing')).toBe('thing: payload must be an object');
  });
});

describe('parseFrame: what the error reply says', () => {
  it.each([
    { text: '[1]', error: { ok: false, code: 'bad_envelope', error: 'frame must be a JSON object' } },
    { text: '{"type":"","request_id":"r"}', error: { ok: false, code: 'bad_envelope', error: 'field "type" must be a string of 1-64 characters', requestId: 'r' } },
    { text: '{"type":"ping","request_id":5}', error: { ok: false, code: 'bad_envelope', error: 'field "request_id" must be a string of 1-128 printable ASCII characters', type: 'ping' } },
    { text: '{"type":"nope","request_id":"r"}', error: { ok: false, code: 'unknown_type', error: 'unknown message type "nope"', type: 'nope', requestId: 'r' } },
    { text: '{"type":"toString"}', error: { ok: false, code: 'unknown_type', error: 'unknown message type "toString"', type: 'toString', requestId: undefined } },
    { text: '{"type":"routes_ack","payload":{"revision":1,"accepted":[1],"rejected":[]}}', error: { ok: false, code: 'bad_payload', error: 'routes_ack: field "accepted" is missing or of the wrong type', type: 'routes_ack', requestId: undefined } },
    { text: '{"type":"routes_ack","payload":{"revision":1,"accepted":["a",2],"rejected":[]}}', error: { code: 'bad_payload', error: 'routes_ack: field "accepted" is missing or of the wrong type' } },
    { text: '{"type":"routes_ack","payload":{"revision":1,"accepted":"a","rejected":[]}}', error: { code: 'bad_payload', error: 'routes_ack: field "accepted" is missing or of the wrong type' } },
    { text: '{"type":"routes_ack","payload":{"revision":1,"accepted":[],"rejected":["k"]}}', error: { code: 'bad_payload', error: 'routes_ack: field "rejected" is missing or of the wrong type' } },
    { text: '{"type":"routes_ack","payload":{"revision":1,"accepted":[],"rejected":[{"reason":"r"}]}}', error: { code: 'bad_payload', error: 'routes_ack: field "rejected" is missing or of the wrong type' } },
    { text: '{"type":"routes_ack","payload":{"revision":1,"accepted":[],"rejected":[{"key":"k","reason":"r"},{"key":"k2"}]}}', error: { code: 'bad_payload', error: 'routes_ack: field "rejected" is missing or of the wrong type' } },
    { text: '{"type":"proxy_request","payload":{"method":"GET","path":"/","headers":{"a":["1",2]},"host":"h"}}', error: { code: 'bad_payload', error: 'proxy_request: field "headers" is missing or of the wrong type' } },
    { text: '{"type":"proxy_request","payload":{"method":"GET","path":"/","headers":{"a":"1","b":3},"host":"h"}}', error: { code: 'bad_payload', error: 'proxy_request: field "headers" is missing or of the wrong type' } },
    { text: '{"type":"proxy_request","payload":{"method":"GET","path":"/","headers":["a"],"host":"h"}}', error: { code: 'bad_payload', error: 'proxy_request: field "headers" is missing or of the wrong type' } },
  ])('$text', ({ text, error }) => {
    expect(parse(text)).toMatchObject(error);
  });

  it('says why JSON did not parse', () => {
    expect(parse('{nope')).toMatchObject({ ok: false, code: 'bad_json', error: expect.stringMatching(/^frame is not JSON: \S/) });
  });

  it('gives a frame without payload an empty one, and keeps the envelope fields', () => {
    expect(parse('{"type":"heartbeat_ack","request_id":"h1","timestamp":"t"}')).toEqual({ ok: true, message: { type: 'heartbeat_ack', request_id: 'h1', timestamp: 't', payload: {} } });
  });
});

describe('envelope', () => {
  it('stamps the time and carries a request_id only when given', () => {
    const plain = envelope('pong', {});
    expect(Object.keys(plain)).toEqual(['type', 'payload', 'timestamp']);
    expect(new Date(plain.timestamp as string).toISOString()).toBe(plain.timestamp);
    expect(envelope('pong', { a: 1 }, 'r1')).toMatchObject({ type: 'pong', payload: { a: 1 }, request_id: 'r1' });
    expect(envelope('pong', {}, '')).toHaveProperty('request_id', '');
  });
});

describe('agentSocketUrl', () => {
  it.each([
    ['http://cp.example.com', 'ws://cp.example.com/api/v1/clusters/agent/ws'],
    ['https://cp.example.com/', 'wss://cp.example.com/api/v1/clusters/agent/ws'],
    ['https://cp.example.com/base', 'wss://cp.example.com/base/api/v1/clusters/agent/ws'],
    ['ws://127.0.0.1:8090', 'ws://127.0.0.1:8090/api/v1/clusters/agent/ws'],
  ])('%s → %s', (base, expected) => {
    expect(agentSocketUrl(base)).toBe(expected);
  });
});

describe('binary frames', () => {
  it.each([
    { kind: 'proxy_request_chunk' as const, id: 'r-1', data: Buffer.from('hello') },
    { kind: 'proxy_response_chunk' as const, id: '6f1c9d2e-0000-4000-8000-123456789abc', data: Buffer.alloc(70_000, 1) },
    { kind: 'ws_message_text' as const, id: 'x', data: Buffer.from('é') },
    { kind: 'ws_message_binary' as const, id: 'y', data: Buffer.alloc(0) },
  ])('$kind round-trips', ({ kind, id, data }) => {
    const frame = encodeBinaryFrame(kind, id, data);
    expect(frame.length).toBe(2 + id.length + data.length);
    expect(decodeBinaryFrame(frame)).toEqual({ ok: true, kind, requestId: id, data });
  });

  it.each([
    { name: 'empty', frame: Buffer.alloc(0), error: 'binary frame of 0 byte(s) has no header' },
    { name: 'unknown kind', frame: Buffer.from([9, 1, 65]), error: 'binary frame of unknown kind 9' },
    { name: 'no request_id', frame: Buffer.from([1, 0, 65]), error: 'binary frame with a missing or cut request_id' },
    { name: 'cut request_id', frame: Buffer.from([1, 5, 65]), error: 'binary frame with a missing or cut request_id' },
  ])('refuses $name', ({ frame, error }) => expect(decodeBinaryFrame(frame)).toEqual({ ok: false, error }));

  it('refuses a request_id longer than the one-byte length', () => {
    expect(() => encodeBinaryFrame('proxy_request_chunk', 'a'.repeat(256), Buffer.alloc(1))).toThrow('must be 1-255 bytes');
  });

  it('bytesOf takes base64 text or bytes', () => {
    expect(bytesOf('aGk=')).toEqual(Buffer.from('hi'));
    expect(bytesOf(new Uint8Array([1, 2]))).toEqual(Buffer.from([1, 2]));
  });
});

import { describe, expect, it } from '@jest/globals';
import { agentSocketUrl } from '../../../src/controlplane/client.js';
import { INBOUND_SCHEMAS, parseFrame, type InboundMessage } from '../../../src/controlplane/protocol.js';

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
    { name: 'register_success with empty id', text: '{"type":"register_success","payload":{"cluster_id":"","cluster_uuid":"u"}}', code: 'bad_payload' },
    { name: 'proxy_request with bad headers', text: '{"type":"proxy_request","payload":{"method":"GET","path":"/","headers":{"a":1},"host":"h"}}', code: 'bad_payload' },
  ])('rejects $name as $code', ({ text, code }) => {
    const result = parse(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.code).toBe(code);
  });

  it.each([
    '{"type":"ping","request_id":"r1","payload":{},"timestamp":"2026-01-01T00:00:00Z"}',
    '{"type":"routes_ack","payload":{"revision":7,"accepted":["a/b/0"],"rejected":[{"key":"a/b/1","reason":"taken"}]}}',
    '{"type":"register_success","request_id":"x","payload":{"cluster_id":"c","cluster_uuid":"u"}}',
    '{"type":"proxy_request","request_id":"p","payload":{"method":"GET","path":"/","headers":{"a":"1","b":["2","3"]},"host":"h"}}',
    '{"type":"heartbeat_ack"}',
  ])('accepts %s', (text) => {
    expect(parse(text).ok).toBe(true);
  });

  it('keeps the request_id of a rejected frame so the error reply can carry it', () => {
    const result = parse('{"type":"routes_ack","request_id":"r9","payload":{}}');
    expect(result).toMatchObject({ ok: false, requestId: 'r9', type: 'routes_ack' });
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

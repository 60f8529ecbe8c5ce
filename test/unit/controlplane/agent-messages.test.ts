import { describe, expect, it } from '@jest/globals';
import {
  answerStep, checkFields, envelope, HEARTBEAT_METADATA_SCHEMA, invalidFieldSection, invalidHeaders, invalidMeta, invalidRoute, isClusterFingerprint, isFinalStatus, isRouteMessageType, OUTBOUND_SCHEMAS, parseFrame, TRAILER_LIMITS,
  type AnswerState, type OutboundMessage, type OutboundPayloads, type OutboundType, type WireRoute,
} from '../../../src/controlplane/protocol.js';

// What an agent may send, as the control plane checks it (the protocol module's agent → control plane half).

describe('isFinalStatus', () => {
  it.each([
    [200, true], [204, true], [302, true], [404, true], [599, true],
    [100, false], [101, false], [103, false], [199, false], [600, false], [1000, false], [0, false], [-200, false], [200.5, false], ['200', false], [null, false], [undefined, false],
  ])('%p → %p', (status, want) => {
    expect(isFinalStatus(status)).toBe(want);
  });
});

describe('invalidFieldSection (headers and trailers)', () => {
  const limits = { count: 2, bytes: 10 };
  it.each([
    { name: 'within both limits (a name counted with each of its values)', fields: { ab: 'cd', e: ['f', 'g'] }, problem: undefined },
    { name: 'exactly at the byte limit', fields: { abcde: '12345' }, problem: undefined },
    { name: 'not an object', fields: 'x', problem: 'trailers must be an object' },
    { name: 'a list', fields: ['x'], problem: 'trailers must be an object' },
    { name: 'one entry too many', fields: { a: '1', b: '2', c: '3' }, problem: '3 trailers, more than 2' },
    { name: 'one byte too many', fields: { abcde: '123456' }, problem: 'trailers of 11 bytes, more than 10' },
    { name: 'bytes of every listed value counted', fields: { a: ['1234', '5678', '9'] }, problem: 'trailers of 12 bytes, more than 10' },
    { name: 'a name that is no token', fields: { 'a b': '1' }, problem: 'trailers name "a b" is not a token' },
    { name: 'a pseudo-header', fields: { ':status': '1' }, problem: 'trailers name ":status" is not a token' },
    { name: 'a number', fields: { a: 1 }, problem: 'trailers a must be a string or a list of strings' },
    { name: 'CR LF in a value', fields: { a: 'x\r\ny' }, problem: 'trailers a has a value that is not a string without CR, LF or NUL' },
    { name: 'a number in a list', fields: { a: ['x', 2] }, problem: 'trailers a has a value that is not a string without CR, LF or NUL' },
  ])('$name', ({ fields, problem }) => {
    expect(invalidFieldSection(fields, limits, 'trailers')).toBe(problem);
  });

  it('says "headers" unless told otherwise', () => {
    expect(invalidFieldSection({ 'a b': '1' }, limits)).toBe('headers name "a b" is not a token');
  });

  it('trailers take one string per name, never a list (an HTTP/2 trailer section could not carry it)', () => {
    expect(invalidFieldSection({ 'grpc-status': '0', date: ['a', 'b'] }, TRAILER_LIMITS, 'trailers')).toBe('trailers date must be a single string');
    expect(invalidFieldSection({ 'x-t': ['a'] }, TRAILER_LIMITS, 'trailers')).toBe('trailers x-t must be a single string');
    expect(invalidFieldSection({ 'grpc-status': '0' }, TRAILER_LIMITS, 'trailers')).toBeUndefined();
  });
});

describe('invalidHeaders', () => {
  it.each([
    { name: 'none', headers: {}, problem: undefined },
    { name: 'strings and lists', headers: { 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] }, problem: undefined },
    { name: 'tab and obs-text in a value', headers: { 'x-a': 'a\tb\u00e9' }, problem: undefined },
    { name: 'not an object', headers: 'x', problem: /must be an object/ },
    { name: 'an array', headers: ['a'], problem: /must be an object/ },
    { name: 'a space in the name', headers: { 'bad name': 'v' }, problem: /not a token/ },
    { name: 'an empty name', headers: { '': 'v' }, problem: /not a token/ },
    { name: 'a colon in the name', headers: { 'a:b': 'v' }, problem: /not a token/ },
    { name: 'CR LF in a value', headers: { 'x-a': 'v\r\nset-cookie: stolen' }, problem: /control character/ },
    { name: 'NUL in a listed value', headers: { 'x-a': ['ok', 'v\u0000'] }, problem: /control character/ },
    { name: 'a value beyond latin-1', headers: { 'x-a': '\u2028' }, problem: /control character/ },
    { name: 'a number', headers: { 'content-length': 5 }, problem: /must be a string/ },
    { name: 'a nested object', headers: { 'x-a': { b: 'c' } }, problem: /must be a string/ },
    { name: 'a list under a name HTTP/2 allows once', headers: { etag: ['a', 'b'] }, problem: 'header etag may have one value only, not a list' },
    { name: 'a list under such a name in upper case', headers: { 'Content-Type': ['a', 'b'] }, problem: /one value only/ },
    { name: 'a list of one under such a name', headers: { date: ['a'] }, problem: undefined },
  ])('$name', ({ headers, problem }) => {
    const result = invalidHeaders(headers);
    if (problem) expect(result).toMatch(problem);
    else expect(result).toBeUndefined();
  });
});

describe('OUTBOUND_SCHEMAS', () => {
  const frame = (type: string, payload: unknown) => parseFrame<OutboundMessage>(JSON.stringify({ type, request_id: 'r', payload }), OUTBOUND_SCHEMAS);
  const register = { agent_id: 'agent-1', cluster_name: 'prod', agent_version: '0.1.0', k8s_version: 'v1.31.0', protocol_versions: [2], features: {}, metadata: {} };
  const heartbeat = { cluster_id: 'c1', agent_id: 'agent-1', status: 'healthy', tunnel_status: 'connected', metadata: {} };
  const change = { cluster_uuid: 'u1', revision: 2, namespace: 'shop', name: 'web', upsert: [], remove: ['shop/web/Prefix:a.example.com/'] };
  it.each([
    { type: 'register', payload: register, ok: true },
    { type: 'register', payload: { ...register, cluster_id: 'c1', cluster_fingerprint: '0f3c2a9e-8b1d-4c6e-9a7f-2d5b8e1c4a3f' }, ok: true },
    { type: 'register', payload: { ...register, protocol_versions: undefined }, ok: true }, // a version 1 agent: refused after parsing, with a reason
    { type: 'register', payload: { ...register, agent_id: '' }, ok: false },
    { type: 'register', payload: { ...register, cluster_name: undefined }, ok: false },
    { type: 'register', payload: { ...register, cluster_id: 7 }, ok: false },
    { type: 'register', payload: { ...register, cluster_fingerprint: 'has space' }, ok: false },
    { type: 'register', payload: { ...register, protocol_versions: ['2'] }, ok: false },
    { type: 'register', payload: { ...register, features: [] }, ok: false },
    { type: 'register', payload: { ...register, k8s_version: undefined }, ok: false },
    { type: 'heartbeat', payload: heartbeat, ok: true },
    { type: 'heartbeat', payload: { ...heartbeat, status: 'degraded' }, ok: true },
    { type: 'heartbeat', payload: { ...heartbeat, status: 'sick' }, ok: false },
    { type: 'heartbeat', payload: { ...heartbeat, cluster_id: '' }, ok: false },
    { type: 'heartbeat', payload: { ...heartbeat, metadata: undefined }, ok: false },
    { type: 'routes_sync_begin', payload: { cluster_uuid: 'u1', revision: 1, routing_mode: 'tunnel' }, ok: true },
    { type: 'routes_sync_begin', payload: { cluster_uuid: 'u1', revision: 1, routing_mode: 'direct', public_endpoint: 'https://x' }, ok: true },
    { type: 'routes_sync_begin', payload: { cluster_uuid: 'u1', revision: 1, routing_mode: 'Tunnel' }, ok: false },
    { type: 'routes_sync_begin', payload: { cluster_uuid: 'u1', revision: -1, routing_mode: 'tunnel' }, ok: false },
    { type: 'routes_sync_begin', payload: { cluster_uuid: '', revision: 1, routing_mode: 'tunnel' }, ok: false },
    { type: 'routes_sync_chunk', payload: { revision: 1, gateway_routes: [] }, ok: true },
    { type: 'routes_sync_chunk', payload: { revision: 1, gateway_routes: {} }, ok: false },
    { type: 'routes_sync_chunk', payload: { revision: 1.5, gateway_routes: [] }, ok: false },
    { type: 'routes_sync_end', payload: { revision: 1, chunks: 0, routes: 0 }, ok: true },
    { type: 'routes_sync_end', payload: { revision: 1, chunks: -1, routes: 0 }, ok: false },
    { type: 'routes_sync_end', payload: { revision: 1, chunks: 1 }, ok: false },
    { type: 'routes_change', payload: change, ok: true },
    { type: 'routes_change', payload: { ...change, deleted: true, source: { kind: 'Ingress', name: 'web' }, annotations: {} }, ok: true },
    { type: 'routes_change', payload: { ...change, deleted: 'yes' }, ok: false },
    { type: 'routes_change', payload: { ...change, source: 'Ingress' }, ok: false },
    { type: 'routes_change', payload: { ...change, annotations: [] }, ok: false },
    { type: 'routes_change', payload: { ...change, remove: [1] }, ok: false },
    { type: 'routes_change', payload: { ...change, upsert: undefined }, ok: false },
    { type: 'routes_change', payload: { ...change, name: '' }, ok: false },
    { type: 'pong', payload: {}, ok: true },
    { type: 'error', payload: { code: 'unknown_type', message: 'm', type: 'x' }, ok: true },
    { type: 'error', payload: { message: 'm' }, ok: false },
    { type: 'proxy_response', payload: { status: 200, headers: {}, body: '' }, ok: true },
    { type: 'proxy_response', payload: { status: 1000, headers: {}, body: '' }, ok: false },
    { type: 'proxy_response', payload: { status: 101, headers: {}, body: '' }, ok: false },
    { type: 'proxy_response', payload: { status: 200, headers: { 'a b': 'c' }, body: '' }, ok: false },
    { type: 'proxy_response', payload: { status: 200, headers: {}, body: 5 }, ok: false },
    { type: 'proxy_response_header', payload: { status: 200, headers: { 'x-a': 'b' } }, ok: true },
    { type: 'proxy_response_header', payload: { status: 200 }, ok: false },
    { type: 'proxy_response_chunk', payload: { data: 'aGk=' }, ok: true },
    { type: 'proxy_response_chunk', payload: { data: { length: 5 } }, ok: false },
    { type: 'proxy_response_chunk', payload: {}, ok: false },
    { type: 'proxy_error', payload: { status: 502, error: 'down' }, ok: true },
    { type: 'proxy_error', payload: { status: 99, error: 'down' }, ok: false },
    { type: 'ws_error', payload: { status: 403, error: 'no' }, ok: true },
    { type: 'ws_error', payload: { status: 101, error: 'no' }, ok: false },
    { type: 'ws_message', payload: { data: [1, 2], binary: true }, ok: false },
    { type: 'proxy_response_end', payload: {}, ok: true },
    { type: 'proxy_response_end', payload: { trailers: { 'grpc-status': '0', 'grpc-message': 'a%20b' } }, ok: true },
    { type: 'proxy_response_end', payload: { trailers: { 'grpc-status': '0', date: ['a', 'b'] } }, ok: false },
    { type: 'proxy_response', payload: { status: 200, headers: { etag: ['a', 'b'] }, body: '' }, ok: false },
    { type: 'proxy_response_header', payload: { status: 200, headers: { 'set-cookie': ['a=1', 'b=2'] } }, ok: true },
    { type: 'proxy_response_header', payload: { status: 200, headers: { 'content-length': ['1', '1'] } }, ok: false },
    { type: 'proxy_response_end', payload: { trailers: 'grpc-status: 0' }, ok: false },
    { type: 'proxy_response_end', payload: { trailers: ['grpc-status'] }, ok: false },
    { type: 'proxy_response_end', payload: { trailers: { 'bad name': '0' } }, ok: false },
    { type: 'proxy_response_end', payload: { trailers: { ':status': '200' } }, ok: false },
    { type: 'proxy_response_end', payload: { trailers: { 'grpc-message': 'x\r\nset-cookie: stolen' } }, ok: false },
    { type: 'proxy_response_end', payload: { trailers: { 'grpc-status': 0 } }, ok: false },
    { type: 'proxy_response_end', payload: { trailers: Object.fromEntries(Array.from({ length: 256 }, (_, i) => [`t${i}`, 'v'])) }, ok: true },
    { type: 'proxy_response_end', payload: { trailers: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`t${i}`, 'v'])) }, ok: false },
    { type: 'proxy_response_end', payload: { trailers: { 'grpc-message': 'm'.repeat(64 * 1024 - 12) } }, ok: true },
    { type: 'proxy_response_end', payload: { trailers: { 'grpc-message': 'm'.repeat(64 * 1024) } }, ok: false },
    { type: 'proxy_flow', payload: { paused: true }, ok: true },
    { type: 'proxy_flow', payload: { paused: 'yes' }, ok: false },
    { type: 'ws_opened', payload: {}, ok: true },
    { type: 'ws_opened', payload: { protocol: 'chat' }, ok: true },
    { type: 'ws_opened', payload: { protocol: 1 }, ok: false },
    { type: 'ws_close', payload: { code: 1000, reason: 'bye' }, ok: true },
    { type: 'ws_close', payload: { code: 70_000 }, ok: false },
    { type: 'ws_flow', payload: { paused: false }, ok: true },
    { type: 'ws_flow', payload: {}, ok: false },
    { type: 'register_success', payload: {}, ok: false }, // the control plane's message, not an agent's
    { type: 'register', payload: { ...register, role: 'leader' }, ok: false },
    { type: 'register', payload: { ...register, role: 'sync' }, ok: true },
  ])('$type $payload → ok $ok', ({ type, payload, ok }) => {
    expect(frame(type, payload).ok).toBe(ok);
  });

  // One of each, typed as the agent sends it: a message type added to OutboundPayloads needs a row here.
  const sent: { [T in OutboundType]: OutboundPayloads[T] } = {
    register: { ...register, cluster_fingerprint: 'uid-1', role: 'tunnel' },
    sync_claim: {},
    drain: {},
    heartbeat: { ...heartbeat, status: 'healthy', metadata: { is_private: true, routing_mode: 'tunnel', gateway_routes: 1, k8s_version: 'v1.31.0', agent_version: '0.1.0' } },
    routes_sync_begin: { cluster_uuid: 'u1', revision: 1, routing_mode: 'tunnel' },
    routes_sync_chunk: { revision: 1, gateway_routes: [{ namespace: 'shop', name: 'web', annotations: {}, routes: [{ host: 'a.example.com', path: '/', path_type: 'Prefix', service: 'web', port: 80, tls: false }] }] },
    routes_sync_end: { revision: 1, chunks: 1, routes: 1 },
    routes_change: { ...change, deleted: false },
    pong: {},
    error: { code: 'bad_payload', message: 'm', type: 'ws_open' },
    proxy_response: { status: 200, headers: { 'content-type': 'text/plain' }, body: 'aGk=' },
    proxy_response_header: { status: 200, headers: { 'set-cookie': ['a=1', 'b=2'] } },
    proxy_response_chunk: { data: 'aGk=' },
    proxy_response_end: { trailers: { 'grpc-status': '0' } },
    proxy_error: { status: 504, error: 'timed out' },
    proxy_flow: { paused: true },
    ws_opened: { protocol: '' },
    ws_error: { status: 404, error: 'no route' },
    ws_message: { data: 'aGk=', binary: false },
    ws_close: { code: 1000, reason: '' },
    ws_flow: { paused: false },
  };
  it.each(Object.entries(sent))('%s as the agent sends it passes', (type, payload) => {
    expect(parseFrame(JSON.stringify(envelope(type, payload, 'r1')), OUTBOUND_SCHEMAS)).toMatchObject({ ok: true, message: { type, payload } });
  });
});

describe('HEARTBEAT_METADATA_SCHEMA', () => {
  const metadata = { is_private: true, routing_mode: 'tunnel', gateway_routes: 3, k8s_version: 'v1.31.0', agent_version: '0.1.0' };
  it.each([
    { name: 'valid', patch: {}, problem: undefined },
    { name: 'with a public endpoint and Prometheus', patch: { public_endpoint: 'https://x', prometheus: { namespace: 'm', service: 'p', port: 9090, url: 'http://p' } }, problem: undefined },
    { name: 'is_private not a boolean', patch: { is_private: 'yes' }, problem: 'heartbeat.metadata: field "is_private" is missing or of the wrong type' },
    { name: 'unknown routing_mode', patch: { routing_mode: 'both' }, problem: 'heartbeat.metadata: field "routing_mode" is missing or of the wrong type' },
    { name: 'gateway_routes as text', patch: { gateway_routes: '3' }, problem: 'heartbeat.metadata: field "gateway_routes" is missing or of the wrong type' },
    { name: 'no agent_version', patch: { agent_version: undefined }, problem: 'heartbeat.metadata: field "agent_version" is missing or of the wrong type' },
  ])('$name', ({ patch, problem }) => {
    expect(checkFields({ ...metadata, ...patch }, HEARTBEAT_METADATA_SCHEMA, 'heartbeat.metadata')).toBe(problem);
  });
});

describe('isRouteMessageType', () => {
  it.each([
    ['routes_sync_begin', true], ['routes_sync_chunk', true], ['routes_sync_end', true], ['routes_change', true],
    ['register', false], ['heartbeat', false], ['routes_ack', false], ['proxy_response', false], ['', false], ['toString', false],
  ])('%s → %p', (type, want) => {
    expect(isRouteMessageType(type)).toBe(want);
  });
});

describe('answerStep', () => {
  it.each<[AnswerState, string, string]>([
    ['awaiting', 'proxy_response', 'done'],
    ['awaiting', 'proxy_error', 'done'],
    ['awaiting', 'proxy_response_header', 'streaming'],
    ['awaiting', 'proxy_response_chunk', 'out of order'],
    ['awaiting', 'proxy_response_end', 'out of order'],
    ['streaming', 'proxy_response_chunk', 'streaming'],
    ['streaming', 'proxy_response_end', 'done'],
    ['streaming', 'proxy_error', 'done'],
    ['streaming', 'proxy_response_header', 'out of order'],
    ['streaming', 'proxy_response', 'out of order'],
    ['awaiting', 'ws_message', 'out of order'],
  ])('%s + %s → %s', (state, type, want) => {
    const step = answerStep(state, type);
    expect(step.ok ? step.next : 'out of order').toBe(want);
    if (!step.ok) expect(step.problem).toContain(type);
  });
});

describe('invalidRoute', () => {
  const good: WireRoute = { key: 'ns/gr/Prefix:a.example.com/', host: 'a.example.com', path: '/', path_type: 'Prefix', service: 'web', port: 80, tls: false };
  it.each([
    { name: 'valid', patch: {}, problem: undefined },
    { name: 'port 0', patch: { port: 0 }, problem: /port/ },
    { name: 'path without /', patch: { path: 'x' }, problem: /must start with/ },
    { name: 'bad path_type', patch: { path_type: 'Regex' }, problem: /path_type/ },
    { name: 'bad host', patch: { host: 'A B' }, problem: /not a DNS name/ },
    { name: 'catch-all not allowed', patch: { host: '' }, problem: /catch-all/ },
    { name: 'no path', patch: { path: undefined }, problem: /field "path" must be a string/ },
    { name: 'tls not boolean', patch: { tls: 'yes' }, problem: /tls/ },
    { name: 'bad service', patch: { service: 'Web_1' }, problem: /service/ },
    { name: 'port 65536', patch: { port: 65536 }, problem: /port/ },
    { name: 'fractional port', patch: { port: 80.5 }, problem: /port/ },
    { name: 'a wildcard host', patch: { host: '*.example.com' }, problem: undefined },
    { name: 'a wildcard deeper than one label', patch: { host: 'a.*.example.com' }, problem: /not a DNS name/ },
    { name: 'an upper-case host', patch: { host: 'A.example.com' }, problem: /not a DNS name/ },
    { name: 'a service namespace', patch: { service_namespace: 'other' }, problem: undefined },
    { name: 'a bad service namespace', patch: { service_namespace: 'Other' }, problem: /service_namespace/ },
    { name: 'not an object', patch: undefined, route: 'x', problem: /must be an object/ },
  ])('$name', ({ patch, route, problem }) => {
    const result = invalidRoute(route ?? { ...good, ...patch }, false);
    if (problem) expect(result).toMatch(problem);
    else expect(result).toBeUndefined();
  });

  it('takes a catch-all route (empty host) only where allowed', () => {
    expect(invalidRoute({ ...good, host: '' }, true)).toBeUndefined();
    expect(invalidRoute({ ...good, host: '' }, false)).toBe('catch-all routes (empty host) are not allowed');
  });
});

describe('invalidMeta', () => {
  it.each([
    { name: 'valid', meta: { namespace: 'ns', name: 'a.b', annotations: {} }, problem: undefined },
    { name: 'continuation part without annotations', meta: { namespace: 'ns', name: 'a' }, partial: true, problem: undefined },
    { name: 'annotations missing on a whole one', meta: { namespace: 'ns', name: 'a' }, problem: /annotations/ },
    { name: 'kubectl annotation', meta: { namespace: 'ns', name: 'a', annotations: { 'kubectl.kubernetes.io/x': '1' } }, problem: /kubectl/ },
    { name: 'annotation not a string', meta: { namespace: 'ns', name: 'a', annotations: { a: 1 } }, problem: /annotations/ },
    { name: 'bad namespace', meta: { namespace: 'NS', name: 'a', annotations: {} }, problem: /namespace/ },
    { name: 'bad source', meta: { namespace: 'ns', name: 'a', annotations: {}, source: 'x' }, problem: /source/ },
    { name: 'a source', meta: { namespace: 'ns', name: 'a', annotations: {}, source: { kind: 'Ingress', name: 'a' } }, problem: undefined },
    { name: 'a source without its name', meta: { namespace: 'ns', name: 'a', annotations: {}, source: { kind: 'Ingress' } }, problem: /source/ },
    { name: 'bad name', meta: { namespace: 'ns', name: '-a', annotations: {} }, problem: /name "-a"/ },
    { name: 'not an object', meta: [], problem: /must be an object/ },
  ])('$name', ({ meta, partial, problem }) => {
    const result = invalidMeta(meta, partial ?? false);
    if (problem) expect(result).toMatch(problem);
    else expect(result).toBeUndefined();
  });
});

describe('isClusterFingerprint', () => {
  it.each([
    { name: 'a Namespace UID', value: '0f3c2a9e-8b1d-4c6e-9a7f-2d5b8e1c4a3f', ok: true },
    { name: 'one character', value: 'x', ok: true },
    { name: '128 characters', value: 'x'.repeat(128), ok: true },
    { name: '129 characters', value: 'x'.repeat(129), ok: false },
    { name: 'empty', value: '', ok: false },
    { name: 'a space', value: 'has space', ok: false },
    { name: 'a newline', value: 'new\nline', ok: false },
    { name: 'non-ASCII', value: 'ünïcode', ok: false },
    { name: 'a number', value: 42, ok: false },
  ])('$name → $ok', ({ value, ok }) => {
    expect(isClusterFingerprint(value)).toBe(ok);
  });
});

import { describe, expect, it } from '@jest/globals';
import { TlsFailureEvents } from '../../../src/tunnel/tls-failures.js';

function recorder(options: { uids?: Record<string, string>; maxRemembered?: number } = {}) {
  const recorded: Array<{ object: { namespace?: string; name: string; uid?: string; kind: string }; type: string; reason: string; message: string }> = [];
  let now = 0;
  const events = new TlsFailureEvents({
    events: { record: (object, type, reason, message) => void recorded.push({ object, type, reason, message }) },
    uidOf: (namespace, name) => (options.uids ?? { 'shop/web': 'u1', 'shop/api': 'u2', 'shop/db': 'u3' })[`${namespace}/${name}`],
    intervalMs: 60_000,
    maxRemembered: options.maxRemembered,
    now: () => now,
  });
  return { events, recorded, advance: (ms: number) => (now += ms) };
}

describe('TlsFailureEvents', () => {
  it('a Warning on the GatewayRoute named by the route key, with its uid and the reason', () => {
    const { events, recorded } = recorder();
    events.report('shop/web/Prefix:web.example.com/', 'TLS verification failed: not trusted');
    expect(recorded).toEqual([
      {
        object: { apiVersion: 'gateway.pipeops.io/v1alpha1', kind: 'GatewayRoute', namespace: 'shop', name: 'web', uid: 'u1' },
        type: 'Warning',
        reason: 'BackendTLSFailed',
        message: "requests to this route's backend are refused (502): TLS verification failed: not trusted",
      },
    ]);
  });

  it('at most one Event per GatewayRoute per interval, whatever its routes', () => {
    const { events, recorded, advance } = recorder();
    for (let i = 0; i < 100; i++) events.report(`shop/web/Prefix:web.example.com/${i}`, 'failed');
    events.report('shop/api/Prefix:api.example.com/', 'failed');
    expect(recorded.map((r) => r.object.name)).toEqual(['web', 'api']);
    advance(59_999);
    events.report('shop/web/Prefix:web.example.com/', 'failed');
    expect(recorded).toHaveLength(2);
    advance(1);
    events.report('shop/web/Prefix:web.example.com/', 'failed');
    expect(recorded.map((r) => r.object.name)).toEqual(['web', 'api', 'web']);
  });

  it('nothing for a GatewayRoute that is gone, or a key without a name', () => {
    const { events, recorded } = recorder();
    events.report('shop/gone/Prefix:x.example.com/', 'failed');
    events.report('shop', 'failed');
    expect(recorded).toEqual([]);
  });

  it('remembers a bounded number of GatewayRoutes: past it the oldest may be reported again', () => {
    const { events, recorded } = recorder({ maxRemembered: 2 });
    events.report('shop/web/Prefix:a/', 'failed');
    events.report('shop/api/Prefix:a/', 'failed');
    events.report('shop/db/Prefix:a/', 'failed'); // web forgotten
    events.report('shop/api/Prefix:a/', 'failed'); // still remembered: nothing
    events.report('shop/web/Prefix:a/', 'failed');
    expect(recorded.map((r) => r.object.name)).toEqual(['web', 'api', 'db', 'web']);
  });
});

import { describe, expect, it } from '@jest/globals';
import type { WireGatewayRoute, WireRoute } from '../../../src/controlplane/protocol.js';
import { RevisionClock } from '../../../src/controlplane/revision.js';
import { gatewayRouteOfKey, Outbox, retryDelayMs } from '../../../src/sync/outbox.js';

function route(owner: string, host = 'a.example.com', path = '/'): WireRoute {
  return { key: `${owner}/Prefix:${host}${path}`, host, path, path_type: 'Prefix', service: 'web', port: 80, tls: false };
}

function gr(owner: string, routes: WireRoute[], annotations: Record<string, string> = {}): WireGatewayRoute {
  const [namespace = '', name = ''] = owner.split('/');
  return { namespace, name, source: { kind: 'Ingress', name }, annotations, routes };
}

const ack = (rejected: Array<{ key: string; reason: string }> = []) => ({ revision: 0, accepted: [], rejected });
const nack = (code: string, retryable: boolean, current_revision?: number) => ({ revision: 0, code, message: `refused: ${code}`, retryable, current_revision });

describe('Outbox changes', () => {
  it('sends the first state whole, then only what changed against what the control plane acknowledged', () => {
    const outbox = new Outbox();
    const one = route('ns/a', 'a.example.com', '/one');
    const two = route('ns/a', 'a.example.com', '/two');
    outbox.setDesired('ns/a', gr('ns/a', [one]), 1);
    const first = outbox.takeChange('ns/a')!;
    expect(first.body).toEqual({ namespace: 'ns', name: 'a', source: { kind: 'Ingress', name: 'a' }, annotations: {}, upsert: [one], remove: [] });
    expect(outbox.takeChange('ns/a')).toBeUndefined(); // one message in flight per GatewayRoute
    outbox.ack(first.requestId, ack());
    expect(outbox.inSync('ns/a')).toBe(true);

    // One inserted path (before the existing one): one added route, nothing else.
    outbox.setDesired('ns/a', gr('ns/a', [two, one]), 2);
    expect(outbox.inSync('ns/a')).toBe(false);
    expect(outbox.takeChange('ns/a')!.body).toEqual({ namespace: 'ns', name: 'a', upsert: [two], remove: [] });
  });

  it.each([
    { name: 'reordered paths', next: (r: WireRoute[]) => gr('ns/a', [...r].reverse()), body: undefined },
    { name: 'a removed path', next: (r: WireRoute[]) => gr('ns/a', [r[0]!]), body: { namespace: 'ns', name: 'a', upsert: [], remove: ['ns/a/Prefix:a.example.com/b'] } },
    { name: 'a changed port', next: (r: WireRoute[]) => gr('ns/a', [r[0]!, { ...r[1]!, port: 81 }]), body: { namespace: 'ns', name: 'a', upsert: [{ ...route('ns/a', 'a.example.com', '/b'), port: 81 }], remove: [] } },
    { name: 'a changed annotation only', next: (r: WireRoute[]) => gr('ns/a', r, { team: 'blue' }), body: { namespace: 'ns', name: 'a', annotations: { team: 'blue' }, upsert: [], remove: [] } },
    { name: 'a deleted GatewayRoute', next: () => undefined, body: { namespace: 'ns', name: 'a', deleted: true, upsert: [], remove: [] } },
  ])('$name', ({ next, body }) => {
    const outbox = new Outbox();
    const routes = [route('ns/a', 'a.example.com', '/a'), route('ns/a', 'a.example.com', '/b')];
    outbox.setDesired('ns/a', gr('ns/a', routes), 1);
    outbox.ack(outbox.takeChange('ns/a')!.requestId, ack());
    outbox.setDesired('ns/a', next(routes), 2);
    expect(outbox.takeChange('ns/a')?.body).toEqual(body);
  });

  it('sends nothing for a GatewayRoute that disappears before the control plane held it', () => {
    const outbox = new Outbox();
    outbox.setDesired('ns/a', gr('ns/a', [route('ns/a')]), 1);
    outbox.setDesired('ns/a', undefined);
    expect(outbox.takeChange('ns/a')).toBeUndefined();
    expect(outbox.keys()).toEqual([]);
  });

  it('forgets a GatewayRoute once its delete is acknowledged', () => {
    const outbox = new Outbox();
    outbox.setDesired('ns/a', gr('ns/a', [route('ns/a')]), 1);
    outbox.ack(outbox.takeChange('ns/a')!.requestId, ack());
    outbox.setDesired('ns/a', undefined);
    outbox.ack(outbox.takeChange('ns/a')!.requestId, ack());
    expect(outbox.keys()).toEqual([]);
    expect(outbox.ackedRouteCount()).toBe(0);
  });
});

describe('Outbox answers, matched by request_id', () => {
  it('a refused change stays refused when a later message of another GatewayRoute is acknowledged', () => {
    const outbox = new Outbox();
    outbox.setDesired('ns/a', gr('ns/a', [route('ns/a')]), 1);
    outbox.setDesired('ns/b', gr('ns/b', [route('ns/b', 'b.example.com')]), 1);
    const a = outbox.takeChange('ns/a')!;
    const b = outbox.takeChange('ns/b')!;
    expect(b.revision).toBeGreaterThan(a.revision);
    expect(outbox.nack(a.requestId, nack('refused', false))).toEqual(['ns/a']);
    expect(outbox.ack(b.requestId, ack())).toEqual(['ns/b']);
    expect(outbox.inSync('ns/b')).toBe(true);
    expect(outbox.inSync('ns/a')).toBe(false);
    expect(outbox.refusal('ns/a')).toMatchObject({ code: 'refused', retryable: false });
    // Not retried as it is; a different desired state goes out.
    expect(outbox.takeChange('ns/a')).toBeUndefined();
    outbox.setDesired('ns/a', gr('ns/a', [route('ns/a', 'a.example.com', '/v2')]), 2);
    expect(outbox.takeChange('ns/a')?.body.upsert).toEqual([route('ns/a', 'a.example.com', '/v2')]);
  });

  it('retries a retryable refusal only after its backoff', () => {
    const outbox = new Outbox();
    outbox.setDesired('ns/a', gr('ns/a', [route('ns/a')]), 1);
    const sent = outbox.takeChange('ns/a', 0)!;
    outbox.nack(sent.requestId, nack('unavailable', true), 0);
    expect(outbox.refusal('ns/a')?.retryAt).toBe(1_000);
    expect(outbox.takeChange('ns/a', 999)).toBeUndefined();
    const again = outbox.takeChange('ns/a', 1_000)!;
    outbox.nack(again.requestId, nack('unavailable', true), 1_000);
    expect(outbox.refusal('ns/a')).toMatchObject({ attempts: 2, retryAt: 3_000 });
  });

  it('a refusal is over once the desired state is what the control plane holds, before its retry time', () => {
    // Sent as its write started, refused by the control plane (retryable), then refused by the apiserver too:
    // desired goes back to what the control plane acknowledged, and nothing stands refused.
    const outbox = new Outbox();
    const before = gr('ns/a', [route('ns/a')]);
    outbox.setDesired('ns/a', before, 1);
    outbox.ack(outbox.takeChange('ns/a', 0)!.requestId, ack());
    outbox.setDesired('ns/a', gr('ns/a', [route('ns/a', 'b.example.com')]));
    outbox.nack(outbox.takeChange('ns/a', 10)!.requestId, nack('unavailable', true), 10);
    outbox.setDesired('ns/a', before, 1);
    expect(outbox.takeChange('ns/a', 20)).toBeUndefined();
    expect(outbox.refusal('ns/a')).toBeUndefined();
    expect(outbox.inSync('ns/a')).toBe(true);
  });

  it('a stale revision continues above the control plane at once', () => {
    const outbox = new Outbox(new RevisionClock(5));
    outbox.setDesired('ns/a', gr('ns/a', [route('ns/a')]), 1);
    const sent = outbox.takeChange('ns/a', 0)!;
    expect(sent.revision).toBe(6);
    outbox.nack(sent.requestId, nack('stale_revision', true, 9_000), 0);
    const retry = outbox.takeChange('ns/a', 0)!;
    expect(retry.revision).toBe(9_001);
  });

  it('ignores an answer to no message of ours, and a late answer to a message a snapshot superseded', () => {
    const outbox = new Outbox();
    outbox.setDesired('ns/a', gr('ns/a', [route('ns/a')]), 1);
    const change = outbox.takeChange('ns/a')!;
    expect(outbox.ack('someone-else', ack())).toEqual([]);
    const snapshot = outbox.takeSnapshot();
    expect(outbox.ack(change.requestId, ack())).toEqual([]);
    expect(outbox.inSync('ns/a')).toBe(false);
    expect(outbox.ack(snapshot.requestId, ack())).toEqual(['ns/a']);
    expect(outbox.inSync('ns/a')).toBe(true);
  });

  it('a snapshot carries everything desired; its rejections land on their GatewayRoutes', () => {
    const outbox = new Outbox();
    outbox.setDesired('ns/a', gr('ns/a', [route('ns/a')]), 1);
    outbox.setDesired('ns/b', gr('ns/b', [route('ns/b', 'b.example.com'), route('ns/b', 'c.example.com')]), 1);
    const snapshot = outbox.takeSnapshot();
    expect(snapshot.gatewayRoutes.map((g) => g.name)).toEqual(['a', 'b']);
    expect(outbox.size).toBe(2);
    const rejected = [{ key: route('ns/b', 'c.example.com').key, reason: 'taken' }];
    expect(outbox.ack(snapshot.requestId, ack(rejected)).sort()).toEqual(['ns/a', 'ns/b']);
    expect(outbox.acked('ns/b')?.rejected).toEqual(rejected);
    expect(outbox.acked('ns/a')?.rejected).toEqual([]);
    expect(outbox.ackedRouteCount()).toBe(2);
    expect(outbox.exposedRoutes().map((r) => r.host).sort()).toEqual(['a.example.com', 'b.example.com']);
    // A rejected route is offered again with the GatewayRoute's next change, not alone.
    expect(outbox.takeChange('ns/b')).toBeUndefined();
    outbox.setDesired('ns/b', gr('ns/b', [route('ns/b', 'b.example.com'), route('ns/b', 'c.example.com')], { team: 'x' }), 2);
    expect(outbox.takeChange('ns/b')?.body.upsert).toEqual([route('ns/b', 'c.example.com')]);
  });

  it('after a disconnect nothing is in flight and the next change waits for the snapshot to be acknowledged', () => {
    const outbox = new Outbox();
    outbox.setDesired('ns/a', gr('ns/a', [route('ns/a')]), 1);
    outbox.takeChange('ns/a');
    expect(outbox.disconnected()).toEqual(['ns/a']);
    expect(outbox.size).toBe(0);
    expect(outbox.oldestAwaitingSince()).toBeUndefined();
  });
});

describe('Outbox exposed routes', () => {
  it('are the state last sent, with the namespace of each backend', () => {
    const outbox = new Outbox();
    outbox.setDesired('ns/a', gr('ns/a', [route('ns/a')]), 1);
    expect(outbox.exposedRoutes()).toEqual([]);
    const sent = outbox.takeChange('ns/a')!;
    expect(outbox.exposedRoutes()).toEqual([{ ...route('ns/a'), namespace: 'ns' }]);
    outbox.nack(sent.requestId, nack('refused', false));
    expect(outbox.exposedRoutes()).toEqual([]);
  });
});

describe('helpers', () => {
  it('RevisionClock grows by one from its start and resumes above the control plane', () => {
    const clock = new RevisionClock(10);
    expect(clock.next()).toBe(11);
    clock.resume(5);
    expect(clock.next()).toBe(12);
    clock.resume(100);
    expect(clock.next()).toBe(101);
  });

  it.each([
    [1, 1_000],
    [2, 2_000],
    [3, 4_000],
    [7, 60_000],
    [30, 60_000],
  ])('retryDelayMs(%i) = %i', (attempts, delay) => expect(retryDelayMs(attempts)).toBe(delay));

  it.each([
    ['ns/app/Prefix:a.example.com/x/y', 'ns/app'],
    ['ns/app/Exact:*/', 'ns/app'],
    ['broken', 'broken'],
  ])('gatewayRouteOfKey(%s) = %s', (key, owner) => expect(gatewayRouteOfKey(key)).toBe(owner));
});

import { describe, expect, it } from '@jest/globals';
import type { WireRoute } from '../../../src/controlplane/protocol.js';
import { Outbox, RevisionClock } from '../../../src/sync/outbox.js';

function route(key: string, host = 'a.example.com', path = '/'): WireRoute {
  const [namespace = '', name = ''] = key.split('/');
  return { key, host, path, path_type: 'Prefix', namespace, service: 'web', port: 80, tls: false, ingress_name: name, gateway_route: name, annotations: {} };
}

function fixedClock(): RevisionClock {
  let t = 1000;
  return new RevisionClock(() => t++);
}

describe('Outbox', () => {
  it('sends add, update and delete against what was last sent, and nothing twice', () => {
    const outbox = new Outbox(fixedClock());
    outbox.setDesired('ns/a', [route('ns/a/0')], 1);
    expect(outbox.takeChange('ns/a')).toMatchObject({ action: 'add', routes: [route('ns/a/0')] });
    expect(outbox.takeChange('ns/a')).toBeUndefined();

    outbox.setDesired('ns/a', [route('ns/a/0', 'a.example.com', '/v2')], 2);
    expect(outbox.takeChange('ns/a')).toMatchObject({ action: 'update', routes: [route('ns/a/0', 'a.example.com', '/v2')] });

    outbox.setDesired('ns/a', undefined);
    // A delete carries the routes last sent, so the control plane knows what to remove.
    expect(outbox.takeChange('ns/a')).toMatchObject({ action: 'delete', routes: [route('ns/a/0', 'a.example.com', '/v2')] });
  });

  it('sends nothing for a GatewayRoute that disappears before it was ever sent', () => {
    const outbox = new Outbox(fixedClock());
    outbox.setDesired('ns/a', [route('ns/a/0')], 1);
    outbox.setDesired('ns/a', undefined);
    expect(outbox.takeChange('ns/a')).toBeUndefined();
    expect(outbox.keys()).toEqual([]);
  });

  it('acknowledges every message up to the revision and drops deleted entries', () => {
    const outbox = new Outbox(fixedClock());
    outbox.setDesired('ns/a', [route('ns/a/0')], 1);
    outbox.setDesired('ns/b', [route('ns/b/0', 'b.example.com')], 1);
    const a = outbox.takeChange('ns/a')!;
    const b = outbox.takeChange('ns/b')!;
    expect(outbox.pendingKeys().sort()).toEqual(['ns/a', 'ns/b']);
    expect(outbox.ack(a.revision, [])).toEqual(['ns/a']);
    expect(outbox.pendingKeys()).toEqual(['ns/b']);
    expect(outbox.ack(b.revision, [{ key: 'ns/b/0', reason: 'taken' }])).toEqual(['ns/b']);
    expect(outbox.acked('ns/b')?.rejected).toEqual([{ key: 'ns/b/0', reason: 'taken' }]);
    expect(outbox.ackedRouteCount()).toBe(1);

    outbox.setDesired('ns/a', undefined);
    const del = outbox.takeChange('ns/a')!;
    outbox.ack(del.revision, []);
    expect(outbox.keys()).toEqual(['ns/b']);
  });

  it('a snapshot carries everything desired and supersedes what was in flight', () => {
    const outbox = new Outbox(fixedClock());
    outbox.setDesired('ns/a', [route('ns/a/0')], 1);
    outbox.setDesired('ns/b', [route('ns/b/0', 'b.example.com')], 1);
    const lost = outbox.takeChange('ns/a')!; // sent, then the socket died
    outbox.setDesired('ns/b', undefined); // deleted while disconnected
    const snapshot = outbox.takeSnapshot();
    expect(snapshot.revision).toBeGreaterThan(lost.revision);
    expect(snapshot.routes).toEqual([route('ns/a/0')]);
    expect(outbox.takeChange('ns/a')).toBeUndefined();
    expect(outbox.takeChange('ns/b')).toBeUndefined();
    outbox.ack(snapshot.revision, []);
    expect(outbox.keys()).toEqual(['ns/a']);
    expect(outbox.acked('ns/a')?.revision).toBe(snapshot.revision);
  });

  it('a new generation with the same routes counts as acknowledged', () => {
    const outbox = new Outbox(fixedClock());
    outbox.setDesired('ns/a', [route('ns/a/0')], 1);
    const sent = outbox.takeChange('ns/a')!;
    outbox.ack(sent.revision, []);
    outbox.setDesired('ns/a', [route('ns/a/0')], 2);
    expect(outbox.takeChange('ns/a')).toBeUndefined();
    expect(outbox.acked('ns/a')?.generation).toBe(2);
  });
});

describe('RevisionClock', () => {
  it('never goes below the wall clock and always grows', () => {
    let now = 500;
    const clock = new RevisionClock(() => now);
    expect([clock.next(), clock.next(), clock.next()]).toEqual([500, 501, 502]);
    now = 1000;
    expect(clock.next()).toBe(1000);
    now = 10; // the clock stepped back: revisions still grow
    expect(clock.next()).toBe(1001);
  });

  it('keeps its counters and the tunnel route list exact through changes, snapshots, partial acks, rejects and deletes', () => {
    const outbox = new Outbox(fixedClock());
    outbox.setDesired('ns/a', [route('ns/a/0'), route('ns/a/1', 'a.example.com', '/x')], 1);
    outbox.setDesired('ns/b', [route('ns/b/0', 'b.example.com')], 1);
    const a = outbox.takeChange('ns/a')!;
    const b = outbox.takeChange('ns/b')!;
    expect([outbox.size, outbox.ackedRouteCount(), outbox.exposedRoutes().length]).toEqual([2, 0, 3]);
    expect(outbox.pendingKeys().sort()).toEqual(['ns/a', 'ns/b']);

    // An ack below b's revision acknowledges a alone, with one of its routes rejected.
    expect(outbox.ack(a.revision, [{ key: 'ns/a/1', reason: 'taken' }])).toEqual(['ns/a']);
    expect([outbox.size, outbox.ackedRouteCount()]).toEqual([1, 1]);
    expect(outbox.acked('ns/a')?.rejected).toEqual([{ key: 'ns/a/1', reason: 'taken' }]);
    expect(outbox.pendingKeys()).toEqual(['ns/b']);
    // A rejected route is not exposed: the tunnel neither matches it nor reaches its backend.
    expect(outbox.exposedRoutes().map((r) => r.key).sort()).toEqual(['ns/a/0', 'ns/b/0']);

    // A snapshot re-sends everything; its ack replaces the earlier acknowledgements, not adds to them.
    const snapshot = outbox.takeSnapshot();
    expect(outbox.size).toBe(2);
    expect(outbox.ack(b.revision, [])).toEqual([]); // older than the snapshot: b was re-sent since
    expect(outbox.ack(snapshot.revision, []).sort()).toEqual(['ns/a', 'ns/b']);
    expect([outbox.size, outbox.ackedRouteCount()]).toEqual([0, 3]);

    // A delete leaves the tunnel's list once sent, and the counters once acknowledged.
    outbox.setDesired('ns/b', undefined);
    const removal = outbox.takeChange('ns/b')!;
    expect(outbox.exposedRoutes().map((r) => r.key).sort()).toEqual(['ns/a/0', 'ns/a/1']);
    expect(outbox.ack(removal.revision, [])).toEqual(['ns/b']);
    expect([outbox.size, outbox.ackedRouteCount(), outbox.keys()]).toEqual([0, 2, ['ns/a']]);
  });
});

describe('Outbox: the bookkeeping the sync controller reads', () => {
  it('answers for keys it never saw', () => {
    const outbox = new Outbox(fixedClock());
    expect(outbox.lastSent('ns/none')).toEqual([]);
    expect(outbox.acked('ns/none')).toBeUndefined();
    expect(outbox.takeChange('ns/none')).toBeUndefined();
    expect(outbox.pendingRevision('ns/none')).toBeUndefined();
    expect(outbox.exposedRoutes()).toEqual([]);
  });

  it('an empty desired set that was never sent sends nothing; once routes were sent, emptying them is a delete', () => {
    const outbox = new Outbox(fixedClock());
    outbox.setDesired('ns/a', [], 1);
    expect(outbox.takeChange('ns/a')).toBeUndefined();
    outbox.setDesired('ns/a', [route('ns/a/0')], 2);
    expect(outbox.takeChange('ns/a')?.action).toBe('add');
    outbox.setDesired('ns/a', [], 3);
    expect(outbox.takeChange('ns/a')).toMatchObject({ action: 'delete', routes: [route('ns/a/0')] });
    expect(outbox.lastSent('ns/a')).toEqual([]);
  });

  it('only an acknowledgement at or above the revision sent settles a key, and a later send supersedes an earlier one', () => {
    const outbox = new Outbox(fixedClock());
    outbox.setDesired('ns/a', [route('ns/a/0')], 1);
    const first = outbox.takeChange('ns/a')!;
    expect(outbox.pendingRevision('ns/a')).toBe(first.revision);
    expect(outbox.ack(first.revision - 1, [])).toEqual([]);
    expect(outbox.pendingKeys()).toEqual(['ns/a']);
    outbox.setDesired('ns/a', [route('ns/a/0', 'a.example.com', '/v2')], 2);
    const second = outbox.takeChange('ns/a')!;
    expect(outbox.pendingRevision('ns/a')).toBe(second.revision);
    // The first revision's acknowledgement no longer speaks for this key.
    expect(outbox.ack(first.revision, [])).toEqual([]);
    expect(outbox.size).toBe(1);
    expect(outbox.ack(second.revision, [])).toEqual(['ns/a']);
    expect(outbox.acked('ns/a')).toMatchObject({ revision: second.revision, generation: 2, rejected: [], routes: [route('ns/a/0', 'a.example.com', '/v2')] });
    expect(outbox.size).toBe(0);
    expect(outbox.pendingKeys()).toEqual([]);
  });

  it('a delete is forgotten once acknowledged, and the tunnel route list follows', () => {
    const outbox = new Outbox(fixedClock());
    outbox.setDesired('ns/a', [route('ns/a/0')], 1);
    outbox.setDesired('ns/b', [route('ns/b/0', 'b.example.com')], 1);
    outbox.ack(outbox.takeSnapshot().revision, []);
    expect(outbox.exposedRoutes().map((r) => r.key)).toEqual(['ns/a/0', 'ns/b/0']);
    outbox.setDesired('ns/a', undefined);
    const deletion = outbox.takeChange('ns/a')!;
    expect(outbox.exposedRoutes().map((r) => r.key)).toEqual(['ns/b/0']);
    expect(outbox.keys()).toEqual(['ns/a', 'ns/b']);
    outbox.ack(deletion.revision, []);
    expect(outbox.keys()).toEqual(['ns/b']);
    expect(outbox.acked('ns/a')).toBeUndefined();
    expect(outbox.ackedRouteCount()).toBe(1);
  });

  it('a key deleted while the snapshot is in flight waits for the acknowledgement of its delete', () => {
    const outbox = new Outbox(fixedClock());
    outbox.setDesired('ns/a', [route('ns/a/0')], 1);
    outbox.setDesired('ns/b', [route('ns/b/0', 'b.example.com')], 1);
    const snapshot = outbox.takeSnapshot();
    outbox.setDesired('ns/a', undefined);
    outbox.takeChange('ns/a');
    outbox.ack(snapshot.revision, []);
    expect(outbox.pendingKeys()).toEqual(['ns/a']);
    expect(outbox.size).toBe(1);
  });

  it('rejections are matched to the routes of each key, and the count of acknowledged routes leaves them out', () => {
    const outbox = new Outbox(fixedClock());
    outbox.setDesired('ns/a', [route('ns/a/0'), route('ns/a/1', 'a.example.com', '/x')], 1);
    outbox.setDesired('ns/b', [route('ns/b/0', 'b.example.com')], 1);
    const { revision } = outbox.takeSnapshot();
    expect(outbox.ack(revision, [{ key: 'ns/a/1', reason: 'taken' }, { key: 'other/x/0', reason: 'not ours' }]).sort()).toEqual(['ns/a', 'ns/b']);
    expect(outbox.acked('ns/a')?.rejected).toEqual([{ key: 'ns/a/1', reason: 'taken' }]);
    expect(outbox.acked('ns/b')?.rejected).toEqual([]);
    expect(outbox.ackedRouteCount()).toBe(2);
  });

  it('a generation with unchanged routes moves the acknowledged generation only when the last send was acknowledged', () => {
    const outbox = new Outbox(fixedClock());
    outbox.setDesired('ns/a', [route('ns/a/0')], 1);
    const sent = outbox.takeChange('ns/a')!;
    outbox.ack(sent.revision, []);
    outbox.setDesired('ns/a', [route('ns/a/0', 'a.example.com', '/v2')], 2);
    outbox.takeChange('ns/a'); // in flight, not acknowledged
    outbox.setDesired('ns/a', [route('ns/a/0')], 3); // back to what was acknowledged
    expect(outbox.acked('ns/a')?.generation).toBe(1);
    expect(outbox.takeChange('ns/a')?.action).toBe('update');
  });
});

// The Manager's controller builder, predicates and runnable lifecycle, with no apiserver: objects enter the
// informers through observe(), and controllers are started by hand or by a manager with no informers.
import { describe, expect, it } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import { silentLogger } from '../../../src/log.js';
import { coreClient } from '../../../src/operator/clients.js';
import { EventRecorder } from '../../../src/operator/events.js';
import type { Informer, KubeObject } from '../../../src/operator/informer.js';
import { Manager, watch, type Runnable } from '../../../src/operator/manager.js';
import { generationChanged, metadataChanged, specOrMetadataChanged, type WatchEvent } from '../../../src/operator/predicates.js';

interface Obj extends KubeObject {
  metadata: {
    name: string;
    namespace: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: Array<{ uid: string; controller?: boolean }>;
    deletionTimestamp?: string;
    uid?: string;
  };
  spec?: { target?: string };
  status?: { phase?: string };
}

const THINGS = { apiVersion: 'example.com/v1', kind: 'Thing', plural: 'things', namespaced: true };
const OTHERS = { apiVersion: 'example.com/v1', kind: 'Other', plural: 'others', namespaced: true };

function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
  return kc;
}

function manager(): Manager {
  const kc = kubeConfig();
  const logger = silentLogger();
  return new Manager({ kc, logger, watchNamespaces: [], events: new EventRecorder(coreClient(kc), 'test', 'test-1', 'default', logger) });
}

let version = 0;
function obj(name: string, meta: Partial<Obj['metadata']> = {}, rest: Pick<Obj, 'spec' | 'status'> = {}): Obj {
  return { metadata: { name, namespace: 'ns', resourceVersion: String(++version), generation: 1, ...meta }, ...rest };
}

async function settle(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
}

describe('predicates', () => {
  const base = obj('a', { uid: 'first', labels: { app: 'x' }, annotations: { note: '1' }, ownerReferences: [{ uid: 'u1', controller: true }] }, { spec: { target: 'web' }, status: { phase: 'Old' } });
  const update = (meta: Partial<Obj['metadata']>, rest: Pick<Obj, 'spec' | 'status'> = {}): WatchEvent<KubeObject> => ({
    object: { ...base, metadata: { ...base.metadata, ...meta }, ...rest },
    previous: base,
    deleted: false,
  });
  // event, generationChanged, metadataChanged, specOrMetadataChanged
  const table: Array<[string, WatchEvent<KubeObject>, boolean, boolean, boolean]> = [
    ['create', { object: base, previous: undefined, deleted: false }, true, true, true],
    ['delete', { object: base, previous: base, deleted: true }, true, true, true],
    ['status write (same generation)', update({ resourceVersion: '999' }, { status: { phase: 'New' } }), false, false, false],
    ['spec change (generation + 1)', update({ generation: 2 }, { spec: { target: 'api' } }), true, false, true],
    ['label change', update({ labels: { app: 'y' } }), false, true, true],
    ['label added', update({ labels: { app: 'x', tier: 'web' } }), false, true, true],
    ['annotation change', update({ annotations: { note: '2' } }), false, true, true],
    ['owner change', update({ ownerReferences: [{ uid: 'u2', controller: true }] }), false, true, true],
    ['deletion started', update({ deletionTimestamp: '2026-12-01T00:00:00Z' }), false, true, true],
    ['recreated during a watch gap (new uid, same generation)', update({ uid: 'other' } as Partial<Obj['metadata']>), true, false, true],
  ];
  it.each(table)('%s', (_name, event, generation, metadata, either) => {
    expect([generationChanged(event), metadataChanged(event), specOrMetadataChanged(event)]).toEqual([generation, metadata, either]);
  });
});

describe('Manager.controller', () => {
  it('enqueues the primary object through its predicate, mapped keys of watches and source events', async () => {
    const m = manager();
    const things = m.informer<Obj>(THINGS);
    const others = m.informer<Obj>(OTHERS);
    const reconciled: string[] = [];
    let fire: ((key: string) => void) | undefined;
    const controller = m.controller({
      name: 'things',
      for: { informer: things, predicate: generationChanged },
      watches: [watch({ informer: others, map: (other: Obj) => (other.spec?.target ? [`ns/${other.spec.target}`] : []) })],
      sources: [(enqueue) => (fire = enqueue)],
      reconcile: async (key) => void reconciled.push(key),
    });
    controller.start();
    const a = obj('a');
    things.observe(a);
    things.observe({ ...a, metadata: { ...a.metadata, resourceVersion: String(++version) }, status: { phase: 'Written' } }); // status only
    others.observe(obj('o1', {}, { spec: { target: 'b' } }));
    others.observe(obj('o2')); // maps to nothing
    fire?.('ns/c');
    await settle(() => reconciled.length >= 3 && controller.queue.idle());
    expect(reconciled.sort()).toEqual(['ns/a', 'ns/b', 'ns/c']);
    await controller.stop(100);
  });

  it('refuses a second index of the same name on one informer', () => {
    const things = manager().informer<Obj>(THINGS);
    things.addIndex('target', (o) => [o.spec?.target ?? '']);
    expect(() => things.addIndex('target', (o) => [o.metadata.name])).toThrow('the Thing informer already has an index named "target"');
  });

  it('gives one informer per kind and scope, shared by every feature asking', () => {
    const m = manager();
    const first: Informer<Obj> = m.informer<Obj>(THINGS);
    expect(m.informer<Obj>(THINGS)).toBe(first);
    expect(m.informer<Obj>(THINGS, { labelSelector: 'app=x' })).not.toBe(first);
  });
});

describe('Manager lifecycle', () => {
  it('starts runnables that need no leadership first, then controllers and the rest in order, and stops them in reverse', async () => {
    const m = manager();
    const events: string[] = [];
    const runnable = (name: string, needLeaderElection?: boolean): Runnable => ({
      name,
      needLeaderElection,
      start: () => void events.push(`start ${name}`),
      stop: () => void events.push(`stop ${name}`),
    });
    m.add(runnable('client'));
    m.add(runnable('health', false));
    m.add(runnable('tunnel'));
    let signal: AbortSignal | undefined;
    const controller = m.controller({
      name: 'c',
      initialKeys: ['ns/first'],
      reconcile: async (key, s) => {
        events.push(`reconcile ${key}`);
        signal = s;
      },
    });
    await m.start();
    await settle(() => controller.queue.idle() && events.includes('reconcile ns/first'));
    expect(m.isWorking).toBe(true);
    // Controllers run (the initial key reconciled at once) before the leader-gated runnables start.
    expect(events).toEqual(['start health', 'reconcile ns/first', 'start client', 'start tunnel']);
    expect(signal?.aborted).toBe(false);
    await m.stop(100);
    expect(events.slice(4)).toEqual(['stop tunnel', 'stop client', 'stop health']);
    expect(signal?.aborted).toBe(true);
  });

  it('a drain stops the leader work first (controllers, leader-gated runnables) and keeps the rest running until stop', async () => {
    const m = manager();
    const events: string[] = [];
    m.add({ name: 'socket', needLeaderElection: false, start: () => void events.push('start socket'), stop: () => void events.push('stop socket') });
    m.add({ name: 'sync-role', start: () => void events.push('start sync-role'), stop: () => void events.push('stop sync-role') });
    let signal: AbortSignal | undefined;
    const controller = m.controller({ name: 'c', initialKeys: ['ns/a'], reconcile: async (_key, s) => void (signal = s) });
    await m.start();
    await settle(() => controller.queue.idle() && signal !== undefined);
    await m.stopLeaderWork(100);
    expect(m.isLeader).toBe(true); // no elector: always "leader"; what matters is what stopped
    expect(signal?.aborted).toBe(true);
    expect(events).toEqual(['start socket', 'start sync-role', 'stop sync-role']);
    await m.stop(100);
    expect(events).toEqual(['start socket', 'start sync-role', 'stop sync-role', 'stop socket']);
  });

  it('runs informers marked for every replica before the runnables that need no leadership', async () => {
    const m = manager();
    const informer = m.runOnEveryReplica(m.informer<Obj>(THINGS));
    const started: boolean[] = [];
    let synced = false;
    (informer as unknown as { start(): void }).start = () => void (synced = true);
    (informer as unknown as { hasSynced(): boolean }).hasSynced = () => synced;
    m.add({ name: 'socket', needLeaderElection: false, start: () => void started.push(synced) });
    await m.start();
    expect(started).toEqual([true]);
    await m.stop(100);
  });

  it('a runnable that fails to stop does not keep the others running', async () => {
    const m = manager();
    const stopped: string[] = [];
    m.add({ name: 'first', start: () => undefined, stop: () => void stopped.push('first') });
    m.add({
      name: 'broken',
      start: () => undefined,
      stop: () => {
        throw new Error('cannot stop');
      },
    });
    await m.start();
    await m.stop(100);
    expect(stopped).toEqual(['first']);
  });
});

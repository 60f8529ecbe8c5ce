// GatewayRoutes mirrored to the reference control plane over the real WebSocket, with acks, Synced
// status, reconnects and snapshots; the operator is the real process.
import { describe, expect, it } from '@jest/globals';
import { GATEWAY_ROUTE, GROUP, VERSION, type GatewayRoute } from '../../src/api/v1alpha1/types.js';
import { clients, eventually } from '../support/kube.js';
import { churnStep, syncSuite } from '../support/sync-suite.js';
import { condition, createIngress, createService, getGatewayRoute, inBatches, ingressObject, listGatewayRoutes, serviceObject } from '../support/fixtures.js';
import { clusterByName, clusterHolding, describeRoute, heldRoutes, startControlPlane, waitForRoutes } from '../support/control-plane.js';
import { operatorArgs, type OperatorProcess } from '../support/operator.js';
import { freePort } from '../support/test-cluster.js';
import { withRandom } from '../support/random.js';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wireRouteKey, type WireRouteBody } from '../../src/controlplane/protocol.js';
import { AdmissionregistrationV1Api, Watch } from '@kubernetes/client-node';

const TOKEN = 'sync-test-token';
const { networking, core, custom, kc } = clients();
const admission = kc.makeApiClient(AdmissionregistrationV1Api);
const suite = syncSuite(TOKEN);
const { operators, ownNamespace } = suite;

const route = (host: string, path: string, port = 8080, service = 'web') => describeRoute({ host, path, service, port });

/** ownNamespace, plus an operator for it registered at the shared control plane: tests share nothing. */
async function syncedNamespace(prefix: string): Promise<{ ns: string; operator: OperatorProcess }> {
  const ns = await ownNamespace(prefix);
  const operator = operators.start(suite.operatorArgs(ns));
  await operator.registered();
  return { ns, operator };
}

describe('mirroring', () => {
  it('50 Ingresses: the control plane holds exactly their routes and every GatewayRoute is Synced, with one status write per owner', async () => {
    const { ns } = await syncedNamespace('sync-fifty');
    const names = Array.from({ length: 50 }, (_, i) => `app-${i}`);
    // Every write of a GatewayRoute after its create: the Ingress controller's status and the sync controller's.
    const writes = new Map<string, number>();
    let watchEnded: unknown;
    const counting = await new Watch(kc).watch(
      `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${GATEWAY_ROUTE.plural}`,
      {},
      (type, object: GatewayRoute) => void (type === 'MODIFIED' && writes.set(object.metadata.name!, (writes.get(object.metadata.name!) ?? 0) + 1)),
      (err) => (watchEnded = err ?? 'the watch ended'),
    );
    await inBatches(names, 10, (name) => createIngress(ingressObject(ns, name, [{ host: `${name}.example.com`, paths: [{ path: '/', service: 'web', port: 'http' }] }])));
    await waitForRoutes(suite.cp, ns, names.map((n) => route(`${n}.example.com`, '/')));
    await eventually('all Synced and Ready', async () => {
      const all = await listGatewayRoutes(ns);
      return all.length === 50 && all.every((r) => condition(r, 'Synced')?.status === 'True' && condition(r, 'Ready')?.status === 'True');
    });
    const one = (await getGatewayRoute(ns, 'app-0'))!;
    expect(one.status?.controlPlane?.revision).toEqual(expect.any(Number));
    expect(one.status?.routingMode).toBe('tunnel');
    expect(condition(one, 'Synced')?.observedGeneration).toBe(one.metadata.generation);
    // What kstatus and Argo CD read: nothing in progress, nothing stalled, every owner saw this generation.
    await eventually('observedGeneration on all', async () => (await listGatewayRoutes(ns)).every((r) => r.status?.observedGeneration === r.metadata.generation));
    for (const r of await listGatewayRoutes(ns)) {
      expect([condition(r, 'Reconciling')?.status, condition(r, 'Stalled')?.status]).toEqual(['False', 'False']);
    }
    // Nothing went twice: one snapshot at start, then one change per Ingress.
    const uuid = clusterByName(suite.cp, ns)!.cluster_uuid;
    const changes = suite.cp.received.filter((m) => m.cluster === uuid && m.type === 'routes_change');
    const keys = changes.flatMap((m) => (m.payload.upsert as WireRouteBody[]).map((r) => wireRouteKey(m.payload.namespace as string, m.payload.name as string, r)));
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toHaveLength(50);
    // Synced and Ready are written once the Ingress controller has reported (Accepted), not before and again
    // after it: two status writes per GatewayRoute (a few more where an answer took longer than its grace on
    // a busy machine; without the wait most have three).
    expect(watchEnded).toBeUndefined();
    counting.abort();
    const exactlyTwo = names.filter((name) => writes.get(name) === 2);
    expect(exactlyTwo.length).toBeGreaterThanOrEqual(40);
    expect(Math.min(...names.map((name) => writes.get(name) ?? 0))).toBeGreaterThanOrEqual(2);
  });

  it('reflects a changed path, a removed host, a deleted Ingress and a Service deleted before its Ingress', async () => {
    const { ns } = await syncedNamespace('sync-changes');
    const names = Array.from({ length: 5 }, (_, i) => `edit-${i}`);
    await inBatches(names, 5, (name) => createIngress(ingressObject(ns, name, [{ host: `${name}.example.com`, paths: [{ path: '/', service: 'web', port: 'http' }] }])));
    await createIngress(ingressObject(ns, 'multi', [
      { host: 'one.example.com', paths: [{ path: '/', service: 'web', port: 'http' }] },
      { host: 'two.example.com', paths: [{ path: '/', service: 'web', port: 'http' }] },
    ]));
    await createService(serviceObject(ns, 'doomed', [{ port: 9000 }]));
    await createIngress(ingressObject(ns, 'doomed', [{ host: 'doomed.example.com', paths: [{ service: 'doomed', port: 9000 }] }]));
    const base = names.map((name) => route(`${name}.example.com`, '/'));
    await waitForRoutes(suite.cp, ns, [...base, route('one.example.com', '/'), route('two.example.com', '/'), route('doomed.example.com', '/', 9000, 'doomed')]);

    const edit0 = await networking.readNamespacedIngress({ namespace: ns, name: 'edit-0' });
    edit0.spec!.rules![0]!.http!.paths[0]!.path = '/changed';
    await networking.replaceNamespacedIngress({ namespace: ns, name: 'edit-0', body: edit0 });
    const multi = await networking.readNamespacedIngress({ namespace: ns, name: 'multi' });
    multi.spec!.rules = multi.spec!.rules!.slice(0, 1);
    await networking.replaceNamespacedIngress({ namespace: ns, name: 'multi', body: multi });
    await networking.deleteNamespacedIngress({ namespace: ns, name: 'edit-1' });
    await core.deleteNamespacedService({ namespace: ns, name: 'doomed' });
    await eventually('doomed unresolved', async () => condition(await getGatewayRoute(ns, 'doomed'), 'ResolvedRefs')?.status === 'False');
    await networking.deleteNamespacedIngress({ namespace: ns, name: 'doomed' });

    const expected = [route('edit-0.example.com', '/changed'), ...base.slice(2), route('one.example.com', '/')];
    await waitForRoutes(suite.cp, ns, expected);
  });

  it('syncs a hand-written GatewayRoute', async () => {
    const { ns } = await syncedNamespace('sync-handmade');
    const body: GatewayRoute = {
      apiVersion: 'gateway.pipeops.io/v1alpha1',
      kind: 'GatewayRoute',
      metadata: { name: 'handmade', namespace: ns },
      spec: { routes: [{ host: 'hand.example.com', path: '/x', pathType: 'Exact', backend: { service: 'web', port: { name: 'http' } } }] },
    };
    await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: GATEWAY_ROUTE.plural, body });
    await eventually('hand-written route at the control plane', async () => heldRoutes(suite.cp, ns).includes(route('hand.example.com', '/x')));
    await eventually('hand-written route Ready', async () => condition(await getGatewayRoute(ns, 'handmade'), 'Ready')?.status === 'True');
    await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: GATEWAY_ROUTE.plural, name: 'handmade' });
    await eventually('hand-written route removed', async () => !heldRoutes(suite.cp, ns).includes(route('hand.example.com', '/x')));
  });

  it('an empty route set is a state like any other: sent, acknowledged, Synced and Ready; emptying one removes its routes', async () => {
    const { ns } = await syncedNamespace('sync-empty');
    const body = (routes: GatewayRoute['spec']['routes']): GatewayRoute => ({
      apiVersion: 'gateway.pipeops.io/v1alpha1',
      kind: 'GatewayRoute',
      metadata: { name: 'empty', namespace: ns },
      spec: { routes },
    });
    await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: GATEWAY_ROUTE.plural, body: body([]) });
    await eventually('the empty set Synced and Ready', async () => {
      const r = await getGatewayRoute(ns, 'empty');
      return condition(r, 'Synced')?.status === 'True' && condition(r, 'Ready')?.status === 'True';
    });
    const uuid = clusterByName(suite.cp, ns)!.cluster_uuid;
    expect(suite.cp.received.filter((m) => m.cluster === uuid && m.type === 'routes_change' && m.payload.name === 'empty').map((m) => m.payload.upsert)).toEqual([[]]);
    expect(clusterByName(suite.cp, ns)!.gatewayRoutes.has(`${ns}/empty`)).toBe(true);

    const full = body([{ host: 'empty.example.com', path: '/', pathType: 'Prefix', backend: { service: 'web', port: { name: 'http' } } }]);
    const current = (await getGatewayRoute(ns, 'empty'))!;
    await custom.replaceNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: GATEWAY_ROUTE.plural, name: 'empty', body: { ...full, metadata: { ...full.metadata, resourceVersion: current.metadata.resourceVersion } } });
    await waitForRoutes(suite.cp, ns, [route('empty.example.com', '/')]);
    const filled = (await getGatewayRoute(ns, 'empty'))!;
    await custom.replaceNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: GATEWAY_ROUTE.plural, name: 'empty', body: { ...body([]), metadata: { ...full.metadata, resourceVersion: filled.metadata.resourceVersion } } });
    await waitForRoutes(suite.cp, ns, []);
    await eventually('Synced again, empty', async () => {
      const r = await getGatewayRoute(ns, 'empty');
      return r?.metadata.generation === filled.metadata.generation! + 1 && condition(r, 'Synced')?.status === 'True' && condition(r, 'Synced')?.observedGeneration === r.metadata.generation;
    });
  });

  it('reports a route the control plane rejects as Synced=False Rejected', async () => {
    const { ns } = await syncedNamespace('sync-rejected');
    // Another cluster already serves this host + path.
    clusterHolding(suite.cp, `someone-else-${ns}`, [{ host: `claimed.${ns}.example.com`, path: '/', path_type: 'Prefix', service: 's', port: 80, tls: false }]);
    await createIngress(ingressObject(ns, 'claimed', [{ host: `claimed.${ns}.example.com`, paths: [{ service: 'web', port: 'http' }] }]));
    const synced = await eventually('Rejected', async () => {
      const c = condition(await getGatewayRoute(ns, 'claimed'), 'Synced');
      return c?.reason === 'Rejected' ? c : undefined;
    });
    expect(synced.status).toBe('False');
    expect(synced.message).toContain(`host claimed.${ns}.example.com is served by another cluster`);
    // Ready summarises Accepted (the Ingress side's) and Synced; it may be written before Accepted arrives.
    await eventually('Ready=False Rejected', async () => condition(await getGatewayRoute(ns, 'claimed'), 'Ready')?.reason === 'Rejected');
    const rejected = (await getGatewayRoute(ns, 'claimed'))!;
    expect(condition(rejected, 'Ready')?.status).toBe('False');
    // It cannot progress without a change: Stalled, not Reconciling.
    expect(condition(rejected, 'Stalled')).toMatchObject({ status: 'True', reason: 'Rejected' });
    expect(condition(rejected, 'Reconciling')?.status).toBe('False');
  });
});

describe('sent as it is written (docs/protocol.md)', () => {
  /** The routes_change messages of `ns`'s cluster for GatewayRoute `name`, in order. */
  const changesOf = (ns: string, name: string) => {
    const uuid = clusterByName(suite.cp, ns)!.cluster_uuid;
    return suite.cp.received.filter((m) => m.cluster === uuid && m.type === 'routes_change' && m.payload.name === name).map((m) => m.payload);
  };

  it('a change reaches the control plane once; a write the apiserver refuses is undone there and its retries are not shown to it', async () => {
    const { ns, operator } = await syncedNamespace('sync-refused');
    const refusedHost = `refused.${ns}.example.com`;
    // An admission policy refusing GatewayRoutes for one host in this namespace: the operator's write fails.
    const policy = `refuse-${ns}`;
    await admission.createValidatingAdmissionPolicy({
      body: {
        metadata: { name: policy },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: { resourceRules: [{ apiGroups: [GROUP], apiVersions: [VERSION], operations: ['CREATE', 'UPDATE'], resources: [GATEWAY_ROUTE.plural] }] },
          validations: [{ expression: `!object.spec.routes.exists(r, has(r.host) && r.host == '${refusedHost}')`, message: 'this host is refused here' }],
        },
      },
    });
    await admission.createValidatingAdmissionPolicyBinding({
      body: {
        metadata: { name: policy },
        spec: { policyName: policy, validationActions: ['Deny'], matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } } },
      },
    });
    try {
      // The policy is in force once a dry-run create of such a GatewayRoute is refused.
      const probe = { apiVersion: `${GROUP}/${VERSION}`, kind: GATEWAY_ROUTE.kind, metadata: { name: 'probe', namespace: ns }, spec: { routes: [{ host: refusedHost, path: '/', pathType: 'Prefix', backend: { service: 'web', port: { number: 8080 } } }] } };
      await eventually('admission policy in force', () =>
        custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, plural: GATEWAY_ROUTE.plural, namespace: ns, body: probe, dryRun: 'All' }).then(() => false, (err: unknown) => String(err).includes('this host is refused here')),
      );
      await createIngress(ingressObject(ns, 'refused', [{ host: refusedHost, paths: [{ path: '/', service: 'web', port: 'http' }] }]));
      await createIngress(ingressObject(ns, 'allowed', [{ host: `allowed.${ns}.example.com`, paths: [{ path: '/', service: 'web', port: 'http' }] }]));
      await waitForRoutes(suite.cp, ns, [route(`allowed.${ns}.example.com`, '/')]);
      // Three refused writes: the first was sent as it started, then undone; the retries were not sent.
      await operator.waitForLog('a third refused write', (line) => line.msg === 'reconcile failed, retrying' && line.name === 'refused' && Number(line.attempt) >= 3);
      await eventually('the refused route removed again', async () => (changesOf(ns, 'refused').length >= 2 ? true : undefined));
      expect(changesOf(ns, 'refused').map((c) => ({ upsert: (c.upsert as WireRouteBody[]).map((r) => r.host), deleted: c.deleted ?? false }))).toEqual([
        { upsert: [refusedHost], deleted: false },
        { upsert: [], deleted: true },
      ]);
      expect(heldRoutes(suite.cp, ns).some((r) => r.startsWith(refusedHost))).toBe(false);
      expect(await getGatewayRoute(ns, 'refused')).toBeUndefined();
      // Stored without a second message, and Synced against the stored object.
      expect(changesOf(ns, 'allowed')).toHaveLength(1);
      await eventually('allowed Synced', async () => condition(await getGatewayRoute(ns, 'allowed'), 'Synced')?.status === 'True');
    } finally {
      await admission.deleteValidatingAdmissionPolicyBinding({ name: policy });
      await admission.deleteValidatingAdmissionPolicy({ name: policy });
    }
    // Once the apiserver takes the write, the route is at the control plane and Synced.
    await waitForRoutes(suite.cp, ns, [route(`allowed.${ns}.example.com`, '/'), route(refusedHost, '/')]);
    await eventually('refused Synced once stored', async () => condition(await getGatewayRoute(ns, 'refused'), 'Synced')?.status === 'True', 60_000);
  });
});

describe('truthful Synced', () => {
  it('a route whose backend Service does not exist is Synced=False BackendUnresolved, never "sent"; once the Service exists it is sent and Synced', async () => {
    const { ns } = await syncedNamespace('sync-unresolved');
    await createIngress(ingressObject(ns, 'early', [{ host: 'early.example.com', paths: [{ service: 'later', port: 'http' }, { path: '/ok', service: 'web', port: 'http' }] }]));
    const synced = await eventually('Synced=False BackendUnresolved', async () => {
      const c = condition(await getGatewayRoute(ns, 'early'), 'Synced');
      return c?.reason === 'BackendUnresolved' ? c : undefined;
    });
    expect(synced).toMatchObject({ status: 'False', message: `1 route(s) not sent, their backend cannot be used: ${ns}/early/Prefix:early.example.com/: Service later not found` });
    // The resolvable route went out; the other did not.
    await waitForRoutes(suite.cp, ns, [route('early.example.com', '/ok')]);
    expect(condition(await getGatewayRoute(ns, 'early'), 'Synced')?.reason).toBe('BackendUnresolved');

    await createService(serviceObject(ns, 'later', [{ name: 'http', port: 9000 }]));
    await waitForRoutes(suite.cp, ns, [route('early.example.com', '/ok'), route('early.example.com', '/', 9000, 'later')]);
    await eventually('Synced=True', async () => condition(await getGatewayRoute(ns, 'early'), 'Synced')?.status === 'True');
  });
});

describe('resilience', () => {
  it('loses nothing when the socket is killed 20 times during 200 changes (own namespace and operator; seeded)', () =>
    withRandom(async (random) => {
      const { ns: churn, operator: op } = await syncedNamespace('churn');
      const uuid = clusterByName(suite.cp, churn)!.cluster_uuid;
      const model = new Map<string, string>(); // ingress name -> path
      let drops = 0;
      const dropAt = new Set<number>();
      while (dropAt.size < 20) dropAt.add(random.int(200));
      for (let i = 0; i < 200; i++) {
        const name = `churn-${random.int(40)}`;
        if (dropAt.has(i)) {
          // Kill a live socket: wait for the reconnect of the previous kill first.
          await eventually('socket up to kill', async () => suite.cp.socketOf(uuid) !== undefined);
          drops += suite.cp.dropConnections(uuid);
        }
        await churnStep({ namespace: churn, name, host: `${name}.example.com`, path: `/v${i}`, model, random, deleteOneIn: 3 });
      }
      expect(drops).toBe(20);
      await waitForRoutes(suite.cp, churn, [...model.entries()].map(([name, path]) => route(`${name}.example.com`, path)), 60_000);
      expect(op.running).toBe(true);
    }), 120_000);

  it('keeps the same cluster_id across a restart, sends one snapshot, no duplicates, and rewrites no GatewayRoute', async () => {
    const own = await syncedNamespace('restart');
    const ns = own.ns;
    let operator = own.operator;
    const names = Array.from({ length: 20 }, (_, i) => `kept-${i}`);
    await inBatches(names, 10, (name) => createIngress(ingressObject(ns, name, [{ host: `${name}.example.com`, paths: [{ service: 'web', port: 'http' }] }])));
    await eventually('all Synced', async () => {
      const all = await listGatewayRoutes(ns);
      return all.length === names.length && all.every((r) => condition(r, 'Synced')?.status === 'True');
    });
    await operator.settled();
    const versions = async () => Object.fromEntries((await listGatewayRoutes(ns)).map((r) => [r.metadata.name, r.metadata.resourceVersion]));
    const versionsBefore = await versions();
    const before = clusterByName(suite.cp, ns)!;
    const held = heldRoutes(suite.cp, ns);
    const mark = suite.cp.receivedCount;
    expect(await operator.stop()).toBe(0);
    operator = operators.start(suite.operatorArgs(ns));
    await operator.registered();
    await operator.settled();
    const after = suite.cp.receivedSince(mark).filter((m) => m.cluster === before.cluster_uuid);
    expect(clusterByName(suite.cp, ns)!.cluster_id).toBe(before.cluster_id);
    expect(suite.cp.store.clusters().filter((c) => c.name === ns)).toHaveLength(1);
    expect(after.filter((m) => m.type === 'register')).toHaveLength(1);
    expect(after.filter((m) => m.type === 'register')[0]?.payload.cluster_id).toBe(before.cluster_id);
    expect(after.filter((m) => m.type === 'routes_sync_begin')).toHaveLength(1);
    expect(after.filter((m) => m.type === 'routes_change')).toHaveLength(0);
    expect(heldRoutes(suite.cp, ns)).toEqual(held);
    // The snapshot's acknowledgement re-confirms what the statuses already say: nothing to write.
    await eventually('snapshot acknowledged', async () => (await operator.get('/api/health/detailed')).body.routes.unacknowledgedGatewayRoutes === 0);
    await operator.settled();
    expect(await versions()).toEqual(versionsBefore);
  }, 60_000);

  it('survives hundreds of random and malformed frames', () => withRandom(async (noise) => {
    const { ns, operator } = await syncedNamespace('noise');
    const uuid = clusterByName(suite.cp, ns)!.cluster_uuid;
    const mark = suite.cp.receivedCount;
    const frames = [
      '', '{', 'null', '[]', '42', '"text"', '{"type":""}', '{"type":"routes_ack","payload":{"revision":"x"}}',
      '{"type":"routes_ack","payload":{"revision":1e400,"accepted":[],"rejected":[]}}', '{"type":"nope","payload":{}}',
      '{"type":"register_success","payload":{"cluster_id":"evil","cluster_uuid":"evil"}}', '{"type":"proxy_request","payload":{}}',
      '{"type":"__proto__","payload":{}}', '{"type":"constructor"}', '{"type":"ping","payload":[]}', '{"type":"error","payload":{"code":5}}',
    ];
    for (let i = 0; i < 300; i++) {
      const pick = frames[i % frames.length] as string;
      const random = Buffer.from(Array.from({ length: 1 + (i % 64) }, () => noise.int(256))).toString(i % 2 ? 'latin1' : 'base64');
      suite.cp.sendRaw(uuid, i % 3 === 0 ? random : pick);
    }
    await eventually('error replies from the operator', async () => suite.cp.receivedSince(mark).some((m) => m.type === 'error'));
    await createIngress(ingressObject(ns, 'after-noise', [{ host: 'after-noise.example.com', paths: [{ service: 'web', port: 'http' }] }]));
    await eventually('still syncing', async () => heldRoutes(suite.cp, ns).includes(route('after-noise.example.com', '/')));
    expect(operator.running).toBe(true);
    expect(clusterByName(suite.cp, ns)!.cluster_id).not.toBe('evil');
  }));
});

describe('control plane availability', () => {
  it('keeps running without the control plane, stays ready (a rollout must not hang), says why in the detailed health, and converges once it appears', async () => {
    const ns2 = await ownNamespace('late-cp');
    await createIngress(ingressObject(ns2, 'early', [{ host: 'early.example.com', paths: [{ service: 'web', port: 'http' }] }]));
    const port = await freePort();
    const op = operators.start(suite.operatorArgs(ns2, { url: `http://127.0.0.1:${port}` }));
    await op.ready();
    const detailed = await eventually('the detailed health explains', async () => {
      const r = await op.get('/api/health/detailed');
      return r.body.connection.state === 'disconnected' && r.body.connection.lastError ? r.body : undefined;
    });
    expect(detailed.connection.lastError).toMatch(/ECONNREFUSED|connect/);
    await eventually('Synced=False Disconnected', async () => condition(await getGatewayRoute(ns2, 'early'), 'Synced')?.reason === 'Disconnected');

    const late = await startControlPlane({ token: TOKEN, port });
    try {
      await op.registered();
      await waitForRoutes(late, ns2, [route('early.example.com', '/')]);
      await eventually('Synced=True', async () => condition(await getGatewayRoute(ns2, 'early'), 'Synced')?.status === 'True');
    } finally {
      await op.stop();
      await late.close();
    }
  }, 60_000);

  it('a control plane answering later than --ack-timeout-ms: one snapshot per connection, no resend storm, late answers matched, changes held during a snapshot go out after it', async () => {
    // The case is answers after 40 s against the default 30 s timeout; the same ratio, scaled down.
    const slow = await startControlPlane({ token: TOKEN });
    const nsA = await ownNamespace('ack-timeout');
    try {
      const op = operators.start([...suite.operatorArgs(nsA, { url: slow.url }), '--ack-timeout-ms', '2000']);
      await op.registered();
      await op.settled();
      const uuid = clusterByName(slow, nsA)!.cluster_uuid;
      const mine = (type: string) => slow.received.filter((m) => m.cluster === uuid && m.type === type);
      await eventually('the empty snapshot answered', async () => slow.answered >= 1);
      slow.answerDelayMs = 3_000;
      await createIngress(ingressObject(nsA, 'slow', [{ host: 'slow.example.com', paths: [{ service: 'web', port: 'http' }] }]));
      await op.waitForLog('the wait is reported', (l) => l.msg.includes('has not answered route messages'));
      expect(condition(await getGatewayRoute(nsA, 'slow'), 'Synced')?.status).not.toBe('True');
      await eventually('Synced=True once the late answer arrives', async () => condition(await getGatewayRoute(nsA, 'slow'), 'Synced')?.status === 'True', 20_000);

      // A new connection: its snapshot is answered 3 s late, and a change made meanwhile waits for it.
      slow.dropConnections(uuid);
      await eventually('reconnected and the snapshot sent', async () => mine('routes_sync_end').length === 2);
      await createIngress(ingressObject(nsA, 'during', [{ host: 'during.example.com', paths: [{ service: 'web', port: 'http' }] }]));
      await eventually('the change held during the snapshot, acknowledged', async () => condition(await getGatewayRoute(nsA, 'during'), 'Synced')?.status === 'True', 20_000);
      expect(heldRoutes(slow, nsA)).toEqual([route('during.example.com', '/'), route('slow.example.com', '/')]);
      expect(mine('register')).toHaveLength(2);
      expect(mine('routes_sync_begin')).toHaveLength(2); // one per connection, none on a timeout
      expect(mine('routes_change').map((m) => m.payload.name)).toEqual(['slow', 'during']);
      await op.stop();
    } finally {
      await slow.close();
    }
  }, 60_000);

  it('stops dialling after a 401, reports it, and dials again once the token file is rotated', async () => {
    const ns3 = await ownNamespace('bad-token');
    const tokenFile = join(mkdtempSync(join(tmpdir(), 'gateway-token-')), 'token');
    writeFileSync(tokenFile, 'wrong\n');
    const refusedBefore = suite.cp.refusedHandshakes;
    const op = operators.start(operatorArgs(ns3, { cp: suite.cp, token: false }, ['--token-file', tokenFile]));
    await op.waitForLog('token refused', (l) => l.msg.includes('refused the token'));
    expect((await op.get('/readyz')).status).toBe(200); // this process is fine; the control plane is reported elsewhere
    const detailed = (await op.get('/api/health/detailed')).body;
    expect(detailed.connection.state).toBe('unauthorized');
    expect(detailed.connection.lastError).toContain('refused the token');
    expect(JSON.stringify(detailed)).not.toContain('wrong');
    // An observation window longer than several reconnect backoffs (the first would come after ≥ 375 ms):
    // a refused token is never retried as it is.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(suite.cp.refusedHandshakes - refusedBefore).toBe(1);
    expect(op.logs.filter((l) => l.msg.includes('refused the token'))).toHaveLength(1);

    // A mounted Secret is rotated by swapping the file: the operator dials again, without a restart.
    writeFileSync(`${tokenFile}.new`, `${suite.cp.agentToken(ns3)}\n`);
    renameSync(`${tokenFile}.new`, tokenFile);
    await op.waitForLog('dialling with the new token', (l) => l.msg.includes('token file changed'));
    await eventually('registered with the rotated token', async () => clusterByName(suite.cp, ns3)?.connected === true);
    expect(suite.cp.refusedHandshakes - refusedBefore).toBe(1);
    expect((await op.get('/api/health/detailed')).body.connection.state).toBe('ready');
    await op.stop();
  }, 30_000);
});

// The metrics of the observability pack, read back from the registry Prometheus scrapes: the leader gauge
// follows the Lease (and a drain), GatewayRoutes by condition follow the cache without growing labels from
// what a status writer puts in, the unacknowledged-change age is computed at the scrape from the outbox,
// and the tunnel's duration histogram counts the requests its counter counts, by the same status classes.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import type { GatewayRoute } from '../../../src/api/v1alpha1/types.js';
import type { WireGatewayRoute } from '../../../src/controlplane/protocol.js';
import { countConditions } from '../../../src/gatewayroute/condition-counts.js';
import { silentLogger } from '../../../src/log.js';
import { metrics, registry, reportUnacknowledgedFrom } from '../../../src/metrics.js';
import { coreClient, type CoordinationClient, type Lease } from '../../../src/operator/clients.js';
import { EventRecorder } from '../../../src/operator/events.js';
import { Informer } from '../../../src/operator/informer.js';
import { LeaderElector } from '../../../src/operator/leader-election.js';
import { Manager } from '../../../src/operator/manager.js';
import { Outbox } from '../../../src/sync/outbox.js';
import { DEFAULT_TUNNEL_OPTIONS, Tunnel } from '../../../src/tunnel/tunnel.js';
import { plainTransport } from '../../../src/gatewayroute/transport.js';

function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
  return kc;
}

function manager(elector?: LeaderElector): Manager {
  const kc = kubeConfig();
  const logger = silentLogger();
  return new Manager({ kc, logger, watchNamespaces: [], elector, events: new EventRecorder(coreClient(kc), 'test', 'test-1', 'default', logger) });
}

/** The samples of one metric as Prometheus would scrape them: labels as "k=v,k=v" → value. */
async function samples(name: string): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for (const metric of await registry.getMetricsAsJSON()) {
    for (const sample of metric.values) {
      if (((sample as { metricName?: string }).metricName ?? metric.name) !== name) continue; // histograms: _bucket, _sum, _count
      const labels = Object.entries(sample.labels).map(([key, value]) => `${key}=${value}`).join(',');
      found.set(labels, sample.value);
    }
  }
  return found;
}

const value = async (name: string, labels = ''): Promise<number | undefined> => (await samples(name)).get(labels);

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + 5_000; !(await check()); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A Lease API with one Lease in memory; `holder` set from outside stands for another replica. */
function leaseApi(): CoordinationClient & { lease?: Lease } {
  const api = {
    lease: undefined as Lease | undefined,
    async readNamespacedLease() {
      if (!api.lease) throw Object.assign(new Error('not found'), { code: 404 });
      return structuredClone(api.lease);
    },
    async createNamespacedLease({ body }: { body: Lease }) {
      api.lease = structuredClone(body);
      return body;
    },
    async replaceNamespacedLease({ body }: { body: Lease }) {
      api.lease = structuredClone(body);
      return body;
    },
  };
  return api as unknown as CoordinationClient & { lease?: Lease };
}

describe('gateway_operator_leader', () => {
  it('is 1 while this replica holds the Lease and 0 once it released it; a replica that never got it stays at 0', async () => {
    const api = leaseApi();
    const options = { namespace: 'ns', name: 'lease', leaseDurationMs: 60_000, retryPeriodMs: 20 };
    const holder = manager(new LeaderElector(api, { ...options, identity: 'a' }, silentLogger()));
    metrics.leader.set(0);
    await holder.start();
    await until('the leader gauge at 1', async () => (await value('gateway_operator_leader')) === 1);
    expect(api.lease?.spec?.holderIdentity).toBe('a');

    await holder.stopLeaderWork(100);
    expect(await value('gateway_operator_leader')).toBe(0);
    expect(api.lease?.spec?.holderIdentity).toBe('');

    // Another replica holds the Lease now: this one tries, is refused, and never reports itself the leader.
    api.lease!.spec = { ...api.lease!.spec, holderIdentity: 'b', leaseDurationSeconds: 60, renewTime: new Date().toISOString() };
    const standby = manager(new LeaderElector(api, { ...options, identity: 'c' }, silentLogger()));
    await standby.start();
    await new Promise((resolve) => setTimeout(resolve, 100)); // a few retry periods of refusals
    expect(await value('gateway_operator_leader')).toBe(0);
    await standby.stop(100);
  });

  it('is 1 without leader election from the start of the work, and 0 once it drains', async () => {
    const single = manager();
    metrics.leader.set(0);
    await single.start();
    expect(await value('gateway_operator_leader')).toBe(1);
    await single.stopLeaderWork(100);
    expect(await value('gateway_operator_leader')).toBe(0);
  });
});

describe('gateway_operator_gatewayroutes', () => {
  let version = 0;
  const route = (name: string, conditions: Array<{ type: string; status: string }>): GatewayRoute =>
    ({
      metadata: { name, namespace: 'ns', resourceVersion: String(++version) },
      spec: { routes: [] },
      status: { conditions: conditions.map((c) => ({ ...c, reason: 'R', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' })) },
    }) as unknown as GatewayRoute;

  it('counts GatewayRoutes per condition and status as they change and go, every series present from the start', async () => {
    const informer = new Informer<GatewayRoute>(kubeConfig(), { kind: { apiVersion: 'gateway.pipeops.io/v1alpha1', kind: 'GatewayRoute', plural: 'gatewayroutes', namespaced: true }, logger: silentLogger() });
    countConditions(informer);
    const counts = async (): Promise<Record<string, number>> =>
      Object.fromEntries([...(await samples('gateway_operator_gatewayroutes'))].filter(([, v]) => v !== 0));
    expect((await samples('gateway_operator_gatewayroutes')).size).toBe(18); // six condition types × three statuses, at 0
    expect(await value('gateway_operator_gatewayroutes', 'condition=Stalled,status=True')).toBe(0);

    informer.observe(route('a', [{ type: 'Ready', status: 'True' }, { type: 'Stalled', status: 'False' }]));
    informer.observe(route('b', [{ type: 'Ready', status: 'False' }, { type: 'Stalled', status: 'True' }]));
    expect(await counts()).toEqual({ 'condition=Ready,status=True': 1, 'condition=Ready,status=False': 1, 'condition=Stalled,status=False': 1, 'condition=Stalled,status=True': 1 });

    // b is fixed: its old conditions leave the counts, its new ones enter.
    informer.observe(route('b', [{ type: 'Ready', status: 'True' }, { type: 'Stalled', status: 'False' }]));
    expect(await counts()).toEqual({ 'condition=Ready,status=True': 2, 'condition=Stalled,status=False': 2 });

    // Conditions of another writer, statuses outside the three, and a type listed twice add no series and no count.
    informer.observe(route('c', [{ type: 'Probe', status: 'True' }, { type: 'Ready', status: 'Maybe' }, { type: 'Synced', status: 'True' }, { type: 'Synced', status: 'True' }]));
    expect(await counts()).toEqual({ 'condition=Ready,status=True': 2, 'condition=Stalled,status=False': 2, 'condition=Synced,status=True': 1 });
    expect((await samples('gateway_operator_gatewayroutes')).size).toBe(18);

    informer.remove('ns/a');
    informer.remove('ns/b');
    informer.remove('ns/c');
    expect(await counts()).toEqual({});
  });
});

describe('gateway_operator_oldest_unacknowledged_change_age_seconds', () => {
  const gatewayRoute = (name: string): WireGatewayRoute => ({ namespace: 'ns', name, source: { kind: 'Ingress', name }, annotations: {}, routes: [] });
  const ack = { revision: 0, accepted: [], rejected: [] };

  it('is the age of the oldest message still waiting for its answer at the scrape, 0 when none waits or after a disconnect', async () => {
    const outbox = new Outbox();
    reportUnacknowledgedFrom(() => outbox.oldestAwaitingSince());
    const age = (): Promise<number | undefined> => value('gateway_operator_oldest_unacknowledged_change_age_seconds');
    expect(await age()).toBe(0);

    outbox.setDesired('ns/a', gatewayRoute('a'));
    const first = outbox.takeChange('ns/a', Date.now() - 90_000)!;
    outbox.setDesired('ns/b', gatewayRoute('b'));
    const second = outbox.takeChange('ns/b', Date.now() - 10_000)!;
    expect(await age()).toBeCloseTo(90, 0);

    outbox.ack(first.requestId, ack); // the older answered: the younger is the oldest now
    expect(await age()).toBeCloseTo(10, 0);
    outbox.ack(second.requestId, ack);
    expect(await age()).toBe(0);

    outbox.setDesired('ns/a', undefined);
    outbox.takeChange('ns/a', Date.now() - 30_000);
    outbox.disconnected();
    expect(await age()).toBe(0);
  });
});

describe('gateway_operator_tunnel_request_duration_seconds', () => {
  let backend: Server;
  let port = 0;
  beforeAll(async () => {
    // /slow answers after 300 ms; anything else at once.
    backend = createServer((req, res) => {
      if (req.url === '/slow') setTimeout(() => res.end('slow'), 300);
      else res.end('fast');
    });
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    port = (backend.address() as AddressInfo).port;
  });
  afterAll(async () => {
    backend.closeAllConnections();
    await new Promise((resolve) => backend.close(resolve));
  });

  it('observes every request that reached a backend, by its status class, with its duration; refusals are only counted', async () => {
    const answered = new Set<string>();
    const socket = {
      send: (type: string, _payload: unknown, id?: string) => (type === 'proxy_error' && id && answered.add(id), true),
      sendBulk: (type: string, _payload: unknown, id?: string) => (type === 'proxy_response' && id && answered.add(id), true),
      sendBody: () => true,
      congested: false,
      backlogBytes: 0,
      whenWritable: async () => undefined,
    };
    const routes = [{ key: 'ns/web/Prefix:shop.example.com/', host: 'shop.example.com', path: '/', path_type: 'Prefix' as const, service: 'web', port: 80, tls: false, namespace: 'ns' }];
    const tunnel = new Tunnel({ socket: socket as never, routes: () => routes, transport: plainTransport, options: { ...DEFAULT_TUNNEL_OPTIONS, serviceAddresses: new Map([['ns/web', `127.0.0.1:${port}`]]) }, logger: silentLogger() });
    metrics.tunnelRequestDuration.reset();
    metrics.tunnelRequests.reset();
    const request = (id: string, host: string, path: string): void =>
      tunnel.handle({ type: 'proxy_request', request_id: id, payload: { method: 'GET', host, path, headers: {} } } as never);

    request('fast', 'shop.example.com', '/');
    request('slow', 'shop.example.com', '/slow');
    request('nowhere', 'other.example.com', '/'); // 404 before any backend: counted, not timed
    await until('both answers', async () => answered.has('fast') && answered.has('slow'));

    const histogram = await samples('gateway_operator_tunnel_request_duration_seconds_count');
    expect(Object.fromEntries(histogram)).toEqual({ 'status=2xx': 2 });
    expect(await value('gateway_operator_tunnel_requests_total', 'status=2xx')).toBe(2);
    expect(await value('gateway_operator_tunnel_requests_total', 'status=4xx')).toBe(1);
    const sum = (await value('gateway_operator_tunnel_request_duration_seconds_sum', 'status=2xx'))!;
    expect(sum).toBeGreaterThanOrEqual(0.3);
    expect(sum).toBeLessThan(5);
    // The slow one is above the 0.25 s bucket, the fast one below it.
    expect(await value('gateway_operator_tunnel_request_duration_seconds_bucket', 'le=0.25,status=2xx')).toBe(1);
    tunnel.abortAll();
  });
});

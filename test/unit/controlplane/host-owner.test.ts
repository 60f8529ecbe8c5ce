import { describe, expect, it } from '@jest/globals';
import { disconnectedAnswer, hostTarget, servingCluster } from '../../../src/reference-control-plane/host-owner.js';
import type { ClusterRecord, HeldRoute } from '../../../src/reference-control-plane/store.js';

const NOW = new Date('2030-01-01T00:10:00.000Z');

function cluster(name: string, hosts: string[], disconnectedAt?: string): ClusterRecord {
  const routes = new Map<string, HeldRoute>(
    hosts.map((host) => [`ns/${name}/Prefix:${host}/`, { key: `ns/${name}/Prefix:${host}/`, host, path: '/', path_type: 'Prefix', service: 'web', port: 80, tls: false, namespace: 'ns', gateway_route: name, ingress_name: '', annotations: {} }]),
  );
  return {
    cluster_id: `id-${name}`,
    cluster_uuid: `id-${name}`,
    name,
    credential: 'c',
    connected: disconnectedAt === undefined,
    disconnected_at: disconnectedAt ?? null,
    last_heartbeat: null,
    is_private: null,
    routing_mode: null,
    routes,
    gatewayRoutes: new Map(),
    lastRevision: 0,
  };
}

describe('servingCluster', () => {
  const ghost = cluster('ghost', ['shop.example.com'], '2030-01-01T00:00:00.000Z');
  const live = cluster('live', ['shop.example.com']);
  const wildcard = cluster('wild', ['*.example.com']);
  const other = cluster('other', ['other.example.com']);
  it.each([
    { name: 'a connected cluster, listed after a disconnected one of the same host', clusters: [ghost, live], host: 'shop.example.com', serving: 'live' },
    { name: 'a connected cluster, listed before a disconnected one', clusters: [live, ghost], host: 'shop.example.com', serving: 'live' },
    { name: 'a connected wildcard over a disconnected exact host', clusters: [ghost, wildcard], host: 'shop.example.com', serving: 'wild' },
    { name: 'a disconnected cluster when no connected one serves the host', clusters: [ghost, other], host: 'shop.example.com', serving: 'ghost' },
    { name: 'an exact host over a wildcard listed first, both connected', clusters: [wildcard, live], host: 'shop.example.com', serving: 'live' },
    { name: 'the first listed of two that match alike', clusters: [live, cluster('twin', ['shop.example.com'])], host: 'shop.example.com', serving: 'live' },
    { name: 'none when no cluster serves the host', clusters: [ghost, other], host: 'unknown.test', serving: undefined },
  ])('$name', ({ clusters, host, serving }) => {
    expect(servingCluster(clusters, host)?.name).toBe(serving);
  });
});

describe('disconnectedAnswer', () => {
  it.each([
    { name: 'names the cluster and how long ago it left', at: '2030-01-01T00:08:30.000Z', seconds: 90, says: 'disconnected 90 s ago (at 2030-01-01T00:08:30.000Z)' },
    { name: 'a cluster never connected is "not connected"', at: null, seconds: null, says: 'is not connected' },
    { name: 'a clock that went back is 0 s, never negative', at: '2030-01-01T00:10:05.000Z', seconds: 0, says: 'disconnected 0 s ago' },
  ])('$name', ({ at, seconds, says }) => {
    const record = cluster('shop', [], at ?? undefined);
    const answer = disconnectedAnswer({ ...record, disconnected_at: at }, NOW);
    // The cluster_id is not shown to anonymous clients: the name and since when only.
    expect(answer).toEqual({ ok: false, status: 503, error: expect.any(String), details: { cluster: 'shop', disconnected_at: at, disconnected_seconds: seconds } });
    expect(answer.error).toMatch(/^cluster shop serves this host but /);
    expect(answer.error).not.toContain(record.cluster_id);
    expect(answer.error).toContain(says);
  });
});

describe('hostTarget', () => {
  const ghost = cluster('ghost', ['gone.example.com', 'shop.example.com'], '2030-01-01T00:09:00.000Z');
  const live = cluster('live', ['shop.example.com']);
  it.each([
    { name: 'a connected cluster: sent there', host: 'shop.example.com', expected: { ok: true, cluster: live } },
    { name: 'the Host as a client sends it (case, port)', host: 'SHOP.example.com:8080', expected: { ok: true, cluster: live } },
    { name: 'only a disconnected cluster: 503', host: 'gone.example.com', expected: { ok: false, status: 503, details: { cluster: 'ghost', disconnected_seconds: 60 } } },
    { name: 'no cluster: 404', host: 'nobody.example.com', expected: { ok: false, status: 404, error: 'unknown host nobody.example.com' } },
  ])('$name', ({ host, expected }) => {
    expect(hostTarget([ghost, live], host, NOW)).toMatchObject(expected);
  });
});

// The CRDs against the real apiserver: samples apply, invalid objects are rejected with a message that
// names the field, printer columns show up in kubectl, and status is written only through /status.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyObject } from '../../src/operator/apply.js';
import { CustomObjectsClient } from '../../src/operator/clients.js';
import { loadYaml } from '@kubernetes/client-node';
import {
  API_VERSION,
  CLUSTER_CONNECTIVITY,
  GATEWAY_ROUTE,
  GROUP,
  VERSION,
  type ClusterConnectivity,
  type GatewayRoute,
  type RouteSpec,
} from '../../src/api/v1alpha1/types.js';
import { REPO_ROOT } from '../support/test-cluster.js';
import { apiErrorMessage, clients, eventually, kubectl, testKubeConfig, TestNamespaces } from '../support/kube.js';

const samples = join(REPO_ROOT, 'config/samples');
const { custom } = clients();
const namespaces = new TestNamespaces();
let namespace: string;
let sampleApplied: ReturnType<typeof kubectl>;

function route(overrides: Partial<RouteSpec> = {}): RouteSpec {
  return { host: 'app.example.com', path: '/', pathType: 'Prefix', backend: { service: 'web', port: { number: 80 } }, ...overrides };
}

function gatewayRoute(name: string, routes: RouteSpec[]): GatewayRoute {
  return { apiVersion: API_VERSION, kind: 'GatewayRoute', metadata: { name, namespace }, spec: { routes } };
}

async function createGatewayRoute(body: GatewayRoute): Promise<GatewayRoute> {
  return (await custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: GATEWAY_ROUTE.plural,
    body,
  })) as GatewayRoute;
}

async function rejection(body: GatewayRoute): Promise<string> {
  try {
    await createGatewayRoute(body);
  } catch (err) {
    return apiErrorMessage(err);
  }
  throw new Error(`GatewayRoute ${body.metadata.name} was accepted but should have been rejected`);
}

beforeAll(async () => {
  namespace = await namespaces.create('crds');
  // ClusterConnectivity/cluster is one object for the whole cluster and every test file's operator writes it:
  // this file only makes sure it exists (as an operator does: the name alone) and never changes its spec.
  const ref = { group: GROUP, version: VERSION, plural: CLUSTER_CONNECTIVITY.plural, kind: CLUSTER_CONNECTIVITY.kind, name: 'cluster' };
  await applyObject(new CustomObjectsClient(testKubeConfig()), ref, { apiVersion: API_VERSION, kind: CLUSTER_CONNECTIVITY.kind, metadata: { name: 'cluster' } }, 'crds-test');
  // The sample GatewayRoute "shop", applied as a user would; the printer-column tests read it.
  sampleApplied = kubectl(['apply', '-n', namespace, '-f', join(samples, 'gateway_v1alpha1_gatewayroute.yaml')]);
});

afterAll(async () => {
  await namespaces.deleteAll();
});

describe('samples', () => {
  it('apply with kubectl', () => {
    expect(sampleApplied.stderr).toBe('');
    expect(sampleApplied.stdout).toContain('gatewayroute.gateway.pipeops.io/shop created');
  });

  it('the Gateway API sample (GatewayClass, Gateway, HTTPRoute) is valid against the Gateway API CRDs', () => {
    // Server-side dry run: validated by the apiserver (schema and CEL rules), nothing created.
    const result = kubectl(['apply', '--dry-run=server', '-n', namespace, '-f', join(samples, 'gateway-api_httproute.yaml')]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('gatewayclass.gateway.networking.k8s.io/tunnel created (server dry run)');
    expect(result.stdout).toContain('httproute.gateway.networking.k8s.io/shop created (server dry run)');
  });

  it('apply with client-node', async () => {
    const sample = loadYaml<GatewayRoute>(readFileSync(join(samples, 'gateway_v1alpha1_gatewayroute.yaml'), 'utf8'));
    sample.metadata = { name: 'shop-from-client', namespace };
    const created = await createGatewayRoute(sample);
    expect(created.spec.routes).toHaveLength(3);
    expect(created.metadata.uid).toBeTruthy();
  });

  it('ClusterConnectivity sample applies and gets its defaults (server-side dry run: the object is shared)', async () => {
    const result = kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=crds-test', '--dry-run=server', '-o', 'json', '-f', join(samples, 'gateway_v1alpha1_clusterconnectivity.yaml')]);
    expect(result.stderr).toBe('');
    const cc = JSON.parse(result.stdout) as ClusterConnectivity;
    expect(cc.spec).toEqual({
      mode: 'auto',
      ingressService: { namespace: 'ingress-nginx', name: 'ingress-nginx-controller' },
      detectionTimeoutSeconds: 120,
    });
  });

  it('ClusterConnectivity must be named "cluster"', async () => {
    const body = { apiVersion: API_VERSION, kind: 'ClusterConnectivity', metadata: { name: 'other' }, spec: {} };
    const message = await custom
      .createClusterCustomObject({ group: GROUP, version: VERSION, plural: CLUSTER_CONNECTIVITY.plural, body })
      .then(() => 'accepted', apiErrorMessage);
    expect(message).toContain('must be named "cluster"');
  });
});

describe('validation', () => {
  const cases: Array<{ name: string; routes: RouteSpec[]; expected: RegExp }> = [
    {
      name: 'bad-path-type',
      routes: [route({ pathType: 'Regex' as RouteSpec['pathType'] })],
      expected: /spec\.routes\[0\]\.pathType: Unsupported value: "Regex"/,
    },
    {
      name: 'port-zero',
      routes: [route({ backend: { service: 'web', port: { number: 0 } } })],
      expected: /spec\.routes\[0\]\.backend\.port\.number: Invalid value: 0: .*greater than or equal to 1/,
    },
    {
      name: 'port-too-high',
      routes: [route({ backend: { service: 'web', port: { number: 65536 } } })],
      expected: /spec\.routes\[0\]\.backend\.port\.number: Invalid value: 65536/,
    },
    {
      name: 'port-both',
      routes: [route({ backend: { service: 'web', port: { number: 80, name: 'http' } } })],
      expected: /spec\.routes\[0\]\.backend\.port: Invalid value: .*exactly one of number or name/,
    },
    {
      name: 'port-bad-name',
      routes: [route({ backend: { service: 'web', port: { name: 'Not_A_Label' } } })],
      expected: /spec\.routes\[0\]\.backend\.port\.name: Invalid value: "Not_A_Label"/,
    },
    {
      name: 'path-without-slash',
      routes: [route({ path: 'api' })],
      expected: /spec\.routes\[0\]\.path: Invalid value: "api"/,
    },
    {
      name: 'bad-host',
      routes: [route({ host: 'Not A Host!' })],
      expected: /spec\.routes\[0\]\.host: Invalid value: "Not A Host!"/,
    },
    {
      name: 'wildcard-in-middle',
      routes: [route({ host: 'a.*.example.com' })],
      expected: /spec\.routes\[0\]\.host: Invalid value/,
    },
    {
      name: 'too-many-routes',
      routes: Array.from({ length: 1001 }, (_, i) => route({ path: `/p${i}` })),
      expected: /spec\.routes: Too many: 1001: must have at most 1000 items/,
    },
  ];

  it.each(cases)('rejects $name with a message naming the field', async ({ name, routes, expected }) => {
    expect(await rejection(gatewayRoute(name, routes))).toMatch(expected);
  });

  it('accepts exactly 1000 routes, wildcard hosts and named ports', async () => {
    const routes = Array.from({ length: 1000 }, (_, i) =>
      route({ host: i % 2 ? '*.example.com' : 'app.example.com', path: `/p${i}`, backend: { service: 'web', port: { name: 'http' } } }),
    );
    const created = await createGatewayRoute(gatewayRoute('thousand', routes));
    expect(created.spec.routes).toHaveLength(1000);
  });
});

describe('printer columns', () => {
  it('kubectl get gatewayroutes and gwr show Source, Hosts, Routes, Mode, Synced, Ready, Age', () => {
    for (const resource of ['gatewayroutes', 'gwr']) {
      const result = kubectl(['get', resource, '-n', namespace, 'shop']);
      expect(result.status).toBe(0);
      expect(result.stdout.split('\n')[0]).toMatch(/^NAME\s+SOURCE\s+HOSTS\s+ROUTES\s+MODE\s+SYNCED\s+READY\s+AGE$/);
    }
  });

  it('-o wide adds Reason and Message', () => {
    const result = kubectl(['get', 'gwr', '-n', namespace, 'shop', '-o', 'wide']);
    expect(result.stdout.split('\n')[0]).toMatch(/AGE\s+REASON\s+MESSAGE$/);
  });

  it('kubectl get cc shows Private, Mode, Endpoint, Connected, Age', () => {
    const result = kubectl(['get', 'cc']);
    expect(result.status).toBe(0);
    expect(result.stdout.split('\n')[0]).toMatch(/^NAME\s+PRIVATE\s+MODE\s+ENDPOINT\s+CONNECTED\s+AGE$/);
    expect(result.stdout).toMatch(/^cluster\s/m);
  });

  // kubectl expands a category before it looks a resource up by that name: a category called "gateway"
  // made `kubectl get gateway` list our kinds instead of the Gateway API's Gateways.
  it('kubectl get gateway lists Gateway API Gateways, not our kinds', () => {
    const gateway = {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: 'category-check', namespace },
      spec: { gatewayClassName: 'category-check', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
    };
    const created = kubectl(['apply', '-f', '-'], JSON.stringify(gateway));
    expect(created.stderr).toBe('');
    const result = kubectl(['get', 'gateway', '-n', namespace, '-o', 'name']);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim().split('\n')).toEqual(['gateway.gateway.networking.k8s.io/category-check']);
  });

  it('the pipeops category lists both kinds', () => {
    const result = kubectl(['get', 'pipeops', '-n', namespace, '-o', 'name']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('gatewayroute.gateway.pipeops.io/shop');
    expect(result.stdout).toContain('clusterconnectivity.gateway.pipeops.io/cluster');
    expect(result.stdout).not.toContain('gateway.networking.k8s.io');
  });

  it('shows status values once they are written', async () => {
    await custom.patchNamespacedCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        namespace,
        plural: GATEWAY_ROUTE.plural,
        name: 'shop',
        body: [
          {
            op: 'add',
            path: '/status',
            value: {
              source: 'Manual',
              hosts: 'shop.example.com',
              routeCount: 3,
              routingMode: 'tunnel',
              conditions: [
                { type: 'Synced', status: 'True', reason: 'Synced', message: 'acknowledged', lastTransitionTime: '2026-01-01T00:00:00Z' },
                { type: 'Ready', status: 'True', reason: 'Ready', message: 'all good', lastTransitionTime: '2026-01-01T00:00:00Z' },
              ],
            },
          },
        ],
      },
    );
    const row = kubectl(['get', 'gwr', '-n', namespace, 'shop', '--no-headers']).stdout;
    expect(row).toMatch(/^shop\s+Manual\s+shop\.example\.com\s+3\s+tunnel\s+True\s+True\s+\S+/);
  });
});

describe('status subresource', () => {
  it('ignores status on the main resource and accepts it on /status', async () => {
    const target = { group: GROUP, version: VERSION, namespace, plural: GATEWAY_ROUTE.plural };
    const created = await createGatewayRoute({ ...gatewayRoute('status-only', [route()]), status: { routeCount: 7 } });
    expect(created.status).toBeUndefined();

    const replaced = (await custom.replaceNamespacedCustomObject({
      ...target,
      name: 'status-only',
      body: { ...created, status: { routeCount: 9 } },
    })) as GatewayRoute;
    expect(replaced.status).toBeUndefined();

    const patched = (await custom.patchNamespacedCustomObjectStatus({
      ...target,
      name: 'status-only',
      body: [{ op: 'add', path: '/status', value: { routeCount: 1 } }],
    })) as GatewayRoute;
    expect(patched.status?.routeCount).toBe(1);
    expect(patched.metadata.generation).toBe(created.metadata.generation);
  });

  it('rejects a malformed condition on /status', async () => {
    await createGatewayRoute(gatewayRoute('bad-status', [route()]));
    const message = await custom
      .patchNamespacedCustomObjectStatus({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: GATEWAY_ROUTE.plural,
        name: 'bad-status',
        body: [{ op: 'add', path: '/status', value: { conditions: [{ type: 'Ready', status: 'Maybe', reason: 'X', message: '' }] } }],
      })
      .then(() => 'accepted', apiErrorMessage);
    expect(message).toMatch(/status\.conditions\[0\]\.status: Unsupported value: "Maybe"/);
    expect(message).toMatch(/lastTransitionTime: Required value/);
  });
});

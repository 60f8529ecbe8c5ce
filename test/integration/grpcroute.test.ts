// GRPCRoutes as a source of GatewayRoutes, on the real apiserver with the Gateway API CRDs (standard channel)
// and the operator process: paths from service/method, backend.protocol H2C, the route's parent status with
// the Gateway API's reasons, listeners' supportedKinds and attachedRoutes, ReferenceGrants from GRPCRoutes,
// claims and names shared with HTTPRoutes; and an apiserver without the GRPCRoute CRD.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import type { Gateway as GatewayObject, GRPCRoute, HTTPRoute } from '../../src/gatewayapi/types.js';
import type { ReferenceControlPlane } from '../../src/reference-control-plane/server.js';
import { heldRoutes, startControlPlane } from '../support/control-plane.js';
import { installCrds } from '../support/crds.js';
import { condition, createService, getGatewayRoute, serviceObject } from '../support/fixtures.js';
import {
  createGatewayApiObject as create,
  createTunnelGateway,
  deleteGatewayApiObject as remove,
  GATEWAY_API_GROUP as GROUP,
  readGatewayApiObject as read,
  routeParentCondition,
  routeParentConditions,
  type RouteKind,
} from '../support/gateway-api.js';
import { clients, eventually, TestNamespaces, testKubeConfig } from '../support/kube.js';
import { operatorArgs, OperatorPool, type OperatorProcess } from '../support/operator.js';
import { gatewayApiCrds, TestCluster } from '../support/test-cluster.js';

const operators = new OperatorPool();
const namespaces = new TestNamespaces();
const { custom } = clients();
let operator: OperatorProcess;
let ns: string;
let backendsNs: string;
let cp: ReferenceControlPlane;
let controllerName: string;
let className: string;

type Route<K extends RouteKind> = { metadata: { name: string; namespace: string }; spec: (K extends 'GRPCRoute' ? GRPCRoute : HTTPRoute)['spec'] };
const grpcRoute = (name: string, spec: GRPCRoute['spec'], namespace = ns): Route<'GRPCRoute'> => ({ metadata: { name, namespace }, spec });
const toCart = [{ name: 'cart', port: 9000 }];
/** Creates GRPCRoute `name` on listener `sectionName` of Gateway tunnel: one hostname, these rules (default: every call to cart). */
const createGrpcRoute = (name: string, options: { hostname: string; rules?: GRPCRoute['spec']['rules']; sectionName?: string }): Promise<void> =>
  create('GRPCRoute', grpcRoute(name, { parentRefs: [{ name: 'tunnel', sectionName: options.sectionName ?? 'http' }], hostnames: [options.hostname], rules: options.rules ?? [{ backendRefs: toCart }] }));
const httpRoute = (name: string, spec: HTTPRoute['spec']): Route<'HTTPRoute'> => ({ metadata: { name, namespace: ns }, spec });
const parent = (name: string, kind: RouteKind = 'GRPCRoute') => ({ kind, namespace: ns, name, controllerName });
const listenerOf = async (name: string) => (await read<GatewayObject>('Gateway', ns, 'tunnel'))?.status?.listeners?.find((l) => l.name === name);

beforeAll(async () => {
  ns = await namespaces.create('grpc');
  backendsNs = await namespaces.create('grpc-backends');
  // A controllerName of this test's own: operators of other test files ignore its GatewayClass.
  controllerName = `gateway.pipeops.io/test-${ns}`;
  className = `tunnel-${ns}`;
  cp = await startControlPlane({ token: 'grpc' });
  await createService(serviceObject(ns, 'cart', [{ name: 'grpc', port: 9000 }]));
  await createService(serviceObject(ns, 'web', [{ name: 'http', port: 8080 }]));
  await createService(serviceObject(backendsNs, 'inventory', [{ port: 9000 }]));
  await createTunnelGateway({
    className,
    controllerName,
    namespace: ns,
    listeners: [
      { name: 'http', port: 80, protocol: 'HTTP' },
      { name: 'https', port: 443, protocol: 'HTTPS', hostname: '*.secure.example.com', tls: { certificateRefs: [{ name: 'cert' }] } },
      { name: 'http-only', port: 8080, protocol: 'HTTP', allowedRoutes: { kinds: [{ kind: 'HTTPRoute' }] } },
    ],
  });
  operator = operators.start(operatorArgs([ns, backendsNs], { cp }, ['--gateway-controller-name', controllerName]));
  await operator.registered();
});

afterAll(async () => {
  if (process.env.DEBUG_GRPC) console.log(operator.logs.filter((l) => l.level !== 'debug').map((l) => JSON.stringify(l)).join('\n'));
  await operators.stopAll();
  await cp?.close();
  await custom.deleteClusterCustomObject({ group: GROUP, version: 'v1', plural: 'gatewayclasses', name: className }).catch(() => undefined);
  await namespaces.deleteAll();
});

describe('Gateway listeners', () => {
  it('HTTP and HTTPS listeners support GRPCRoute too; allowedRoutes.kinds narrows it; attachedRoutes counts GRPCRoutes', async () => {
    const gw = await eventually('Gateway listeners reported', async () => {
      const current = await read<GatewayObject>('Gateway', ns, 'tunnel');
      return current?.status?.listeners?.length === 3 ? current : undefined;
    });
    const kinds = Object.fromEntries((gw.status?.listeners ?? []).map((l) => [l.name, l.supportedKinds.map((k) => `${k.group}/${k.kind}`)]));
    expect(kinds).toEqual({
      http: [`${GROUP}/HTTPRoute`, `${GROUP}/GRPCRoute`],
      https: [`${GROUP}/HTTPRoute`, `${GROUP}/GRPCRoute`],
      'http-only': [`${GROUP}/HTTPRoute`],
    });

    // Only this test attaches to the HTTPS listener (its hostnames are its own).
    await createGrpcRoute('counted', { hostname: 'counted.secure.example.com', sectionName: 'https' });
    await eventually('https listener counts the GRPCRoute', async () => (await listenerOf('https'))?.attachedRoutes === 1);
    const route = await eventually('GatewayRoute counted', async () => getGatewayRoute(ns, 'counted'));
    expect(route.spec.routes).toEqual([{ host: 'counted.secure.example.com', path: '/', pathType: 'Prefix', backend: { service: 'cart', port: { number: 9000 }, protocol: 'H2C' }, tls: true }]);
    await remove('GRPCRoute', ns, 'counted');
    await eventually('https listener back to 0', async () => (await listenerOf('https'))?.attachedRoutes === 0);
  });

  it('a GRPCRoute naming a listener that allows HTTPRoutes only: NotAllowedByListeners, no GatewayRoute', async () => {
    await createGrpcRoute('refused-kind', { hostname: 'refused.example.com', sectionName: 'http-only' });
    const accepted = await routeParentCondition(parent('refused-kind'), { type: 'Accepted', status: 'False', reason: 'NotAllowedByListeners' });
    expect(accepted.message).toBe(`Gateway ${ns}/tunnel listener http-only: no listener allows GRPCRoutes from namespace ${ns} (protocol, allowedRoutes, conflicts)`);
    expect(await getGatewayRoute(ns, 'refused-kind')).toBeUndefined();
  });
});

describe('GRPCRoute → GatewayRoute', () => {
  it('service/method matches become paths, every backend H2C; Accepted and ResolvedRefs True; synced to the control plane', async () => {
    await createGrpcRoute('cart', {
      hostname: 'grpc.example.com',
      rules: [
        { matches: [{ method: { service: 'shop.v1.Cart', method: 'GetItem' } }, { method: { type: 'Exact', service: 'shop.v1.Checkout' } }], backendRefs: toCart },
        { backendRefs: toCart },
      ],
    });
    await routeParentCondition(parent('cart'), { type: 'Accepted', status: 'True', reason: 'Accepted' });
    await routeParentCondition(parent('cart'), { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs' });
    const route = await eventually('GatewayRoute of the GRPCRoute Ready', async () => {
      const current = await getGatewayRoute(ns, 'cart');
      return condition(current, 'Ready')?.status === 'True' ? current : undefined;
    });
    const backend = { service: 'cart', port: { number: 9000 }, protocol: 'H2C' };
    expect(route.spec).toEqual({
      source: { kind: 'GRPCRoute', name: 'cart' },
      routes: [
        { host: 'grpc.example.com', path: '/shop.v1.Cart/GetItem', pathType: 'Exact', backend, tls: false },
        { host: 'grpc.example.com', path: '/shop.v1.Checkout/', pathType: 'Prefix', backend, tls: false },
        { host: 'grpc.example.com', path: '/', pathType: 'Prefix', backend, tls: false },
      ],
    });
    expect(route.status?.source).toBe('GRPCRoute');
    expect(route.metadata.ownerReferences).toEqual([expect.objectContaining({ apiVersion: `${GROUP}/v1`, kind: 'GRPCRoute', name: 'cart', controller: true })]);
    expect(route.metadata.labels?.['gateway.pipeops.io/managed-by']).toBe('grpcroute');
    expect(heldRoutes(cp, ns)).toEqual(expect.arrayContaining(['grpc.example.com/shop.v1.Cart/GetItem → cart:9000', 'grpc.example.com/shop.v1.Checkout/ → cart:9000', 'grpc.example.com/ → cart:9000']));
  });

  it('a header match and a filter: PartiallyInvalid naming the rule, match and field; the rest is served', async () => {
    await createGrpcRoute('partial', {
      hostname: 'partial.example.com',
      rules: [
        { matches: [{ method: { service: 'shop.Plain' } }, { method: { service: 'shop.Canary' }, headers: [{ name: 'x-canary', value: 'yes' }] }], backendRefs: toCart },
        {
          name: 'mirrored',
          matches: [{ method: { service: 'shop.Mirrored' } }],
          filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { add: [{ name: 'x-added', value: '1' }] } }],
          backendRefs: toCart,
        },
      ],
    });
    const partly = await routeParentCondition(parent('partial'), { type: 'PartiallyInvalid', status: 'True', reason: 'UnsupportedValue' });
    expect(partly.message).toBe('dropped: rules[0].matches[1]: headers matches are not supported; rules[1] (mirrored): filters RequestHeaderModifier are not supported');
    await routeParentCondition(parent('partial'), { type: 'Accepted', status: 'True', reason: 'Accepted' });
    const route = await eventually('GatewayRoute partial', async () => getGatewayRoute(ns, 'partial'));
    expect(route.spec.routes?.map((r) => r.path)).toEqual(['/shop.Plain/']);
    expect(condition(route, 'Accepted')).toMatchObject({ status: 'True', reason: 'PartiallyAccepted' });
  });

  it('a method name that is no gRPC name: refused by the apiserver; names it lets through are refused by the operator, naming the field', async () => {
    const bad = grpcRoute('bad-method', { parentRefs: [{ name: 'tunnel' }], hostnames: ['bad.example.com'], rules: [{ matches: [{ method: { service: 'shop.Cart', method: 'Get/../admin' } }], backendRefs: toCart }] });
    const refused = await create('GRPCRoute', bad).then(
      () => undefined,
      (err: unknown) => String((err as { body?: unknown }).body ?? err),
    );
    expect(refused).toContain('spec.rules[0].matches[0].method: Invalid value');
    expect(refused).toContain('method must only contain valid characters');

    // The CRD's own checks pass these: a proto absolute name (leading dot), and two names of 1024 characters
    // whose path would not fit a GatewayRoute.
    await createGrpcRoute('odd-names', {
      hostname: 'odd.example.com',
      rules: [
        { matches: [{ method: { service: 'shop.Good', method: 'Get' } }], backendRefs: toCart },
        { matches: [{ method: { service: '.shop.Cart', method: 'Get' } }, { method: { service: 's'.repeat(1024), method: 'm'.repeat(1024) } }], backendRefs: toCart },
      ],
    });
    const partly = await routeParentCondition(parent('odd-names'), { type: 'PartiallyInvalid', status: 'True', reason: 'UnsupportedValue' });
    expect(partly.message).toBe(
      'dropped: rules[1].matches[0]: method.service ".shop.Cart" is not a gRPC service name (dot-separated identifiers such as shop.v1.Cart: letters, digits and _, not starting with a digit); ' +
        'rules[1].matches[1]: method.service and method.method make a path of 2050 characters (at most 2048)',
    );
    const route = await eventually('GatewayRoute odd-names', async () => getGatewayRoute(ns, 'odd-names'));
    expect(route.spec.routes?.map((r) => r.path)).toEqual(['/shop.Good/Get']);
  });

  it('a Service in another namespace: RefNotPermitted until a ReferenceGrant from GRPCRoutes allows it; then synced', async () => {
    await createGrpcRoute('crossns', { hostname: 'inventory.example.com', rules: [{ backendRefs: [{ name: 'inventory', namespace: backendsNs, port: 9000 }] }] });
    const refused = await routeParentCondition(parent('crossns'), { type: 'ResolvedRefs', status: 'False', reason: 'RefNotPermitted' });
    expect(refused.message).toBe(`rules[0]: backendRef ${backendsNs}/inventory: no ReferenceGrant in namespace ${backendsNs} allows GRPCRoutes from ${ns} to use Service inventory`);
    await routeParentCondition(parent('crossns'), { type: 'Accepted', status: 'False', reason: 'UnsupportedValue' }); // its only rule has no usable backend
    expect(await getGatewayRoute(ns, 'crossns')).toMatchObject({ spec: { routes: [] } });

    await create('ReferenceGrant', {
      metadata: { name: 'from-grpc', namespace: backendsNs },
      spec: { from: [{ group: GROUP, kind: 'GRPCRoute', namespace: ns }], to: [{ group: '', kind: 'Service', name: 'inventory' }] },
    });
    await routeParentCondition(parent('crossns'), { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs' });
    const route = await eventually('GatewayRoute crossns Ready (the sync side takes the grant too)', async () => {
      const current = await getGatewayRoute(ns, 'crossns');
      return condition(current, 'Ready')?.status === 'True' ? current : undefined;
    });
    expect(route.spec.routes).toEqual([{ host: 'inventory.example.com', path: '/', pathType: 'Prefix', backend: { service: 'inventory', namespace: backendsNs, port: { number: 9000 }, protocol: 'H2C' }, tls: false }]);
    await eventually('inventory.example.com at the control plane', async () => heldRoutes(cp, ns).includes('inventory.example.com/ → inventory:9000'));
  });

  it('the same host + path from an HTTPRoute and a later GRPCRoute: the older one serves it, the GRPCRoute takes it over when it lets go', async () => {
    await create('HTTPRoute', httpRoute('claims-http', { parentRefs: [{ name: 'tunnel', sectionName: 'http' }], hostnames: ['claims.example.com'], rules: [{ matches: [{ path: { value: '/shop.Claims/' } }], backendRefs: [{ name: 'web', port: 8080 }] }] }));
    await eventually('the HTTPRoute serves /shop.Claims/', async () => (await getGatewayRoute(ns, 'claims-http'))?.spec.routes?.length === 1);
    await createGrpcRoute('claims-grpc', { hostname: 'claims.example.com', rules: [{ matches: [{ method: { service: 'shop.Claims' } }, { method: { service: 'shop.Own' } }], backendRefs: toCart }] });
    const partly = await routeParentCondition(parent('claims-grpc'), { type: 'PartiallyInvalid', status: 'True', reason: 'UnsupportedValue' });
    expect(partly.message).toBe(`dropped: rules[0].matches[0]: claims.example.com/shop.Claims/ (Prefix) is already served by GatewayRoute ${ns}/claims-http (from HTTPRoute claims-http)`);
    expect((await getGatewayRoute(ns, 'claims-grpc'))?.spec.routes?.map((r) => r.path)).toEqual(['/shop.Own/']);

    // The HTTPRoute lets the path go but stays attached: the Gateway's status does not change, so only the
    // claims (a GatewayRoute of another kind gave up a route this one lost) can wake the GRPCRoute.
    const current = (await read<HTTPRoute>('HTTPRoute', ns, 'claims-http'))!;
    const rules = [{ matches: [{ path: { value: '/elsewhere/' } }], backendRefs: [{ name: 'web', port: 8080 }] }];
    await custom.replaceNamespacedCustomObject({ group: GROUP, version: 'v1', plural: 'httproutes', namespace: ns, name: 'claims-http', body: { ...current, spec: { ...current.spec, rules } } });
    await eventually('the GRPCRoute serves /shop.Claims/ now', async () => (await getGatewayRoute(ns, 'claims-grpc'))?.spec.routes?.map((r) => r.path).join(',') === '/shop.Claims/,/shop.Own/');
    // The parent status is written after the GatewayRoute: wait for it to say so too.
    const conditions = await eventually('PartiallyInvalid gone from the GRPCRoute', async () => {
      const current = await routeParentConditions(parent('claims-grpc'));
      return current && !current.some((c) => c.type === 'PartiallyInvalid') ? current : undefined;
    });
    expect(conditions.find((c) => c.type === 'Accepted')).toMatchObject({ status: 'True', reason: 'Accepted', message: '2 route(s) served by the hosted gateway' });
  });

  it('an HTTPRoute and a GRPCRoute of the same name: the later one gets NameConflict', async () => {
    await create('HTTPRoute', httpRoute('twin', { parentRefs: [{ name: 'tunnel', sectionName: 'http' }], hostnames: ['twin-http.example.com'], rules: [{ backendRefs: [{ name: 'web', port: 8080 }] }] }));
    await eventually('GatewayRoute twin of the HTTPRoute', async () => (await getGatewayRoute(ns, 'twin'))?.spec.source?.kind === 'HTTPRoute');
    await createGrpcRoute('twin', { hostname: 'twin-grpc.example.com' });
    const conflict = await routeParentCondition(parent('twin'), { type: 'Accepted', status: 'False', reason: 'NameConflict' });
    expect(conflict.message).toContain(`GatewayRoute ${ns}/twin is translated from HTTPRoute ${ns}/twin`);
    expect((await getGatewayRoute(ns, 'twin'))?.spec.source).toEqual({ kind: 'HTTPRoute', name: 'twin' });
  });

  it('deleting the GRPCRoute deletes its GatewayRoute and withdraws its routes from the control plane', async () => {
    await createGrpcRoute('shortlived', { hostname: 'short-grpc.example.com' });
    await eventually('short-grpc.example.com at the control plane', async () => heldRoutes(cp, ns).includes('short-grpc.example.com/ → cart:9000'));
    await remove('GRPCRoute', ns, 'shortlived');
    await eventually('GatewayRoute gone', async () => (await getGatewayRoute(ns, 'shortlived')) === undefined);
    await eventually('short-grpc.example.com withdrawn', async () => !heldRoutes(cp, ns).some((r) => r.startsWith('short-grpc.example.com')));
  });
});

// An apiserver with the Gateway API but without the GRPCRoute CRD (an install older than v1.1, or a partial
// one): HTTPRoutes are served as before, listeners list HTTPRoute only, and the operator says why once.
describe('without the GRPCRoute CRD', () => {
  const cluster = new TestCluster({ controllerManager: false, gatewayApi: false });
  let withoutGrpc: OperatorProcess;
  let kube: ReturnType<typeof clients>;
  const home = 'nogrpc';

  beforeAll(async () => {
    const info = await cluster.start();
    const crds = mkdtempSync(join(tmpdir(), 'gateway-api-crds-'));
    try {
      for (const file of readdirSync(gatewayApiCrds()).filter((f) => f.endsWith('.yaml') && !f.includes('grpcroutes'))) copyFileSync(join(gatewayApiCrds(), file), join(crds, file));
      await installCrds(info.kubeconfig, crds);
    } finally {
      rmSync(crds, { recursive: true, force: true });
    }
    kube = clients(testKubeConfig(info.kubeconfig));
    await kube.kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: home } } });
    await kube.kc.makeApiClient(CoreV1Api).createNamespacedService({ namespace: home, body: serviceObject(home, 'web', [{ port: 80 }]) });
    withoutGrpc = operators.start(operatorArgs(home), { KUBECONFIG: info.kubeconfig });
  }, 90_000);

  afterAll(async () => {
    await withoutGrpc?.stop();
    await cluster.stop();
  });

  it('serves HTTPRoutes, lists HTTPRoute only on listeners, and says once that GRPCRoutes are not watched', async () => {
    await withoutGrpc.ready();
    const said = await withoutGrpc.waitForLog('the GRPCRoute absence noticed', (l) => typeof l.msg === 'string' && l.msg.startsWith('the GRPCRoute CRD is not installed'));
    expect(said.level).toBe('info');
    await create('GatewayClass', { metadata: { name: 'tunnel' }, spec: { controllerName: 'gateway.pipeops.io/tunnel' } }, kube.custom);
    await create('Gateway', { metadata: { name: 'tunnel', namespace: home }, spec: { gatewayClassName: 'tunnel', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] } }, kube.custom);
    await create('HTTPRoute', { metadata: { name: 'site', namespace: home }, spec: { parentRefs: [{ name: 'tunnel' }], hostnames: ['site.example.com'], rules: [{ backendRefs: [{ name: 'web', port: 80 }] }] } }, kube.custom);
    const route = await eventually('GatewayRoute of the HTTPRoute', async () => getGatewayRoute(home, 'site', kube.custom));
    expect(route.spec.source).toEqual({ kind: 'HTTPRoute', name: 'site' });
    const listener = await eventually('Gateway listener status', async () => (await read<GatewayObject>('Gateway', home, 'tunnel', kube.custom))?.status?.listeners?.[0]);
    expect(listener.supportedKinds).toEqual([{ group: GROUP, kind: 'HTTPRoute' }]);
    expect(withoutGrpc.logs.filter((l) => typeof l.msg === 'string' && l.msg.includes('GRPCRoute'))).toHaveLength(1);
  });
});

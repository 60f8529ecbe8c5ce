// HTTPRoutes as a second source of GatewayRoutes, on the real apiserver with the Gateway API CRDs (standard
// channel, from the pinned sigs.k8s.io/gateway-api module): GatewayClass / Gateway / HTTPRoute status with
// the Gateway API's reasons, ReferenceGrant, conflicts with Ingresses, and requests served through the
// reference gateway and the tunnel next to an Ingress.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { API_VERSION, GATEWAY_ROUTE, GROUP as OUR_GROUP, VERSION as OUR_VERSION, type Condition, type GatewayRoute } from '../../src/api/v1alpha1/types.js';
import type { Gateway as GatewayObject, GatewayClass, HTTPRoute, ReferenceGrant } from '../../src/gatewayapi/types.js';
import { Gateway } from '../../src/reference-control-plane/gateway.js';
import type { ReferenceControlPlane } from '../../src/reference-control-plane/server.js';
import { clients, eventually, kubectl, TestNamespaces } from '../support/kube.js';
import { condition, createIngress, createService, getGatewayRoute, ingressObject, serviceObject } from '../support/fixtures.js';
import { heldRoutes, startControlPlane } from '../support/control-plane.js';
import { createGatewayApiObject, createTunnelGateway, deleteGatewayApiObject, readGatewayApiObject, routeParentCondition, routeParentConditions } from '../support/gateway-api.js';
import { operatorArgs, OperatorPool, type OperatorProcess } from '../support/operator.js';

const GROUP = 'gateway.networking.k8s.io';
const operators = new OperatorPool();
const namespaces = new TestNamespaces();
const { custom, core } = clients();
let operator: OperatorProcess;
let ns: string;
let backendsNs: string;
let otherNs: string;
let cp: ReferenceControlPlane;
let gateway: Gateway;
let gatewayPort: number;
let backend: Server;
let controllerName: string;
let className: string;

const create = createGatewayApiObject;
const read = readGatewayApiObject;
const remove = deleteGatewayApiObject;

function httpRoute(namespace: string, name: string, spec: HTTPRoute['spec']): { metadata: { name: string; namespace: string }; spec: HTTPRoute['spec'] } {
  return { metadata: { name, namespace }, spec };
}

/** This operator's entry of the HTTPRoute's status.parents for Gateway `gw`, once it is there. */
const parentStatus = (namespace: string, name: string, gw = 'tunnel'): Promise<Condition[] | undefined> => routeParentConditions({ kind: 'HTTPRoute', namespace, name, controllerName }, gw);

/** Waits until the HTTPRoute's parent condition `type` has `status`/`reason` for the route's current generation. */
const parentCondition = (namespace: string, name: string, type: string, status: string, reason: string): Promise<Condition> =>
  routeParentCondition({ kind: 'HTTPRoute', namespace, name, controllerName }, { type, status, reason });

function call(host: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: gatewayPort, path, headers: { Host: host }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  backend = createServer((req, res) => res.end(JSON.stringify({ url: req.url, host: req.headers.host, backend: 'web' })));
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  const backendPort = (backend.address() as AddressInfo).port;
  ns = await namespaces.create('gwapi');
  backendsNs = await namespaces.create('gwapi-backends');
  otherNs = await namespaces.create('gwapi-other');
  // A controllerName of this test's own: operators of other test files ignore its GatewayClass.
  controllerName = `gateway.pipeops.io/test-${ns}`;
  className = `tunnel-${ns}`;
  cp = await startControlPlane({ token: 'gwapi' });
  gateway = new Gateway(cp);
  gatewayPort = await gateway.listen();
  await createService(serviceObject(ns, 'web', [{ name: 'http', port: 8080 }]));
  await createService(serviceObject(backendsNs, 'db', [{ port: 5432 }]));
  await createTunnelGateway({
    className,
    controllerName,
    namespace: ns,
    listeners: [
      { name: 'http', port: 80, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'Same' } } },
      { name: 'https', port: 443, protocol: 'HTTPS', hostname: '*.secure.example.com', tls: { certificateRefs: [{ name: 'cert' }] } },
      { name: 'tcp', port: 5432, protocol: 'TCP' },
    ],
  });
  operator = operators.start(operatorArgs([ns, backendsNs, otherNs], { cp }, [
    '--gateway-controller-name', controllerName,
    '--service-address', `${ns}/web=127.0.0.1:${backendPort}`, '--service-address', `${backendsNs}/db=127.0.0.1:${backendPort}`,
  ]));
  await operator.registered();
});

afterAll(async () => {
  // DEBUG_GWAPI=1 prints the operator's log (info and above) after the file: the story behind a failure.
  if (process.env.DEBUG_GWAPI) console.log(operator.logs.filter((l) => l.level !== 'debug').map((l) => JSON.stringify(l)).join('\n'));
  await operators.stopAll();
  await gateway?.close();
  await cp?.close();
  backend?.closeAllConnections();
  await new Promise((r) => backend?.close(r));
  await custom.deleteClusterCustomObject({ group: GROUP, version: 'v1', plural: 'gatewayclasses', name: className }).catch(() => undefined);
  await namespaces.deleteAll();
});

describe('GatewayClass and Gateway', () => {
  it('accepts our GatewayClass, and the Gateway with per-listener status: HTTP and HTTPS programmed, TCP refused', async () => {
    await eventually('GatewayClass Accepted', async () => {
      const gc = await read<GatewayClass>('GatewayClass', '', className);
      const accepted = gc?.status?.conditions?.find((c) => c.type === 'Accepted');
      return accepted?.status === 'True' && accepted.reason === 'Accepted' && accepted.observedGeneration === gc?.metadata.generation;
    });
    const gw = await eventually('Gateway Programmed', async () => {
      const current = await read<GatewayObject>('Gateway', ns, 'tunnel');
      return current?.status?.conditions?.find((c) => c.type === 'Programmed' && c.status === 'True') ? current : undefined;
    });
    expect(gw.status?.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual(
      expect.arrayContaining([['Accepted', 'True', 'Accepted'], ['Programmed', 'True', 'Programmed']]),
    );
    const listeners = Object.fromEntries((gw.status?.listeners ?? []).map((l) => [l.name, l]));
    expect(listeners.http?.supportedKinds).toEqual([{ group: GROUP, kind: 'HTTPRoute' }, { group: GROUP, kind: 'GRPCRoute' }]); // GRPCRoute is served here too
    expect(listeners.tcp?.conditions.find((c) => c.type === 'Accepted')).toMatchObject({ status: 'False', reason: 'UnsupportedProtocol' });
    expect(listeners.tcp?.supportedKinds).toEqual([]);
  });

  it('leaves a GatewayClass of another controller alone', async () => {
    const name = `other-${ns}`;
    await create('GatewayClass', { metadata: { name }, spec: { controllerName: 'example.com/someone-else' } });
    try {
      // Our class is reconciled after it in the same queue: once ours is Accepted, the other was seen too.
      await create('GatewayClass', { metadata: { name: `${name}-ours` }, spec: { controllerName } });
      await eventually('our second class accepted', async () => (await read<GatewayClass>('GatewayClass', '', `${name}-ours`))?.status?.conditions?.some((c) => c.type === 'Accepted' && c.status === 'True'));
      const other = await read<GatewayClass>('GatewayClass', '', name);
      expect(other?.status?.conditions?.find((c) => c.type === 'Accepted')).toMatchObject({ status: 'Unknown', reason: 'Pending' });
    } finally {
      for (const n of [name, `${name}-ours`]) await custom.deleteClusterCustomObject({ group: GROUP, version: 'v1', plural: 'gatewayclasses', name: n }).catch(() => undefined);
    }
  });
});

describe('HTTPRoute → GatewayRoute', () => {
  it('an HTTPRoute next to an Ingress: both served by the reference gateway through the tunnel', async () => {
    const attachedBefore = (await read<GatewayObject>('Gateway', ns, 'tunnel'))?.status?.listeners?.find((l) => l.name === 'http')?.attachedRoutes ?? 0;
    await createIngress(ingressObject(ns, 'legacy', [{ host: 'legacy.example.com', paths: [{ service: 'web', port: 'http' }] }]));
    await create(
      'HTTPRoute',
      httpRoute(ns, 'shop', {
        parentRefs: [{ name: 'tunnel', sectionName: 'http' }],
        hostnames: ['shop.example.com'],
        rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/api' } }], backendRefs: [{ name: 'web', port: 8080 }] }],
      }),
    );
    // (Other tests of this file add routes of their own to this cluster, in any order.)
    await eventually('both at the control plane', async () => ['legacy.example.com/ → web:8080', 'shop.example.com/api → web:8080'].every((r) => heldRoutes(cp, ns).includes(r)));

    const api = await call('shop.example.com', '/api/items?x=1');
    expect(api.status).toBe(200);
    expect(JSON.parse(api.body)).toEqual({ url: '/api/items?x=1', host: 'shop.example.com', backend: 'web' });
    expect((await call('shop.example.com', '/other')).status).toBe(404); // the HTTPRoute serves /api only
    expect((await call('legacy.example.com', '/')).status).toBe(200);

    const route = await eventually('GatewayRoute of the HTTPRoute Ready', async () => {
      const current = await getGatewayRoute(ns, 'shop');
      return condition(current, 'Ready')?.status === 'True' ? current : undefined;
    });
    expect(route.spec.source).toEqual({ kind: 'HTTPRoute', name: 'shop' });
    expect(route.metadata.ownerReferences).toEqual([expect.objectContaining({ apiVersion: `${GROUP}/v1`, kind: 'HTTPRoute', name: 'shop', controller: true })]);
    expect(route.metadata.labels?.['gateway.pipeops.io/managed-by']).toBe('httproute');
    expect(route.status?.observedGeneration).toBe(route.metadata.generation);

    await parentCondition(ns, 'shop', 'Accepted', 'True', 'Accepted');
    await parentCondition(ns, 'shop', 'ResolvedRefs', 'True', 'ResolvedRefs');
    await eventually('Gateway http listener counts the route', async () => {
      const gw = await read<GatewayObject>('Gateway', ns, 'tunnel');
      return gw?.status?.listeners?.find((l) => l.name === 'http')?.attachedRoutes === attachedBefore + 1;
    });
  });

  it('kubectl get gatewayroutes says where each came from: SOURCE Ingress, HTTPRoute, or Manual (written by hand, its HOSTS and ROUTES filled too)', async () => {
    const target = { group: OUR_GROUP, version: OUR_VERSION, plural: GATEWAY_ROUTE.plural, namespace: ns };
    const byHand: GatewayRoute = {
      apiVersion: API_VERSION,
      kind: 'GatewayRoute',
      metadata: { name: 'by-hand', namespace: ns },
      spec: { routes: [{ host: 'by-hand.example.com', path: '/', pathType: 'Prefix', backend: { service: 'web', port: { number: 8080 } } }] },
    };
    // Objects of its own (tests run in a random order): one of each source.
    await createIngress(ingressObject(ns, 'src-ingress', [{ host: 'src-ingress.example.com', paths: [{ service: 'web', port: 'http' }] }]));
    await create(
      'HTTPRoute',
      httpRoute(ns, 'src-route', {
        parentRefs: [{ name: 'tunnel', sectionName: 'http' }],
        hostnames: ['src-route.example.com'],
        rules: [{ backendRefs: [{ name: 'web', port: 8080 }] }],
      }),
    );
    await custom.createNamespacedCustomObject({ ...target, body: byHand });
    try {
      const rows = await eventually('a SOURCE on each GatewayRoute', async () => {
        const table = kubectl(['get', 'gatewayroutes', '-n', ns, 'src-ingress', 'src-route', 'by-hand']).stdout.trim().split('\n');
        return table.length === 4 && table.slice(1).every((row) => /^\S+\s+(Ingress|HTTPRoute|Manual)\s+\S+\s+\d/.test(row)) ? table : undefined;
      });
      expect(rows[0]).toMatch(/^NAME\s+SOURCE\s+HOSTS\s+ROUTES\s+MODE\s+SYNCED\s+READY\s+AGE$/);
      expect(rows.slice(1).map((row) => row.split(/\s+/).slice(0, 4)).sort()).toEqual([
        ['by-hand', 'Manual', 'by-hand.example.com', '1'],
        ['src-ingress', 'Ingress', 'src-ingress.example.com', '1'],
        ['src-route', 'HTTPRoute', 'src-route.example.com', '1'],
      ]);
    } finally {
      await custom.deleteNamespacedCustomObject({ ...target, name: 'by-hand' });
      await remove('HTTPRoute', ns, 'src-route');
      await clients().networking.deleteNamespacedIngress({ namespace: ns, name: 'src-ingress' });
    }
  });

  it('HTTPS listener with a wildcard hostname: the route is TLS, and only hostnames the listener covers are served', async () => {
    await create(
      'HTTPRoute',
      httpRoute(ns, 'secure', {
        parentRefs: [{ name: 'tunnel', sectionName: 'https' }],
        hostnames: ['app.secure.example.com', 'elsewhere.example.org'],
        rules: [{ backendRefs: [{ name: 'web', port: 8080 }] }],
      }),
    );
    const route = await eventually('GatewayRoute secure', async () => getGatewayRoute(ns, 'secure'));
    expect(route.spec.routes).toEqual([{ host: 'app.secure.example.com', path: '/', pathType: 'Prefix', backend: { service: 'web', port: { number: 8080 } }, tls: true }]);
  });

  it('unsupported parts are dropped per match or rule and reported (PartiallyInvalid), never the whole route', async () => {
    await create(
      'HTTPRoute',
      httpRoute(ns, 'partial', {
        parentRefs: [{ name: 'tunnel' }],
        hostnames: ['partial.example.com'],
        rules: [
          { matches: [{ path: { value: '/plain' } }, { path: { value: '/by-header' }, headers: [{ name: 'x-canary', value: 'yes' }] }], backendRefs: [{ name: 'web', port: 8080 }] },
          {
            matches: [{ path: { value: '/modified' } }],
            filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { add: [{ name: 'x-added', value: '1' }] } }],
            backendRefs: [{ name: 'web', port: 8080 }],
          },
        ],
      }),
    );
    const partly = await parentCondition(ns, 'partial', 'PartiallyInvalid', 'True', 'UnsupportedValue');
    expect(partly.message).toContain('rules[0].matches[1]: headers matches are not supported');
    expect(partly.message).toContain('rules[1]: filters RequestHeaderModifier are not supported');
    await parentCondition(ns, 'partial', 'Accepted', 'True', 'Accepted');
    const route = await eventually('GatewayRoute partial', async () => getGatewayRoute(ns, 'partial'));
    expect(route.spec.routes?.map((r) => r.path)).toEqual(['/plain']);
    expect((await call('partial.example.com', '/by-header')).status).toBe(404);
  });

  it('a Service in another namespace: RefNotPermitted until a ReferenceGrant allows it, then served there', async () => {
    await create(
      'HTTPRoute',
      httpRoute(ns, 'crossns', {
        parentRefs: [{ name: 'tunnel' }],
        hostnames: ['db.example.com'],
        rules: [{ backendRefs: [{ name: 'db', namespace: backendsNs, port: 5432 }] }],
      }),
    );
    await parentCondition(ns, 'crossns', 'ResolvedRefs', 'False', 'RefNotPermitted');
    await parentCondition(ns, 'crossns', 'Accepted', 'False', 'UnsupportedValue'); // its only rule has no usable backend
    expect(heldRoutes(cp, ns).some((r) => r.startsWith('db.example.com'))).toBe(false);

    const grant: { metadata: { name: string; namespace: string }; spec: ReferenceGrant['spec'] } = {
      metadata: { name: 'from-shop', namespace: backendsNs },
      spec: { from: [{ group: GROUP, kind: 'HTTPRoute', namespace: ns }], to: [{ group: '', kind: 'Service', name: 'db' }] },
    };
    await create('ReferenceGrant', grant);
    await parentCondition(ns, 'crossns', 'ResolvedRefs', 'True', 'ResolvedRefs');
    await eventually('db.example.com at the control plane', async () => heldRoutes(cp, ns).includes('db.example.com/ → db:5432'));
    const held = [...(cp.store.clusters().find((c) => c.name === ns)?.routes.values() ?? [])].find((r) => r.host === 'db.example.com');
    expect(held?.service_namespace).toBe(backendsNs);
    const res = await call('db.example.com', '/rows');
    expect(res.status).toBe(200); // reached through the backends namespace's Service mapping
    expect(JSON.parse(res.body)).toMatchObject({ url: '/rows', host: 'db.example.com' });

    await remove('ReferenceGrant', backendsNs, 'from-shop');
    await parentCondition(ns, 'crossns', 'ResolvedRefs', 'False', 'RefNotPermitted');
    await eventually('db.example.com withdrawn', async () => !heldRoutes(cp, ns).some((r) => r.startsWith('db.example.com')));
  });

  it('a route from a namespace the listener does not allow is not accepted and makes no GatewayRoute', async () => {
    await create(
      'HTTPRoute',
      httpRoute(otherNs, 'intruder', {
        parentRefs: [{ name: 'tunnel', namespace: ns, sectionName: 'http' }],
        hostnames: ['intruder.example.com'],
        rules: [{ backendRefs: [{ name: 'web', port: 8080 }] }],
      }),
    );
    await parentCondition(otherNs, 'intruder', 'Accepted', 'False', 'NotAllowedByListeners');
    expect(await getGatewayRoute(otherNs, 'intruder')).toBeUndefined();
  });

  it('a route of a Gateway of another controller gets no status from us and no GatewayRoute', async () => {
    const foreignClass = `foreign-${ns}`;
    await create('GatewayClass', { metadata: { name: foreignClass }, spec: { controllerName: 'example.com/someone-else' } });
    try {
      await create('Gateway', { metadata: { name: 'foreign', namespace: ns }, spec: { gatewayClassName: foreignClass, listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] } });
      // One route with both parents: ours answers for its own Gateway only.
      await create(
        'HTTPRoute',
        httpRoute(ns, 'both', {
          parentRefs: [{ name: 'foreign' }, { name: 'tunnel', sectionName: 'http' }],
          hostnames: ['both.example.com'],
          rules: [{ backendRefs: [{ name: 'web', port: 8080 }] }],
        }),
      );
      await parentCondition(ns, 'both', 'Accepted', 'True', 'Accepted');
      const route = await read<HTTPRoute>('HTTPRoute', ns, 'both');
      expect(route?.status?.parents?.map((p) => p.parentRef.name)).toEqual(['tunnel']);
      const foreign = await read<GatewayObject>('Gateway', ns, 'foreign');
      expect(foreign?.status?.conditions?.find((c) => c.type === 'Accepted')).toMatchObject({ status: 'Unknown', reason: 'Pending' });

      // The other implementation writes its own entry; ours is rewritten later (a new generation) and the
      // other entry is still there: status.parents is one atomic list shared by every controller.
      const target = { group: GROUP, version: 'v1', plural: 'httproutes', namespace: ns, name: 'both' };
      const current = (await read<HTTPRoute>('HTTPRoute', ns, 'both'))!;
      const theirs = {
        parentRef: { group: GROUP, kind: 'Gateway', name: 'foreign' },
        controllerName: 'example.com/someone-else',
        conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'theirs', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: current.metadata.generation }],
      };
      await custom.replaceNamespacedCustomObjectStatus({ ...target, body: { ...current, status: { parents: [...(current.status?.parents ?? []), theirs] } } });
      const withTheirs = (await read<HTTPRoute>('HTTPRoute', ns, 'both'))!;
      await custom.replaceNamespacedCustomObject({ ...target, body: { ...withTheirs, spec: { ...withTheirs.spec, hostnames: ['both.example.com', 'both2.example.com'] } } });
      const rewritten = await eventually('our entry rewritten for the new generation', async () => {
        const route = await read<HTTPRoute>('HTTPRoute', ns, 'both');
        const ours = route?.status?.parents?.find((p) => p.controllerName === controllerName);
        return ours?.conditions.some((c) => c.type === 'Accepted' && c.observedGeneration === route?.metadata.generation && c.message === '2 route(s) served by the hosted gateway') ? route : undefined;
      });
      expect(rewritten.status?.parents).toContainEqual(expect.objectContaining({ controllerName: 'example.com/someone-else', conditions: theirs.conditions }));
    } finally {
      await custom.deleteClusterCustomObject({ group: GROUP, version: 'v1', plural: 'gatewayclasses', name: foreignClass }).catch(() => undefined);
    }
  });

  it('the same host + path from an Ingress and a later HTTPRoute: the later one leaves it out and says so', async () => {
    await createIngress(ingressObject(ns, 'zz-first', [{ host: 'shared.example.com', paths: [{ path: '/same', service: 'web', port: 'http' }] }]));
    await eventually('Ingress route at the control plane', async () => heldRoutes(cp, ns).includes('shared.example.com/same → web:8080'));
    await create(
      'HTTPRoute',
      httpRoute(ns, 'aa-second', {
        parentRefs: [{ name: 'tunnel', sectionName: 'http' }],
        hostnames: ['shared.example.com'],
        rules: [{ matches: [{ path: { value: '/same' } }, { path: { value: '/own' } }], backendRefs: [{ name: 'web', port: 8080 }] }],
      }),
    );
    const partly = await parentCondition(ns, 'aa-second', 'PartiallyInvalid', 'True', 'UnsupportedValue');
    expect(partly.message).toContain(`shared.example.com/same (Prefix) is already served by GatewayRoute ${ns}/zz-first (from Ingress zz-first)`);
    const second = await eventually('GatewayRoute aa-second', async () => getGatewayRoute(ns, 'aa-second'));
    expect(second.spec.routes?.map((r) => r.path)).toEqual(['/own']);
    expect(condition(second, 'Accepted')).toMatchObject({ status: 'True', reason: 'PartiallyAccepted' });
    const first = await getGatewayRoute(ns, 'zz-first');
    expect(condition(first, 'Accepted')).toMatchObject({ status: 'True', reason: 'Accepted' }); // the earlier one is untouched

    // (Named so that the HTTPRoute's GatewayRoute sorts first: created in the same second as the Ingress's, it
    // must still lose to the one already serving the path.)
    // The Ingress goes: the HTTPRoute takes the path over.
    await clients().networking.deleteNamespacedIngress({ namespace: ns, name: 'zz-first' });
    await eventually('HTTPRoute serves /same now', async () => (await getGatewayRoute(ns, 'aa-second'))?.spec.routes?.map((r) => r.path).join(',') === '/same,/own');
    await eventually('PartiallyInvalid gone from the HTTPRoute', async () => {
      const conditions = await parentStatus(ns, 'aa-second');
      return conditions && !conditions.some((c) => c.type === 'PartiallyInvalid');
    });
    expect((await parentCondition(ns, 'aa-second', 'Accepted', 'True', 'Accepted')).message).toBe('2 route(s) served by the hosted gateway');
  });

  it('an HTTPRoute whose GatewayRoute name is taken by an Ingress: NameConflict and a Warning Event; it takes the name once the Ingress goes', async () => {
    await createIngress(ingressObject(ns, 'named', [{ host: 'named-ingress.example.com', paths: [{ service: 'web', port: 'http' }] }]));
    await eventually('Ingress GatewayRoute', async () => getGatewayRoute(ns, 'named'));
    await create(
      'HTTPRoute',
      httpRoute(ns, 'named', { parentRefs: [{ name: 'tunnel', sectionName: 'http' }], hostnames: ['named-route.example.com'], rules: [{ backendRefs: [{ name: 'web', port: 8080 }] }] }),
    );
    const conflict = await parentCondition(ns, 'named', 'Accepted', 'False', 'NameConflict');
    expect(conflict.message).toContain(`GatewayRoute ${ns}/named is translated from Ingress ${ns}/named`);
    const route = await read<HTTPRoute>('HTTPRoute', ns, 'named');
    await eventually('NameConflict Event on the HTTPRoute', async () =>
      (await core.listNamespacedEvent({ namespace: ns })).items.some((e) => e.involvedObject.uid === route?.metadata.uid && e.reason === 'NameConflict' && e.type === 'Warning'),
    );
    expect((await getGatewayRoute(ns, 'named'))?.spec.source).toEqual({ kind: 'Ingress', name: 'named' });

    await clients().networking.deleteNamespacedIngress({ namespace: ns, name: 'named' });
    const taken = await eventually('the HTTPRoute owns the name', async () => {
      const current = await getGatewayRoute(ns, 'named');
      return current?.spec.source?.kind === 'HTTPRoute' ? current : undefined;
    });
    expect(taken.spec.routes?.map((r) => r.host)).toEqual(['named-route.example.com']);
    await parentCondition(ns, 'named', 'Accepted', 'True', 'Accepted');
  });

  it('deleting the HTTPRoute deletes its GatewayRoute and withdraws its routes from the control plane', async () => {
    await create(
      'HTTPRoute',
      httpRoute(ns, 'shortlived', { parentRefs: [{ name: 'tunnel', sectionName: 'http' }], hostnames: ['short.example.com'], rules: [{ backendRefs: [{ name: 'web', port: 8080 }] }] }),
    );
    await eventually('short.example.com at the control plane', async () => heldRoutes(cp, ns).includes('short.example.com/ → web:8080'));
    await remove('HTTPRoute', ns, 'shortlived');
    await eventually('GatewayRoute gone', async () => (await getGatewayRoute(ns, 'shortlived')) === undefined);
    await eventually('short.example.com withdrawn', async () => !heldRoutes(cp, ns).some((r) => r.startsWith('short.example.com')));
  });
});


// The GatewayRoute writer keeps its cache right after its own status writes: a status that flips and flips
// back faster than the watch delivers the first write is still written (the source controllers' watches
// ignore status-only events, so nothing else would correct it). No apiserver: a fake client answers.
import { describe, expect, it } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import type { ConditionInput } from '../../../src/api/v1alpha1/conditions.js';
import { GATEWAY_ROUTE_KIND, type GatewayRoute } from '../../../src/api/v1alpha1/types.js';
import { GatewayRouteWriter, type TranslatedGatewayRoute } from '../../../src/gatewayroute/writer.js';
import { silentLogger } from '../../../src/log.js';
import { Informer } from '../../../src/operator/informer.js';

function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
  return kc;
}

const source = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'web', uid: 'u1' };
const spec: GatewayRoute['spec'] = { source: { kind: 'Ingress', name: 'web' }, routes: [{ host: 'a.example.com', path: '/', pathType: 'Prefix', backend: { service: 'web', port: { number: 80 } } }] };
const resolved: ConditionInput = { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: 'all backend Services and ports exist' };
const missing: ConditionInput = { type: 'ResolvedRefs', status: 'False', reason: 'ServiceNotFound', message: 'Service web not found' };

function translated(resolvedRefs: ConditionInput): TranslatedGatewayRoute {
  return { namespace: 'ns', name: 'web', source, annotations: {}, spec, accepted: { type: 'Accepted', status: 'True', reason: 'Accepted', message: '1 route(s) accepted' }, resolvedRefs, ignored: [] };
}

describe('GatewayRouteWriter', () => {
  it('writes a status that flips back before the watch delivered the first flip', async () => {
    const gatewayRoutes = new Informer<GatewayRoute>(kubeConfig(), { kind: GATEWAY_ROUTE_KIND, logger: silentLogger() });
    let server: GatewayRoute = {
      apiVersion: 'gateway.pipeops.io/v1alpha1',
      kind: 'GatewayRoute',
      metadata: { name: 'web', namespace: 'ns', resourceVersion: '10', generation: 1, labels: { 'gateway.pipeops.io/managed-by': 'ingress' }, ownerReferences: [{ ...source, controller: true }] },
      spec,
    };
    const written: string[] = [];
    // The apiserver's answer to a status apply: the object with the new status and the next resourceVersion.
    const custom = {
      patchNamespacedCustomObjectStatus: async ({ body }: { body: { status: GatewayRoute['status'] } }) => {
        written.push(body.status?.conditions?.find((c) => c.type === 'ResolvedRefs')?.status ?? '');
        server = { ...server, metadata: { ...server.metadata, resourceVersion: String(Number(server.metadata.resourceVersion) + 1) }, status: body.status };
        return server;
      },
    };
    const writer = new GatewayRouteWriter({
      custom: custom as never,
      gatewayRoutes,
      events: { record: () => undefined } as never,
      logger: silentLogger(),
      controller: 'ingress',
      statusFieldManager: 'gateway-operator-ingress',
    });
    gatewayRoutes.observe(server);
    await writer.write(gatewayRoutes.get('ns/web'), translated(missing));
    gatewayRoutes.observe(server); // the watch delivers the first write
    // The Service appears and goes again; the watch has not delivered the True in between.
    await writer.write(gatewayRoutes.get('ns/web'), translated(resolved));
    await writer.write(gatewayRoutes.get('ns/web'), translated(missing));
    expect(written).toEqual(['False', 'True', 'False']);
    await writer.write(gatewayRoutes.get('ns/web'), translated(missing)); // nothing new: no write
    expect(written).toHaveLength(3);
  });
});

// The GatewayRoute writer keeps its cache right after its own status writes: a status that flips and flips
// back faster than the watch delivers the first write is still written (the source controllers' watches
// ignore status-only events, so nothing else would correct it). No apiserver: a fake client answers.
import { describe, expect, it } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import type { ConditionInput } from '../../../src/api/v1alpha1/conditions.js';
import { GATEWAY_ROUTE_KIND, type GatewayRoute } from '../../../src/api/v1alpha1/types.js';
import { PendingWrites } from '../../../src/gatewayroute/pending.js';
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

describe('GatewayRouteWriter announces spec writes (sent to the control plane as they start)', () => {
  const stored = (resourceVersion: string, annotations?: Record<string, string>): GatewayRoute => ({
    apiVersion: 'gateway.pipeops.io/v1alpha1',
    kind: 'GatewayRoute',
    metadata: { name: 'web', namespace: 'ns', resourceVersion, generation: 1, annotations, labels: { 'gateway.pipeops.io/managed-by': 'ingress' }, ownerReferences: [{ ...source, controller: true }] },
    spec,
  });

  /**
   * A writer whose apiserver answers each spec apply with `answer` (an object, or an error to throw), each write
   * with the next resourceVersion; a read answers `readBack` (undefined: not found).
   */
  function writerWith(answer: (resourceVersion: string) => GatewayRoute | Error, readBack: () => GatewayRoute | undefined = () => undefined) {
    let resourceVersion = 0;
    const gatewayRoutes = new Informer<GatewayRoute>(kubeConfig(), { kind: GATEWAY_ROUTE_KIND, logger: silentLogger() });
    const pendingWrites = new PendingWrites();
    const seen: string[] = [];
    pendingWrites.onStarted((key) => seen.push(`started ${key}: pending ${pendingWrites.get(key)?.spec.routes?.[0]?.host} cached ${gatewayRoutes.get(key)?.metadata.resourceVersion ?? 'none'}`));
    pendingWrites.onSettled((key) => seen.push(`settled ${key}: pending ${pendingWrites.get(key) ? 'yes' : 'no'} cached ${gatewayRoutes.get(key)?.metadata.resourceVersion ?? 'none'}`));
    const custom = {
      patchNamespacedCustomObject: async () => {
        seen.push('apply');
        const result = answer(String(resourceVersion + 1));
        if (result instanceof Error) throw result;
        resourceVersion++;
        return result;
      },
      patchNamespacedCustomObjectStatus: async () => stored(String(++resourceVersion)),
      getNamespacedCustomObject: async () => {
        seen.push('read');
        const object = readBack();
        if (!object) throw Object.assign(new Error('not found'), { code: 404, body: '{"message":"not found"}' });
        return object;
      },
    };
    const writer = new GatewayRouteWriter({
      custom: custom as never,
      gatewayRoutes,
      pendingWrites,
      events: { record: () => undefined } as never,
      logger: silentLogger(),
      controller: 'ingress',
      statusFieldManager: 'gateway-operator-ingress',
    });
    return { writer, gatewayRoutes, seen };
  }

  it('announces a create before the apiserver answers and settles it once the answer is in the cache', async () => {
    const { writer, seen } = writerWith((rv) => stored(rv));
    await writer.write(undefined, translated(resolved));
    expect(seen).toEqual(['started ns/web: pending a.example.com cached none', 'apply', 'settled ns/web: pending no cached 1']);
  });

  it('settles a refused write too, and does not announce the retries until a write is stored', async () => {
    let refuse = true;
    const { writer, seen } = writerWith((rv) => (refuse ? Object.assign(new Error('admission webhook denied the request'), { code: 403 }) : stored(rv)));
    await expect(writer.write(undefined, translated(resolved))).rejects.toThrow('denied');
    await expect(writer.write(undefined, translated(resolved))).rejects.toThrow('denied');
    expect(seen).toEqual(['started ns/web: pending a.example.com cached none', 'apply', 'settled ns/web: pending no cached none', 'apply']);
    refuse = false;
    await writer.write(undefined, translated(resolved)); // stored (resourceVersion 1, its status 2), not announced
    await writer.write(undefined, translated(resolved)); // announced again
    expect(seen.slice(4)).toEqual(['apply', 'started ns/web: pending a.example.com cached 2', 'apply', 'settled ns/web: pending no cached 3']);
  });

  it('a write whose answer was lost counts as written when the apiserver stored it, and as failed when not', async () => {
    const cut = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const storedAnyway = writerWith(cut, () => stored('41'));
    await storedAnyway.writer.write(undefined, translated(resolved));
    expect(storedAnyway.seen).toEqual(['started ns/web: pending a.example.com cached none', 'apply', 'read', 'settled ns/web: pending no cached 41']);

    const lost = writerWith(cut);
    await expect(lost.writer.write(undefined, translated(resolved))).rejects.toThrow('socket hang up');
    expect(lost.seen).toEqual(['started ns/web: pending a.example.com cached none', 'apply', 'read', 'settled ns/web: pending no cached none']);

    // Answered with a refusal: nothing to read back.
    const refused = writerWith(() => Object.assign(new Error('denied'), { code: 422, body: '{"message":"denied"}' }), () => stored('42'));
    await expect(refused.writer.write(undefined, translated(resolved))).rejects.toThrow('denied');
    expect(refused.seen).toEqual(['started ns/web: pending a.example.com cached none', 'apply', 'settled ns/web: pending no cached none']);
  });

  it('writes without announcing what it cannot foresee (annotations another field manager added) and what is up to date', async () => {
    const { writer, gatewayRoutes, seen } = writerWith((rv) => stored(rv, { team: 'payments' }));
    gatewayRoutes.observe(stored('3', { team: 'payments' }));
    const changed = { ...translated(resolved), spec: { ...spec, routes: [{ ...spec.routes![0]!, path: '/v2' }] } };
    await writer.write(gatewayRoutes.get('ns/web'), changed);
    expect(seen).toEqual(['apply']);
    const upToDate = stored('9');
    gatewayRoutes.observe(upToDate);
    await writer.write(gatewayRoutes.get('ns/web'), translated(resolved));
    expect(seen).toEqual(['apply']);
  });
});

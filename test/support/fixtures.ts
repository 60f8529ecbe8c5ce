// Builders for the objects tests create, and readers for what the operator wrote.
import type { V1Ingress, V1Service } from '@kubernetes/client-node';
import { GATEWAY_ROUTE, GROUP, VERSION, type Condition, type GatewayRoute } from '../../src/api/v1alpha1/types.js';
import { clients, eventually } from './kube.js';

export interface PathSpec {
  path?: string;
  pathType?: string;
  service: string;
  port: number | string;
}

export function ingressObject(
  namespace: string,
  name: string,
  rules: Array<{ host?: string; paths: PathSpec[] }>,
  extra: { annotations?: Record<string, string>; labels?: Record<string, string>; ingressClassName?: string; tlsHosts?: string[] } = {},
): V1Ingress {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace, annotations: extra.annotations, labels: extra.labels },
    spec: {
      ingressClassName: extra.ingressClassName,
      tls: extra.tlsHosts ? [{ hosts: extra.tlsHosts, secretName: `${name}-tls` }] : undefined,
      rules: rules.map((rule) => ({
        host: rule.host,
        http: {
          paths: rule.paths.map((p) => ({
            path: p.path ?? '/',
            pathType: p.pathType ?? 'Prefix',
            backend: { service: { name: p.service, port: typeof p.port === 'number' ? { number: p.port } : { name: p.port } } },
          })),
        },
      })),
    },
  };
}

/** A Service; a port's `appProtocol` (e.g. kubernetes.io/h2c) tells the tunnel how its backend is spoken to. */
export function serviceObject(namespace: string, name: string, ports: Array<{ name?: string; port: number; appProtocol?: string }>): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { ports: ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.port as unknown as never, ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) })) },
  };
}

export async function createIngress(ingress: V1Ingress): Promise<V1Ingress> {
  return clients().networking.createNamespacedIngress({ namespace: ingress.metadata!.namespace!, body: ingress });
}

export async function createService(service: V1Service): Promise<V1Service> {
  return clients().core.createNamespacedService({ namespace: service.metadata!.namespace!, body: service });
}

/** A GatewayRoute, or undefined when there is none (`custom`: a client of another test cluster). */
export async function getGatewayRoute(namespace: string, name: string, custom = clients().custom): Promise<GatewayRoute | undefined> {
  try {
    return (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: GATEWAY_ROUTE.plural, name })) as GatewayRoute;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

export async function listGatewayRoutes(namespace: string): Promise<GatewayRoute[]> {
  const list = (await clients().custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: GATEWAY_ROUTE.plural })) as {
    items: GatewayRoute[];
  };
  return list.items;
}

export function condition(route: GatewayRoute | undefined, type: string): Condition | undefined {
  return route?.status?.conditions?.find((c) => c.type === type);
}

/** Waits until GatewayRoute `namespace/name` has condition `type` with this status and reason, and returns it. */
export async function gatewayRouteCondition(namespace: string, name: string, expected: { type: string; status: string; reason: string }): Promise<Condition> {
  const { type, status, reason } = expected;
  return eventually(`GatewayRoute ${namespace}/${name} ${type} ${status} ${reason}`, async () => {
    const found = condition(await getGatewayRoute(namespace, name), type);
    return found?.status === status && found.reason === reason ? found : undefined;
  });
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function inBatches<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

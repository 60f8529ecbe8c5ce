// Gateway API objects in tests (GatewayClass, Gateway, HTTPRoute, GRPCRoute, ReferenceGrant, BackendTLSPolicy): create, read and
// delete them through the custom objects API, and wait for this operator's entry of a route's status.parents.
import type { Condition } from '../../src/api/v1alpha1/types.js';
import type { GatewayApiRoute } from '../../src/gatewayapi/types.js';
import { clients, eventually } from './kube.js';

export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';

const plural = { GatewayClass: 'gatewayclasses', Gateway: 'gateways', HTTPRoute: 'httproutes', GRPCRoute: 'grpcroutes', ReferenceGrant: 'referencegrants', BackendTLSPolicy: 'backendtlspolicies' } as const;
export type GatewayApiKind = keyof typeof plural;
export type RouteKind = Extract<GatewayApiKind, 'HTTPRoute' | 'GRPCRoute'>;
const versionOf = (kind: GatewayApiKind) => (kind === 'ReferenceGrant' ? 'v1beta1' : 'v1');
const target = (kind: GatewayApiKind) => ({ group: GATEWAY_API_GROUP, version: versionOf(kind), plural: plural[kind] });

type Custom = ReturnType<typeof clients>['custom'];

/** Creates the object (`custom`: the client of another test cluster than the shared one). */
export async function createGatewayApiObject(kind: GatewayApiKind, body: { metadata: { name?: string; namespace?: string } } & Record<string, unknown>, custom: Custom = clients().custom): Promise<void> {
  const object = { apiVersion: `${GATEWAY_API_GROUP}/${versionOf(kind)}`, kind, ...body };
  if (body.metadata.namespace) await custom.createNamespacedCustomObject({ ...target(kind), namespace: body.metadata.namespace, body: object });
  else await custom.createClusterCustomObject({ ...target(kind), body: object });
}

/** The object, or undefined when it does not exist ('' namespace: cluster-scoped). */
export async function readGatewayApiObject<T>(kind: GatewayApiKind, namespace: string, name: string, custom: Custom = clients().custom): Promise<T | undefined> {
  try {
    return (await (namespace ? custom.getNamespacedCustomObject({ ...target(kind), namespace, name }) : custom.getClusterCustomObject({ ...target(kind), name }))) as T;
  } catch {
    return undefined;
  }
}

export async function deleteGatewayApiObject(kind: GatewayApiKind, namespace: string, name: string): Promise<void> {
  const { custom } = clients();
  if (namespace) await custom.deleteNamespacedCustomObject({ ...target(kind), namespace, name });
  else await custom.deleteClusterCustomObject({ ...target(kind), name });
}

/** Which route, and whose entry of its status.parents (the operator's --gateway-controller-name). */
export interface RouteParent {
  kind: RouteKind;
  namespace: string;
  name: string;
  controllerName: string;
}

/** The controller's entry of the route's status.parents for Gateway `gateway`, once it is there. */
export async function routeParentConditions({ kind, namespace, name, controllerName }: RouteParent, gateway = 'tunnel'): Promise<Condition[] | undefined> {
  const route = await readGatewayApiObject<GatewayApiRoute>(kind, namespace, name);
  return route?.status?.parents?.find((p) => p.controllerName === controllerName && p.parentRef.name === gateway)?.conditions;
}

/** Waits until the route's parent condition `type` has `status`/`reason` for the route's current generation. */
export async function routeParentCondition({ kind, namespace, name, controllerName }: RouteParent, expected: { type: string; status: string; reason: string }): Promise<Condition> {
  const { type, status, reason } = expected;
  return eventually(`${kind} ${namespace}/${name} ${type}=${status} ${reason}`, async () => {
    const route = await readGatewayApiObject<GatewayApiRoute>(kind, namespace, name);
    const found = route?.status?.parents?.find((p) => p.controllerName === controllerName)?.conditions.find((c) => c.type === type);
    return found?.status === status && found.reason === reason && found.observedGeneration === route?.metadata.generation ? found : undefined;
  });
}

/** A GatewayClass of `controllerName` and its Gateway `tunnel` in `namespace`, with these listeners. */
export async function createTunnelGateway(options: { className: string; controllerName: string; namespace: string; listeners: Array<Record<string, unknown>> }): Promise<void> {
  const { className, controllerName, namespace, listeners } = options;
  await createGatewayApiObject('GatewayClass', { metadata: { name: className }, spec: { controllerName } });
  await createGatewayApiObject('Gateway', { metadata: { name: 'tunnel', namespace }, spec: { gatewayClassName: className, listeners } });
}

/** BackendTLSPolicy `name` for every port of Service `service`: the CA of ConfigMap `caConfigMap` (key ca.crt), and `hostname`. */
export async function createBackendTlsPolicy(namespace: string, name: string, validation: { service: string; caConfigMap: string; hostname: string }): Promise<void> {
  const { service, caConfigMap, hostname } = validation;
  await createGatewayApiObject('BackendTLSPolicy', {
    metadata: { name, namespace },
    spec: { targetRefs: [{ group: '', kind: 'Service', name: service }], validation: { caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: caConfigMap }], hostname } },
  });
}

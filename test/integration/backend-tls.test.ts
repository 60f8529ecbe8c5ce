// Backend protocols on the real apiserver with the real operator: BackendTLSPolicies (the Gateway API CRD of
// the pinned module) with CA ConfigMaps made with openssl (test/support/certs.ts), their status, conflicts, and what GatewayRoutes
// say about how each backend is dialled; the ingress-nginx backend-protocol annotation and our TLS opt-out.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Condition } from '../../src/api/v1alpha1/types.js';
import type { BackendTLSPolicy } from '../../src/gatewayapi/backendtls/policy.js';
import { DEFAULT_GATEWAY_CONTROLLER_NAME } from '../../src/gatewayapi/types.js';
import { condition, createIngress, createService, gatewayRouteCondition, getGatewayRoute, ingressObject, serviceObject } from '../support/fixtures.js';
import { createBackendTlsPolicy } from '../support/gateway-api.js';
import { makeCa } from '../support/certs.js';
import { clients, eventually, TestNamespaces } from '../support/kube.js';
import { operatorArgs, OperatorPool, type OperatorProcess } from '../support/operator.js';

const { core, custom } = clients();
const operators = new OperatorPool();
const namespaces = new TestNamespaces();
const POLICIES = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'backendtlspolicies' };
let ns: string;
let operator: OperatorProcess;
let caPem: string;

const createPolicy = (name: string, service: string, caConfigMap: string) => createBackendTlsPolicy(ns, name, { service, caConfigMap, hostname: `${service}.internal` });

const createCaConfigMap = (name: string, data: Record<string, string>) => core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name, namespace: ns }, data } });

/** Our entry of the policy's status.ancestors for GatewayRoute `ancestor`, once its conditions have `expected` [type, status, reason]s for the current generation. */
async function policyConditions(name: string, ancestor: string, expected: Array<[string, string, string]>): Promise<Condition[]> {
  return eventually(`BackendTLSPolicy ${name}: ${expected.map((e) => e.join(' ')).join(', ')}`, async () => {
    const policy = (await custom.getNamespacedCustomObject({ ...POLICIES, namespace: ns, name })) as BackendTLSPolicy;
    const entry = policy.status?.ancestors?.find((a) => a.controllerName === DEFAULT_GATEWAY_CONTROLLER_NAME && a.ancestorRef.kind === 'GatewayRoute' && a.ancestorRef.name === ancestor);
    const matches = expected.every(([type, status, reason]) =>
      entry?.conditions.some((c) => c.type === type && c.status === status && c.reason === reason && c.observedGeneration === policy.metadata.generation),
    );
    return matches ? entry?.conditions : undefined;
  });
}

/** The GatewayRoute once its ResolvedRefs has this status and reason. */
const resolvedRefs = (name: string, status: string, reason: string) => gatewayRouteCondition(ns, name, { type: 'ResolvedRefs', status, reason });

/** An Ingress `name` for host <name>.example.com to Service `service` port `port`. */
const ingressTo = (name: string, service: string, port: number | string, annotations?: Record<string, string>) =>
  createIngress(ingressObject(ns, name, [{ host: `${name}.example.com`, paths: [{ service, port }] }], { annotations }));

beforeAll(async () => {
  const ca = makeCa('backend-tls test CA');
  caPem = ca.cert;
  ca.remove(); // only its certificate is used
  ns = await namespaces.create('backend-tls');
  operator = operators.start(operatorArgs(ns));
  await operator.ready();
});

afterAll(async () => {
  await operators.stopAll();
  await namespaces.deleteAll();
});

describe('BackendTLSPolicy', () => {
  it('with a CA ConfigMap: Accepted and ResolvedRefs on the policy, and the GatewayRoute says the policy makes it HTTPS', async () => {
    await createService(serviceObject(ns, 'web', [{ name: 'https', port: 8443 }]));
    await createCaConfigMap('web-ca', { 'ca.crt': caPem });
    await createPolicy('web-tls', 'web', 'web-ca');
    await ingressTo('web', 'web', 8443, { 'nginx.ingress.kubernetes.io/backend-protocol': 'HTTP' });
    const conditions = await policyConditions('web-tls', 'web', [['Accepted', 'True', 'Accepted'], ['ResolvedRefs', 'True', 'ResolvedRefs']]);
    expect(conditions.map((c) => c.type).sort()).toEqual(['Accepted', 'ResolvedRefs']);
    const refs = await eventually('ResolvedRefs naming the policy', async () => {
      const found = condition(await getGatewayRoute(ns, 'web'), 'ResolvedRefs');
      return found?.message.includes('BackendTLSPolicy') ? found : undefined;
    });
    expect(refs).toMatchObject({ status: 'True', reason: 'ResolvedRefs' });
    expect(refs.message).toBe(`all backend Services and ports exist; dialled as: web:8443 HTTPS (BackendTLSPolicy ${ns}/web-tls (wins over the route's HTTP))`);
  });

  it('a missing CA ConfigMap: InvalidCACertificateRef on the policy, ResolvedRefs False on the GatewayRoute; both recover when it appears', async () => {
    await createService(serviceObject(ns, 'api', [{ name: 'https', port: 8443 }]));
    await createPolicy('api-tls', 'api', 'api-ca');
    await ingressTo('api', 'api', 8443);
    await policyConditions('api-tls', 'api', [['Accepted', 'False', 'NoValidCACertificate'], ['ResolvedRefs', 'False', 'InvalidCACertificateRef']]);
    const refused = await resolvedRefs('api', 'False', 'InvalidBackendTLSPolicy');
    expect(refused.message).toBe(`api:8443: BackendTLSPolicy ${ns}/api-tls cannot be used: validation.caCertificateRefs[0]: ConfigMap ${ns}/api-ca not found; the tunnel refuses this backend`);
    // Still sent: the route stays in the spec; Ready says why it is not.
    expect(condition(await getGatewayRoute(ns, 'api'), 'Ready')).toMatchObject({ status: 'False' });

    await createCaConfigMap('api-ca', { 'ca.crt': caPem });
    await policyConditions('api-tls', 'api', [['Accepted', 'True', 'Accepted'], ['ResolvedRefs', 'True', 'ResolvedRefs']]);
    expect((await resolvedRefs('api', 'True', 'ResolvedRefs')).message).toContain(`api:8443 HTTPS (BackendTLSPolicy ${ns}/api-tls)`);
  });

  it('a ca.crt that is not a certificate makes the policy unusable', async () => {
    await createService(serviceObject(ns, 'junk', [{ port: 443 }]));
    await createCaConfigMap('junk-ca', { 'ca.crt': 'this is not a certificate' });
    await createPolicy('junk-tls', 'junk', 'junk-ca');
    await ingressTo('junk', 'junk', 443);
    const conditions = await policyConditions('junk-tls', 'junk', [['ResolvedRefs', 'False', 'InvalidCACertificateRef']]);
    expect(conditions.find((c) => c.type === 'ResolvedRefs')?.message).toBe(`validation.caCertificateRefs[0]: ConfigMap ${ns}/junk-ca: ca.crt holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    await resolvedRefs('junk', 'False', 'InvalidBackendTLSPolicy');
  });

  it('two policies for one Service: the newer (or, as old, the second by name) is Conflicted', async () => {
    await createService(serviceObject(ns, 'dup', [{ port: 443 }]));
    await createCaConfigMap('dup-ca', { 'ca.crt': caPem });
    await createPolicy('a-older', 'dup', 'dup-ca');
    await createPolicy('b-newer', 'dup', 'dup-ca');
    await ingressTo('dup', 'dup', 443);
    const lost = await policyConditions('b-newer', 'dup', [['Accepted', 'False', 'Conflicted']]);
    expect(lost.find((c) => c.type === 'Accepted')?.message).toBe(`BackendTLSPolicy ${ns}/a-older applies to Service ${ns}/dup: it is older (or, as old, first by namespace/name)`);
    await policyConditions('a-older', 'dup', [['Accepted', 'True', 'Accepted']]);
    expect((await resolvedRefs('dup', 'True', 'ResolvedRefs')).message).toContain(`dup:443 HTTPS (BackendTLSPolicy ${ns}/a-older)`);
  });
});

describe('Ingress annotations', () => {
  it('backend-protocol GRPC: every route H2C, and ResolvedRefs says so', async () => {
    await createService(serviceObject(ns, 'grpc', [{ name: 'grpc', port: 50051 }]));
    await ingressTo('grpc', 'grpc', 'grpc', { 'nginx.ingress.kubernetes.io/backend-protocol': 'GRPC' });
    const route = await eventually('GatewayRoute grpc', async () => {
      const r = await getGatewayRoute(ns, 'grpc');
      return condition(r, 'ResolvedRefs')?.status === 'True' ? r : undefined;
    });
    expect(route.spec.routes?.map((r) => r.backend)).toEqual([{ service: 'grpc', port: { name: 'grpc' }, protocol: 'H2C' }]);
    expect(condition(route, 'ResolvedRefs')?.message).toBe('all backend Services and ports exist; dialled as: grpc:50051 H2C (route protocol H2C)');
  });

  it('backend-protocol FCGI: not applied, said in Accepted and in a Warning Event on the Ingress', async () => {
    await createService(serviceObject(ns, 'php', [{ port: 9000 }]));
    await ingressTo('php', 'php', 9000, { 'nginx.ingress.kubernetes.io/backend-protocol': 'FCGI' });
    const accepted = await eventually('Accepted PartiallyAccepted', async () => {
      const found = condition(await getGatewayRoute(ns, 'php'), 'Accepted');
      return found?.reason === 'PartiallyAccepted' ? found : undefined;
    });
    const said = 'annotation nginx.ingress.kubernetes.io/backend-protocol: "FCGI" is not supported (HTTP, HTTPS, GRPC, GRPCS and H2C are); backends are dialled as without it';
    expect(accepted.message).toBe(`1 route(s) accepted; ignored ${said}`);
    expect((await getGatewayRoute(ns, 'php'))?.spec.routes?.[0]?.backend).toEqual({ service: 'php', port: { number: 9000 } });
    const event = await eventually('IgnoredAnnotation Event on the Ingress', async () => {
      const events = await core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.kind=Ingress,involvedObject.name=php' });
      return events.items.find((e) => e.reason === 'IgnoredAnnotation');
    });
    expect([event.type, event.message]).toEqual(['Warning', said]);
  });

  it('the TLS opt-out: insecureSkipVerify on each route, and ResolvedRefs says the certificate is not verified', async () => {
    await createService(serviceObject(ns, 'legacy', [{ port: 8443 }]));
    await ingressTo('legacy', 'legacy', 8443, { 'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS', 'gateway.pipeops.io/backend-tls-insecure-skip-verify': 'true' });
    const route = await eventually('GatewayRoute legacy', async () => {
      const r = await getGatewayRoute(ns, 'legacy');
      return condition(r, 'ResolvedRefs')?.status === 'True' ? r : undefined;
    });
    expect(route.spec.routes?.map((r) => r.backend)).toEqual([{ service: 'legacy', port: { number: 8443 }, protocol: 'HTTPS', tls: { insecureSkipVerify: true } }]);
    expect(condition(route, 'ResolvedRefs')?.message).toBe(
      'all backend Services and ports exist; 1 backend(s) NOT verified: legacy:8443; dialled as: legacy:8443 HTTPS (route protocol HTTPS; certificate NOT verified (insecureSkipVerify))',
    );
  });

  it('backend-protocol GRPC to a port with appProtocol grpcs: H2, the route never removes TLS', async () => {
    const service = serviceObject(ns, 'grpcs', [{ name: 'grpcs', port: 8443 }]);
    service.spec!.ports![0]!.appProtocol = 'grpcs';
    await createService(service);
    await ingressTo('grpcs', 'grpcs', 'grpcs', { 'nginx.ingress.kubernetes.io/backend-protocol': 'GRPC' });
    const refs = await resolvedRefs('grpcs', 'True', 'ResolvedRefs');
    expect(refs.message).toBe("all backend Services and ports exist; dialled as: grpcs:8443 H2 (route protocol H2C; appProtocol grpcs (TLS wins over the route's H2C))");
  });
});


// What users install: config/default (kustomize) and the Helm chart, applied to the real apiserver, Pod
// Security "restricted" checked by the apiserver itself, and the operator run as the installed
// ServiceAccount (TokenRequest token) through the whole scenario: any 403 fails. Owns the cluster-scoped
// objects of config/default (ClusterRole gateway-operator) and of the Helm release "gwchart".
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReferenceControlPlane } from '../../src/reference-control-plane/server.js';
import { clients, eventually, kubectl, TestNamespaces } from '../support/kube.js';
import { condition, createIngress, createService, getGatewayRoute, ingressObject, serviceObject } from '../support/fixtures.js';
import { describeRoute, heldRoutes, startControlPlane, waitForRoutes } from '../support/control-plane.js';
import { operatorArgs, OperatorPool, runOperatorCommand } from '../support/operator.js';
import { apply, CHART, canI, type ChartValues, chartNotes, forbiddenLines, helm, objectsOf, renderChart, serviceAccountKubeconfig } from '../support/install.js';
import { REPO_ROOT } from '../support/test-cluster.js';
import { parseConfig } from '../../src/config.js';
import { readCrds } from '../support/crds.js';
import { packageVersion } from '../../hack/release.js';

const TOKEN = 'install-test-token';
const SYSTEM = 'gateway-system';
const SA = `${SYSTEM}:gateway-operator`;
const { core, apps, coordination } = clients();
const operators = new OperatorPool();
const namespaces = new TestNamespaces();
let cp: ReferenceControlPlane;

beforeAll(async () => {
  cp = await startControlPlane({ token: TOKEN });
});

afterAll(async () => {
  await operators.stopAll();
  await cp?.close();
  await namespaces.deleteAll();
});

async function namespace(prefix: string, labels: Record<string, string> = {}): Promise<string> {
  const ns = await namespaces.create(prefix);
  if (Object.keys(labels).length) kubectl(['label', 'namespace', ns, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)]);
  return ns;
}

/** The apiserver's own Pod Security admission judges the pod template, in a namespace enforcing "restricted". */
function createPodFromTemplate(deployment: { spec: { template: { spec: unknown } } }, ns: string) {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'psa-check', namespace: ns }, spec: deployment.spec.template.spec };
  return kubectl(['create', '--dry-run=server', '-f', '-'], JSON.stringify(pod));
}

describe('kustomize: config/default', () => {
  let dryRun = '';
  beforeAll(() => {
    const dir = join(REPO_ROOT, 'config/default');
    // A server-side dry run needs the namespace its objects go to; then the real apply.
    apply({ yaml: 'apiVersion: v1\nkind: Namespace\nmetadata: {name: gateway-system}\n' });
    dryRun = apply({ kustomization: dir }, ['--dry-run=server']);
    apply({ kustomization: dir });
  });

  it('is accepted by the apiserver, first as a server-side dry run, then for real', () => {
    expect(dryRun).toContain('deployment.apps/gateway-operator serverside-applied (server dry run)');
    const deployment = kubectl(['get', 'deployment', '-n', SYSTEM, 'gateway-operator', '-o', 'json']);
    expect(deployment.status).toBe(0);
    const container = JSON.parse(deployment.stdout).spec.template.spec.containers[0];
    expect(container.image).toBe(`ghcr.io/pipeops/gateway-operator:${packageVersion(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'))}`);
    // Our IngressClass, with the controller name the operator serves by default.
    const ingressClass = JSON.parse(kubectl(['get', 'ingressclass', 'pipeops-tunnel', '-o', 'json']).stdout);
    expect(ingressClass.spec).toEqual({ controller: 'gateway.pipeops.io/tunnel' });
    expect(ingressClass.metadata.annotations?.['ingressclass.kubernetes.io/is-default-class']).toBeUndefined();
  });

  it('passes Pod Security "restricted", and a pod that escalates is refused in the same namespace', async () => {
    const ns = await namespace('psa', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    const deployment = JSON.parse(kubectl(['get', 'deployment', '-n', SYSTEM, 'gateway-operator', '-o', 'json']).stdout);
    const accepted = createPodFromTemplate(deployment, ns);
    expect(accepted.stderr).toBe('');
    expect(accepted.status).toBe(0);
    // The check has teeth: the same template without the seccomp profile is refused.
    delete deployment.spec.template.spec.securityContext.seccompProfile;
    const refused = createPodFromTemplate(deployment, ns);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain('seccompProfile');
  });

  const allowed: Array<[verb: string, resource: string, namespace?: string]> = [
    ['list', 'ingresses.networking.k8s.io'],
    ['watch', 'ingresses.networking.k8s.io'],
    ['watch', 'ingressclasses.networking.k8s.io'],
    ['list', 'services'],
    ['watch', 'services'],
    ['create', 'gatewayroutes.gateway.pipeops.io'],
    ['patch', 'gatewayroutes.gateway.pipeops.io'],
    ['delete', 'gatewayroutes.gateway.pipeops.io'],
    ['patch', 'gatewayroutes.gateway.pipeops.io/status'],
    ['patch', 'ingresses.networking.k8s.io/status'],
    ['update', 'ingresses.networking.k8s.io/status'],
    ['patch', 'clusterconnectivities.gateway.pipeops.io'],
    ['patch', 'clusterconnectivities.gateway.pipeops.io/status'],
    ['watch', 'httproutes.gateway.networking.k8s.io'],
    ['patch', 'httproutes.gateway.networking.k8s.io/status'],
    ['get', 'grpcroutes.gateway.networking.k8s.io'],
    ['list', 'grpcroutes.gateway.networking.k8s.io'],
    ['watch', 'grpcroutes.gateway.networking.k8s.io'],
    ['update', 'grpcroutes.gateway.networking.k8s.io/status'],
    ['patch', 'grpcroutes.gateway.networking.k8s.io/status'],
    ['create', 'events'],
    ['create', 'events.events.k8s.io'],
    ['get', 'leases.coordination.k8s.io', SYSTEM],
    ['create', 'leases.coordination.k8s.io', SYSTEM],
    ['update', 'leases.coordination.k8s.io', SYSTEM],
    ['get', 'configmaps', SYSTEM],
    ['create', 'configmaps', SYSTEM],
    ['update', 'configmaps', SYSTEM],
    // The CA ConfigMaps of BackendTLSPolicies, in any namespace: read, never written.
    ['get', 'configmaps', 'default'],
    ['list', 'configmaps'],
    ['watch', 'configmaps'],
    ['list', 'backendtlspolicies.gateway.networking.k8s.io'],
    ['patch', 'backendtlspolicies.gateway.networking.k8s.io/status'],
  ];
  it.each(allowed.map(([verb, resource, ns]) => [verb, resource, ns ?? 'in every namespace'] as const))('the ServiceAccount may %s %s %s', (verb, resource, ns) => {
    expect(canI(SA, verb, resource, ns === 'in every namespace' ? undefined : ns)).toBe(true);
  });

  const denied: Array<[verb: string, resource: string, namespace?: string]> = [
    ['get', 'secrets'],
    ['list', 'secrets'],
    ['get', 'secrets', SYSTEM],
    ['create', 'pods/exec'],
    ['create', 'pods/exec', SYSTEM],
    ['create', 'configmaps', 'default'],
    ['update', 'configmaps', 'default'],
    ['patch', 'backendtlspolicies.gateway.networking.k8s.io'],
    ['delete', 'ingresses.networking.k8s.io'],
    ['update', 'ingresses.networking.k8s.io'],
    ['patch', 'ingresses.networking.k8s.io'],
    ['create', 'leases.coordination.k8s.io', 'default'],
    ['delete', 'namespaces'],
    ['update', 'grpcroutes.gateway.networking.k8s.io'],
    ['delete', 'grpcroutes.gateway.networking.k8s.io'],
  ];
  it.each(denied.map(([verb, resource, ns]) => [verb, resource, ns ?? 'in any namespace'] as const))('the ServiceAccount may not %s %s %s', (verb, resource, ns) => {
    expect(canI(SA, verb, resource, ns === 'in any namespace' ? undefined : ns)).toBe(false);
  });

  it('runs the operator as its ServiceAccount through the whole scenario without a single 403, then deregisters on uninstall', async () => {
    const ns = await namespace('as-sa');
    const cluster = ns;
    const { path: kubeconfig } = await serviceAccountKubeconfig(SYSTEM, 'gateway-operator');
    await createService(serviceObject(ns, 'web', [{ name: 'http', port: 8080 }]));
    await createIngress(ingressObject(ns, 'shop', [{ host: 'shop.example.com', paths: [{ service: 'web', port: 'http' }] }]));
    // Of the installed IngressClass: its status gets the address the control plane tells.
    await createIngress(ingressObject(ns, 'tunnelled', [{ host: 'tunnelled.example.com', paths: [{ service: 'web', port: 'http' }] }], { ingressClassName: 'pipeops-tunnel' }));
    cp.gatewayAddress = { hostname: 'gateway.example.net' };
    const op = operators.start(
      operatorArgs(ns, { home: SYSTEM, cp, clusterName: cluster }, ['--leader-elect=true']),
      { KUBECONFIG: kubeconfig },
    );
    const leader = await op.waitForLog('became leader', (l) => l.msg === 'became leader');
    await waitForRoutes(cp, cluster, ['shop', 'tunnelled'].map((name) => describeRoute({ host: `${name}.example.com`, path: '/', service: 'web', port: 8080 })));
    await eventually('GatewayRoute Synced=True', async () => condition(await getGatewayRoute(ns, 'shop'), 'Synced')?.status === 'True');
    await op.waitForLog('ClusterConnectivity status written', (l) => l.msg === 'ClusterConnectivity status written' && typeof l.clusterId === 'string');
    await eventually('the Ingress of our class shows the address', async () => {
      const ingress = await clients().networking.readNamespacedIngress({ namespace: ns, name: 'tunnelled' });
      return ingress.status?.loadBalancer?.ingress?.[0]?.hostname === 'gateway.example.net';
    });
    const lease = await coordination.readNamespacedLease({ name: 'gateway-operator', namespace: SYSTEM });
    expect(lease.spec?.holderIdentity).toBe(leader.identity);
    const state = await core.readNamespacedConfigMap({ name: 'gateway-operator-state', namespace: SYSTEM });
    expect(state.data?.cluster_id).toEqual(expect.any(String));
    // An Ingress whose Service is missing is news: a Warning Event on it.
    await createIngress(ingressObject(ns, 'broken', [{ host: 'broken.example.com', paths: [{ service: 'missing', port: 'http' }] }]));
    await eventually('a Warning Event about the broken Ingress', async () => {
      const events = await core.listNamespacedEvent({ namespace: ns });
      return events.items.some((e) => e.involvedObject.name === 'broken' && e.type === 'Warning' && e.reportingComponent === 'gateway-operator');
    });
    expect((await op.get('/readyz')).status).toBe(200);
    expect(await op.stop()).toBe(0);
    expect(forbiddenLines(op.logs)).toEqual([]);
    expect(op.logs.filter((l) => l.level === 'error')).toEqual([]);

    // Uninstall, kustomize flavour: config/deregister's ServiceAccount scales the Deployment to zero, finds the
    // Lease released (SIGTERM did that), and leaves the control plane with no route of this cluster.
    expect((await apps.readNamespacedDeployment({ name: 'gateway-operator', namespace: SYSTEM })).spec?.replicas).toBe(2);
    apply({ kustomization: join(REPO_ROOT, 'config/deregister') });
    const { path: deregisterKubeconfig } = await serviceAccountKubeconfig(SYSTEM, 'gateway-operator-deregister');
    // Asynchronously: the control plane answering it lives in this process.
    const run = await runOperatorCommand(
      ['deregister', '--namespace', SYSTEM, '--stop-deployment', 'gateway-operator', '--control-plane-url', cp.url, '--token', cp.agentToken(cluster), '--cluster-name', cluster, '--deregister-timeout-ms', '20000'],
      { KUBECONFIG: deregisterKubeconfig },
    );
    expect(run.output).toContain('the control plane removed every route of this cluster');
    expect(run.status).toBe(0);
    expect(heldRoutes(cp, cluster)).toEqual([]);
    expect((await apps.readNamespacedDeployment({ name: 'gateway-operator', namespace: SYSTEM })).spec?.replicas).toBe(0);
  }, 90_000);
});

describe('Helm chart', () => {
  const RELEASE = 'gwchart';

  it('lints, and refuses to render without a cluster name, saying which value', () => {
    const lint = helm(['lint', CHART, '--strict', '--set', 'clusterName=lint', '--set', 'controlPlane.url=https://cp.example.com', '--set', 'controlPlane.tokenSecret.name=t']);
    expect(lint.stdout).toContain('0 chart(s) failed');
    expect(lint.status).toBe(0);
    const missing = helm(['template', RELEASE, CHART]);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain('clusterName is required');
  });

  it('takes a proxy URL with credentials only from a Secret, never as a plain value in the Deployment', () => {
    const plain = helm(['template', RELEASE, CHART, '--set', 'clusterName=p', '--set', 'controlPlane.proxyUrl=http://alice:s3cret@proxy:3128']);
    expect(plain.status).not.toBe(0);
    expect(plain.stderr).toContain('controlPlane.proxyUrl holds credentials');
    const yaml = renderChart(RELEASE, 'default', { clusterName: 'p', 'controlPlane.proxySecret.name': 'proxy', 'controlPlane.proxyUrl': 'http://ignored:3128' });
    const deployment = objectsOf(yaml).find((o) => o.kind === 'Deployment')!;
    const proxy = (deployment.spec.template.spec.containers[0].env as Array<{ name: string; value?: string; valueFrom?: unknown }>).find((e) => e.name === 'GATEWAY_PROXY_URL');
    expect(proxy).toEqual({ name: 'GATEWAY_PROXY_URL', valueFrom: { secretKeyRef: { name: 'proxy', key: 'proxy-url' } } });
  });

  it('renders every optional part (ServiceMonitor aside, its CRD is not installed) and the apiserver accepts it', async () => {
    const ns = await namespace('helm-all');
    const yaml = renderChart(RELEASE, ns, {
      clusterName: 'full',
      'controlPlane.url': 'https://cp.example.com',
      'controlPlane.tokenSecret.name': 'gateway-token',
      'controlPlane.caBundle.configMapName': 'gateway-ca',
      'controlPlane.clientCertSecret': 'gateway-client',
      'controlPlane.proxyUrl': 'http://proxy.example.com:3128',
      'networkPolicy.enabled': true,
      'networkPolicy.apiServer.cidrs[0]': '10.0.0.1/32',
      'networkPolicy.proxy.cidrs[0]': '198.51.100.0/24',
      'watchNamespaces[0]': 'shop',
      'ingressClasses[0]': 'nginx',
    });
    const objects = objectsOf(yaml);
    expect(objects.map((o) => o.kind).sort()).toEqual(
      ['ClusterRole', 'ClusterRoleBinding', 'Deployment', 'IngressClass', 'Job', 'NetworkPolicy', 'PodDisruptionBudget', 'Role', 'Role', 'RoleBinding', 'RoleBinding', 'Service', 'ServiceAccount', 'ServiceAccount'].sort(),
    );
    const deployment = objects.find((o) => o.kind === 'Deployment')!;
    const env = Object.fromEntries((deployment.spec.template.spec.containers[0].env as Array<{ name: string; value?: string }>).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({
      GATEWAY_CLUSTER_NAME: 'full',
      GATEWAY_CONTROL_PLANE_URL: 'https://cp.example.com',
      GATEWAY_TOKEN_FILE: '/var/run/secrets/gateway-operator/token/token',
      GATEWAY_CA_FILE: '/var/run/secrets/gateway-operator/ca/ca.crt',
      GATEWAY_CLIENT_CERT_FILE: '/var/run/secrets/gateway-operator/client/tls.crt',
      GATEWAY_PROXY_URL: 'http://proxy.example.com:3128',
    });
    expect(deployment.spec.template.spec.containers[0].args).toEqual(expect.arrayContaining(['--watch-namespaces=shop', '--ingress-class=nginx']));
    apply({ yaml }, ['--dry-run=server']);
    apply({ yaml });
    const psa = await namespace('helm-psa', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    for (const workload of [deployment, objects.find((o) => o.kind === 'Job')!]) {
      const result = createPodFromTemplate(workload as never, psa);
      expect(result.stderr).toBe('');
    }
  });

  it('installs our IngressClass (optionally the default one, never applied here: it would change every class-less Ingress of the shared apiserver) and passes the status address', () => {
    const annotationsOf = (o: { metadata: object }) => (o.metadata as { annotations?: Record<string, string> }).annotations;
    const kustomize = objectsOf(kubectl(['kustomize', join(REPO_ROOT, 'config/ingressclass')]).stdout).find((o) => o.kind === 'IngressClass')!;
    const plain = objectsOf(renderChart(RELEASE, 'any', { clusterName: 'x' }));
    const chartClass = plain.find((o) => o.kind === 'IngressClass')!;
    expect({ name: chartClass.metadata.name, spec: chartClass.spec, annotations: annotationsOf(chartClass) }).toEqual({ name: kustomize.metadata.name, spec: kustomize.spec, annotations: undefined });
    const args = (objects: ReturnType<typeof objectsOf>) => objects.find((o) => o.kind === 'Deployment')!.spec.template.spec.containers[0].args as string[];
    expect(args(plain).filter((a) => a.startsWith('--ingress-status-address'))).toEqual([]);

    const custom = objectsOf(
      renderChart(RELEASE, 'any', { clusterName: 'x', 'ingressClass.name': 'tunnel', 'ingressClass.default': true, gatewayControllerName: 'example.com/tunnel', ingressStatusAddress: '203.0.113.10' }),
    );
    const customClass = custom.find((o) => o.kind === 'IngressClass')!;
    expect(customClass.metadata.name).toBe('tunnel');
    expect(annotationsOf(customClass)).toEqual({ 'ingressclass.kubernetes.io/is-default-class': 'true' });
    expect(customClass.spec).toEqual({ controller: 'example.com/tunnel' });
    expect(args(custom)).toEqual(expect.arrayContaining(['--gateway-controller-name=example.com/tunnel', '--ingress-status-address=203.0.113.10']));
    // A string where a boolean belongs is refused by the schema (the values test below), never read as true.
    const notDefault = objectsOf(renderChart(RELEASE, 'any', { clusterName: 'x', 'ingressClass.default': false })).find((o) => o.kind === 'IngressClass')!;
    expect(annotationsOf(notDefault)).toBeUndefined();
    expect(objectsOf(renderChart(RELEASE, 'any', { clusterName: 'x', 'ingressClass.enabled': false })).some((o) => o.kind === 'IngressClass')).toBe(false);
  });

  it('NOTES.txt says what is exposed: everything by default, else what the values narrow it to, each value reaching the operator as its flag', () => {
    // A release name of its own: a dry run still refuses to adopt objects another release (gwchart) left.
    const release = 'gwnotes';
    const defaults = chartNotes(release, 'notes', { clusterName: 'notes' });
    for (const line of [
      'Ingresses:   every Ingress of every class, as the original agent did   [ingressClasses: all]',
      'Labels:      any   [ingressSelector: none]',
      'Namespaces:  Ingresses and HTTPRoutes in every namespace   [watchNamespaces: all]',
      'HTTPRoutes:  those attached to Gateways whose GatewayClass has controllerName gateway.pipeops.io/tunnel   [gatewayControllerName]',
      'No host:     rules without a host are not routed   [allowCatchAll: false]',
      'Opt out:     annotate an Ingress gateway.pipeops.io/exclude: "true"',
      'Narrow it with the values in brackets',
    ]) {
      expect(defaults).toContain(line);
    }

    const narrowed = {
      clusterName: 'notes',
      'ingressClasses[0]': 'nginx',
      'ingressClasses[1]': 'edge',
      'watchNamespaces[0]': 'shop',
      'watchNamespaces[1]': 'web',
      ingressSelector: 'expose=true',
      gatewayControllerName: 'example.com/tunnel',
      allowCatchAll: true,
    };
    const notes = chartNotes(release, 'notes', narrowed);
    for (const line of [
      'Ingresses:   of class nginx, edge only (one without a class counts as the default IngressClass), and always those of our IngressClass   [ingressClasses]',
      'Labels:      only Ingresses labelled expose=true   [ingressSelector]',
      'Namespaces:  Ingresses and HTTPRoutes in namespace(s) shop, web   [watchNamespaces]',
      'controllerName example.com/tunnel',
      'No host:     rules without a host are catch-all routes   [allowCatchAll: true]',
      'Opt out:     annotate an Ingress gateway.pipeops.io/exclude: "true"',
    ]) {
      expect(notes).toContain(line);
    }
    expect(notes).not.toContain('Narrow it');
    const deployment = objectsOf(renderChart(release, 'notes', narrowed)).find((o) => o.kind === 'Deployment')!;
    expect(deployment.spec.template.spec.containers[0].args).toEqual(
      expect.arrayContaining([
        '--ingress-class=nginx',
        '--ingress-class=edge',
        '--watch-namespaces=shop,web',
        '--ingress-selector=expose=true',
        '--gateway-controller-name=example.com/tunnel',
        '--allow-catch-all',
      ]),
    );
  });

  it('installs the CRDs of crds/ (the source of truth) as templates, kept on uninstall; crds.keep=false lets them go, crds.enabled=false leaves them out', () => {
    const crdsOf = (values: ChartValues) => objectsOf(renderChart(RELEASE, 'any', { clusterName: 'x', ...values })).filter((o) => o.kind === 'CustomResourceDefinition');
    const rendered = crdsOf({ 'crds.enabled': true });
    expect(rendered.map((crd) => crd.metadata.name).sort()).toEqual(readCrds(join(REPO_ROOT, 'crds')).map((crd) => crd.metadata!.name).sort());
    for (const source of readCrds(join(REPO_ROOT, 'crds'))) {
      const crd = rendered.find((o) => o.metadata.name === source.metadata!.name)!;
      expect(crd.spec).toEqual(source.spec);
      expect((crd.metadata as { annotations?: object }).annotations).toEqual({ 'helm.sh/resource-policy': 'keep' });
    }
    expect(crdsOf({ 'crds.enabled': true, 'crds.keep': false }).map((crd) => (crd.metadata as { annotations?: object }).annotations)).toEqual([undefined, undefined]);
    expect(crdsOf({ 'crds.enabled': false })).toEqual([]);
    // Helm installs a chart's crds/ folder once and never upgrades it: the chart must have none.
    expect(existsSync(join(CHART, 'crds'))).toBe(false);
  });

  it('grants exactly the rules of config/rbac (one set of permissions, two install paths)', () => {
    const chart = objectsOf(renderChart(RELEASE, 'any', { clusterName: 'x' })).find((o) => o.kind === 'ClusterRole')!;
    const kustomize = objectsOf(kubectl(['kustomize', join(REPO_ROOT, 'config/rbac')]).stdout).find((o) => o.kind === 'ClusterRole')!;
    expect(chart.rules).toEqual(kustomize.rules);
  });

  describe('chart hygiene', () => {
    const deploymentOf = (objects: ReturnType<typeof objectsOf>) => objects.find((o) => o.kind === 'Deployment')!;

    // The policy used to allow only the apiserver, DNS and the control plane: with it enforced, the tunnel could
    // reach no backend. (Read from the rendering, not checked against live flows: no enforcing CNI here.)
    it('the NetworkPolicy lets the tunnel reach backends: every namespace by default, or the selector and ports given', () => {
      const egressOf = (values: ChartValues) => {
        const policy = objectsOf(renderChart(RELEASE, 'np', { clusterName: 'np', 'networkPolicy.enabled': true, 'networkPolicy.apiServer.cidrs[0]': '10.0.0.1/32', ...values })).find((o) => o.kind === 'NetworkPolicy')!;
        return policy.spec.egress as Array<{ to: Array<Record<string, unknown>>; ports?: Array<{ port: number }> }>;
      };
      const byDefault = egressOf({}).filter((rule) => rule.to.some((peer) => 'namespaceSelector' in peer) && !rule.ports?.some((p) => p.port === 53));
      expect(byDefault).toEqual([{ to: [{ namespaceSelector: {} }] }]); // any pod of any namespace, any port
      const narrowed = egressOf({ 'networkPolicy.backends.namespaceSelector.matchLabels.tunnel': 'allowed', 'networkPolicy.backends.ports[0]': 8080 });
      expect(narrowed).toContainEqual({ to: [{ namespaceSelector: { matchLabels: { tunnel: 'allowed' } } }], ports: [{ port: 8080, protocol: 'TCP' }] });
      const notes = chartNotes('np-notes', 'notes', { clusterName: 'np', 'networkPolicy.enabled': true, 'networkPolicy.apiServer.cidrs[0]': '10.0.0.1/32' });
      expect(notes).toContain("NetworkPolicy: egress to the apiserver (10.0.0.1/32:443), DNS, the control plane (no CIDRs given: not allowed) and the tunnel's backends (every namespace, any port)");
    });

    // What the policy allows is checked against a running operator's flows in networkpolicy.test.ts; here, what the
    // chart refuses to render: a rule with no peers would allow every destination, a proxy with no address none.
    it('the NetworkPolicy needs the apiserver and, with a proxy, the proxy (its port from proxyUrl, or given with proxySecret); NOTES say which', () => {
      const enabled = ['--set', 'clusterName=np', '--set', 'networkPolicy.enabled=true'];
      const apiServer = ['--set', 'networkPolicy.apiServer.cidrs[0]=10.0.0.1/32'];
      const refused: Array<[set: string[], error: string]> = [
        [[], 'networkPolicy.apiServer.cidrs is required'],
        [[...apiServer, '--set', 'controlPlane.proxyUrl=http://proxy.example.com:3128'], 'networkPolicy.proxy.cidrs is required'],
        [[...apiServer, '--set', 'controlPlane.proxySecret.name=proxy', '--set', 'networkPolicy.proxy.cidrs[0]=198.51.100.0/24'], 'networkPolicy.proxy.port is required'],
      ];
      for (const [set, error] of refused) {
        const result = helm(['template', RELEASE, CHART, ...enabled, ...set]);
        expect({ set, status: result.status, refused: result.stderr.includes(error) }).toEqual({ set, status: 1, refused: true });
      }
      const proxyRule = (values: ChartValues) =>
        (objectsOf(renderChart(RELEASE, 'np', { clusterName: 'np', 'networkPolicy.enabled': true, 'networkPolicy.apiServer.cidrs[0]': '10.0.0.1/32', 'networkPolicy.proxy.cidrs[0]': '198.51.100.0/24', ...values }))
          .find((o) => o.kind === 'NetworkPolicy')!.spec.egress as Array<{ to: Array<{ ipBlock?: { cidr: string } }>; ports?: Array<{ port: number }> }>)
          .filter((rule) => rule.to.some((peer) => peer.ipBlock?.cidr === '198.51.100.0/24'))
          .map((rule) => rule.ports?.map((p) => p.port));
      expect(proxyRule({ 'controlPlane.proxyUrl': 'http://proxy.example.com:3128' })).toEqual([[3128]]);
      expect(proxyRule({ 'controlPlane.proxyUrl': 'http://proxy.example.com' })).toEqual([[80]]);
      expect(proxyRule({ 'controlPlane.proxyUrl': 'https://proxy.example.com' })).toEqual([[443]]);
      expect(proxyRule({ 'controlPlane.proxySecret.name': 'proxy', 'networkPolicy.proxy.port': 8443 })).toEqual([[8443]]);
      expect(proxyRule({})).toEqual([]); // no proxy, no rule
      const notes = chartNotes('np-notes', 'notes', { clusterName: 'np', 'networkPolicy.enabled': true, 'networkPolicy.apiServer.cidrs[0]': '10.0.0.1/32', 'controlPlane.proxyUrl': 'http://proxy.example.com:3128', 'networkPolicy.proxy.cidrs[0]': '198.51.100.0/24' });
      expect(notes).toContain('DNS, the control plane through its proxy only, the proxy (198.51.100.0/24:3128) and');
    });

    const argsOf = (objects: ReturnType<typeof objectsOf>) => deploymentOf(objects).spec.template.spec.containers[0].args as string[];

    it('values.schema.json: the defaults pass; a wrong type or an unknown key is refused by helm lint and helm template, naming the value', () => {
      const defaults = helm(['lint', CHART, '--strict', '--set', 'clusterName=lint']);
      expect(defaults.stdout).toContain('0 chart(s) failed');
      expect(defaults.status).toBe(0);
      const refused: Array<[set: string[], error: string]> = [
        [['--set', 'replicaCount=two'], "at '/replicaCount': got string, want integer"],
        [['--set', 'leaderElection.enabled=maybe'], "at '/leaderElection/enabled': got string, want boolean"],
        [['--set', 'replicaCnt=3'], "additional properties 'replicaCnt' not allowed"],
        [['--set', 'leaderElection.leaseDuration=15'], "at '/leaderElection': additional properties 'leaseDuration' not allowed"],
        // A string where a boolean belongs is refused, never read as true.
        [['--set-string', 'ingressClass.default=false'], "at '/ingressClass/default': got string, want boolean"],
        [['--set', 'logLevel=verbose'], "at '/logLevel'"],
        [['--set', 'healthPort=70000'], "at '/healthPort'"],
      ];
      for (const [set, error] of refused) {
        for (const command of [['lint', CHART, '--strict'], ['template', RELEASE, CHART]]) {
          const result = helm([...command, '--set', 'clusterName=schema', ...set]);
          expect({ set, command: command[0], status: result.status, refused: `${result.stdout}${result.stderr}`.includes(error) }).toEqual({ set, command: command[0], status: 1, refused: true });
        }
      }
    });

    it('renders topologySpreadConstraints, extraVolumes and extraVolumeMounts as given, and none by default', () => {
      const plain = deploymentOf(objectsOf(renderChart(RELEASE, 'any', { clusterName: 'x' }))).spec.template.spec;
      expect(plain.topologySpreadConstraints).toBeUndefined();
      expect(plain.volumes).toBeNull();
      expect(plain.containers[0].volumeMounts).toBeNull();
      const spec = deploymentOf(
        objectsOf(
          renderChart(RELEASE, 'any', {
            clusterName: 'x',
            'controlPlane.tokenSecret.name': 'gateway-token',
            'topologySpreadConstraints[0].maxSkew': 1,
            'topologySpreadConstraints[0].topologyKey': 'topology.kubernetes.io/zone',
            'topologySpreadConstraints[0].whenUnsatisfiable': 'ScheduleAnyway',
            'topologySpreadConstraints[0].labelSelector.matchLabels.app\\.kubernetes\\.io/component': 'operator',
            'extraVolumes[0].name': 'corp-ca',
            'extraVolumes[0].configMap.name': 'corp-ca',
            'extraVolumeMounts[0].name': 'corp-ca',
            'extraVolumeMounts[0].mountPath': '/etc/corp-ca',
            'extraVolumeMounts[0].readOnly': true,
          }),
        ),
      ).spec.template.spec;
      expect(spec.topologySpreadConstraints).toEqual([
        { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { 'app.kubernetes.io/component': 'operator' } } },
      ]);
      // After the chart's own (the token), not instead of them.
      expect(spec.volumes.map((v: { name: string }) => v.name)).toEqual(['token', 'corp-ca']);
      expect(spec.volumes[1]).toEqual({ name: 'corp-ca', configMap: { name: 'corp-ca' } });
      expect(spec.containers[0].volumeMounts).toEqual([
        { name: 'token', mountPath: '/var/run/secrets/gateway-operator/token', readOnly: true },
        { name: 'corp-ca', mountPath: '/etc/corp-ca', readOnly: true },
      ]);
    });

    it('nameOverride and fullnameOverride name everything the release installs, the Lease too', () => {
      const names = (values: Record<string, string>) => {
        const objects = objectsOf(renderChart(RELEASE, 'any', { clusterName: 'x', 'controlPlane.url': 'https://cp.example.com', ...values }));
        const deployment = deploymentOf(objects);
        const env = deployment.spec.template.spec.containers[0].env as Array<{ name: string; value?: string }>;
        return {
          objects: [...new Set(objects.filter((o) => o.kind !== 'IngressClass').map((o) => o.metadata.name))].sort(),
          label: deployment.spec.template.metadata.labels['app.kubernetes.io/name'],
          lease: env.find((e) => e.name === 'GATEWAY_LEASE_NAME')?.value,
        };
      };
      expect(names({})).toEqual({ objects: ['gwchart-gateway-operator', 'gwchart-gateway-operator-deregister', 'gwchart-gateway-operator-metrics'], label: 'gateway-operator', lease: 'gwchart-gateway-operator' });
      expect(names({ nameOverride: 'tunnel' })).toEqual({ objects: ['gwchart-tunnel', 'gwchart-tunnel-deregister', 'gwchart-tunnel-metrics'], label: 'tunnel', lease: 'gwchart-tunnel' });
      expect(names({ fullnameOverride: 'edge' })).toEqual({ objects: ['edge', 'edge-deregister', 'edge-metrics'], label: 'gateway-operator', lease: 'edge' });
      // The uninstall hook stops the Deployment of that name and reads the Lease of that name.
      const hookRole = objectsOf(renderChart(RELEASE, 'any', { clusterName: 'x', 'controlPlane.url': 'https://cp.example.com', fullnameOverride: 'edge' })).find(
        (o) => o.kind === 'Role' && o.metadata.name === 'edge-deregister',
      )!;
      expect(hookRole.rules.slice(0, 2).map((r: { resourceNames: string[] }) => r.resourceNames)).toEqual([['edge'], ['edge']]);
    });

    it('leader election timings reach the operator as flags it accepts; a renew deadline not below the lease duration is refused', () => {
      const defaults = argsOf(objectsOf(renderChart(RELEASE, 'any', { clusterName: 'x' })));
      expect(defaults).toEqual(expect.arrayContaining(['--leader-elect=true', '--leader-elect-lease-duration=15s', '--leader-elect-renew-deadline=10s', '--leader-elect-retry-period=2s']));
      const custom = argsOf(
        objectsOf(renderChart(RELEASE, 'any', { clusterName: 'x', 'leaderElection.leaseDurationSeconds': 30, 'leaderElection.renewDeadlineSeconds': 20, 'leaderElection.retryPeriodSeconds': 4 })),
      );
      // As the operator reads them.
      expect(parseConfig(custom, {})).toMatchObject({ leaderElect: true, leaseDurationMs: 30_000, renewDeadlineMs: 20_000, retryPeriodMs: 4_000 });
      const off = argsOf(objectsOf(renderChart(RELEASE, 'any', { clusterName: 'x', replicaCount: 1, 'leaderElection.enabled': false })));
      expect(off.filter((a) => a.startsWith('--leader-elect'))).toEqual(['--leader-elect=false']);
      const wrong = helm(['template', RELEASE, CHART, '--set', 'clusterName=x', '--set', 'leaderElection.renewDeadlineSeconds=15']);
      expect(wrong.status).not.toBe(0);
      expect(wrong.stderr).toContain('leaderElection.renewDeadlineSeconds must be less than leaderElection.leaseDurationSeconds');
      const retry = helm(['template', RELEASE, CHART, '--set', 'clusterName=x', '--set', 'leaderElection.retryPeriodSeconds=10']);
      expect(retry.stderr).toContain('leaderElection.retryPeriodSeconds must be less than leaderElection.renewDeadlineSeconds');
    });

    it("the PodDisruptionBudget (and the metrics Service) select the operator's pods, not the uninstall Job's; the Deployment's selector is unchanged", () => {
      const objects = objectsOf(renderChart(RELEASE, 'any', { clusterName: 'x', 'controlPlane.url': 'https://cp.example.com' }));
      const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
      const operatorPod = deploymentOf(objects).spec.template.metadata.labels as Record<string, string>;
      const jobPod = objects.find((o) => o.kind === 'Job')!.spec.template.metadata.labels as Record<string, string>;
      const pdb = objects.find((o) => o.kind === 'PodDisruptionBudget')!.spec.selector.matchLabels as Record<string, string>;
      const service = objects.find((o) => o.kind === 'Service')!.spec.selector as Record<string, string>;
      expect(operatorPod['app.kubernetes.io/component']).toBe('operator');
      expect(jobPod['app.kubernetes.io/component']).toBe('deregister');
      for (const selector of [pdb, service]) {
        expect(matches(selector, operatorPod)).toBe(true);
        expect(matches(selector, jobPod)).toBe(false);
      }
      // Immutable: an upgrade from a release without the component label keeps working.
      expect(deploymentOf(objects).spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'gateway-operator', 'app.kubernetes.io/instance': RELEASE });
    });
  });

  it("the uninstall hook's ServiceAccount can stop the operator and read its state, and nothing more", async () => {
    const ns = await namespace('helm-hook');
    const yaml = renderChart(RELEASE, ns, { clusterName: 'hook', 'controlPlane.url': 'https://cp.example.com' });
    apply({ yaml });
    const hook = `${ns}:${RELEASE}-gateway-operator-deregister`;
    const asHook = (args: string[]) => kubectl(['auth', 'can-i', ...args, `--as=system:serviceaccount:${hook}`, '-n', ns]).stdout.trim();
    expect(asHook(['update', `deployments.apps/${RELEASE}-gateway-operator`, '--subresource=scale'])).toBe('yes');
    expect(asHook(['update', `deployments.apps/${RELEASE}-gateway-operator`])).toBe('no'); // its scale only
    expect(asHook(['get', 'configmaps/gateway-operator-state'])).toBe('yes');
    expect(asHook(['get', `leases.coordination.k8s.io/${RELEASE}-gateway-operator`])).toBe('yes');
    expect(canI(hook, 'get', 'secrets', ns)).toBe(false);
    expect(canI(hook, 'list', 'configmaps', ns)).toBe(false);
  });
});

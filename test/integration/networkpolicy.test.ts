// The chart's NetworkPolicy against the flows of a running operator, as a NetworkPolicy analyzer decides
// (test/support/netpol.ts). No CNI enforces policies here, so the operator runs on loopback: every connection it
// opens while it serves tunnel traffic is recorded inside it (a preload), each is mapped to where it would go in a
// cluster, and the analyzer judges those flows under `helm template`'s policy.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gateway } from '../../src/reference-control-plane/gateway.js';
import type { ReferenceControlPlane } from '../../src/reference-control-plane/server.js';
import { clients, eventually, kubectl, TestNamespaces, testKubeConfig } from '../support/kube.js';
import { createIngress, ingressObject } from '../support/fixtures.js';
import { connectProxy, heldRoutes, startControlPlane } from '../support/control-plane.js';
import { call } from '../support/fake-agent.js';
import { operatorArgs, OperatorPool } from '../support/operator.js';
import { objectsOf, renderChart, type ChartValues } from '../support/install.js';
import { analyze, connectionRecording, SocketSampler, socketKey, type Flow, type OutboundSocket, type Peer } from '../support/netpol.js';

const RELEASE = 'gwnetpol';
const RELEASE_NAMESPACE = 'gateway-system';
// The cluster the policy is rendered for: where its apiserver, control plane and proxy are (documentation
// addresses), and the pod addresses the analyzer needs (pods are matched by labels, not by these). The apiserver
// as a policy sees it: an endpoint of the kubernetes Service after kube-proxy's DNAT, not the Service's IP.
const APISERVER = { cidr: '192.0.2.10/32', ip: '192.0.2.10', port: 6443 };
const CONTROL_PLANE = { cidr: '203.0.113.0/24', ip: '203.0.113.20', port: 443 };
const PROXY = { url: 'http://proxy.corp.example:3128', cidr: '198.51.100.30/32', ip: '198.51.100.30' };
const OPERATOR_POD_IP = '10.244.0.10';
const BACKEND_POD_IP = '10.244.1.20';
const KUBE_DNS: Peer = { internal: { namespace: 'kube-system', namespaceLabels: { 'kubernetes.io/metadata.name': 'kube-system' }, podLabels: { 'k8s-app': 'kube-dns' } }, ip: '10.244.0.2' };
const OUTSIDE = '198.51.100.99';

const BASE_VALUES: ChartValues = {
  clusterName: 'netpol',
  'controlPlane.url': 'https://cp.example.com',
  'networkPolicy.enabled': true,
  'networkPolicy.apiServer.cidrs[0]': APISERVER.cidr,
  'networkPolicy.apiServer.port': APISERVER.port,
};
const DIRECT_VALUES: ChartValues = { ...BASE_VALUES, 'networkPolicy.controlPlane.cidrs[0]': CONTROL_PLANE.cidr, 'networkPolicy.controlPlane.port': CONTROL_PLANE.port };
const PROXY_VALUES: ChartValues = { ...BASE_VALUES, 'controlPlane.proxyUrl': PROXY.url, 'networkPolicy.proxy.cidrs[0]': PROXY.cidr };

/** Where a flow goes in the cluster: the peer the policy sees and the port it arrives on. */
interface Destination {
  name: string;
  peer: Peer;
  port: number;
}

/** Each backend: a Service whose port differs from its pods' target port, as the policy sees the pods' port. */
const BACKENDS = [
  { prefix: 'np-shop', service: 'web', host: 'web.netpol.example.com', targetPort: 8080 },
  { prefix: 'np-billing', service: 'api', host: 'api.netpol.example.com', targetPort: 9090 },
] as const;

const operators = new OperatorPool();
const namespaces = new TestNamespaces();
const servers: Server[] = [];
let cp: ReferenceControlPlane;
let gateway: Gateway;
/** Local port → the destination it stands for in the cluster: every connection the operator opens must go to one. */
const standIns = new Map<number, Destination>();
let direct: OutboundSocket[];
let proxied: OutboundSocket[];

function standIn(localPort: number, destination: Destination): void {
  const taken = standIns.get(localPort);
  if (taken) throw new Error(`local port ${localPort} stands for both ${taken.name} and ${destination.name}`);
  standIns.set(localPort, destination);
}

function listen(server: Server): Promise<number> {
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

/**
 * A backend as the policy sees it, from the objects on the apiserver: the tunnel dials the Service, which in a
 * cluster leads to one of the pods its selector picks, on its target port, in its namespace (with its labels).
 */
async function backendDestination(namespace: string, service: string): Promise<Destination> {
  const { core } = clients();
  const svc = await core.readNamespacedService({ namespace, name: service });
  const ns = await core.readNamespace({ name: namespace });
  const targetPort = svc.spec!.ports![0]!.targetPort as unknown as number;
  return { name: `backend ${namespace}/${service}`, peer: { internal: { namespace, namespaceLabels: ns.metadata!.labels ?? {}, podLabels: svc.spec!.selector ?? {} }, ip: BACKEND_POD_IP }, port: targetPort };
}

/**
 * Runs an operator with `extra` flags, sends a request to every backend through the tunnel, and returns every
 * connection it opened, as its preload recorded them; each one /proc showed must be among them.
 */
async function observe(watched: string[], home: string, serviceAddresses: string[], extra: string[], gatewayPort: number): Promise<OutboundSocket[]> {
  const recording = connectionRecording();
  const operator = operators.start(operatorArgs(watched, { cp, home }, [...serviceAddresses, ...extra]), recording.env);
  const sampler = new SocketSampler(operator.pid);
  let sampled: OutboundSocket[] = [];
  try {
    await operator.registered();
    await eventually('routes at the gateway', async () => heldRoutes(cp, watched[0]!).length === BACKENDS.length);
    for (const backend of BACKENDS) {
      const answer = await eventually(`${backend.host} through the tunnel`, async () => {
        const res = await call(gatewayPort, backend.host, '/');
        return res.status === 200 ? res.body : undefined;
      });
      expect(answer).toBe(backend.service);
    }
  } finally {
    // Its shutdown's connections (the Lease released) are flows too.
    await operator.stop().finally(() => (sampled = sampler.stop()));
  }
  const recorded = recording.recorded();
  recording.remove();
  const keys = new Set(recorded.map(socketKey));
  expect(sampled.filter((socket) => !keys.has(socketKey(socket)))).toEqual([]);
  return recorded;
}

beforeAll(async () => {
  cp = await startControlPlane({ token: 'netpol' });
  gateway = new Gateway(cp);
  const gatewayPort = await gateway.listen();
  const proxy = await connectProxy();
  servers.push(proxy.server);

  const apiserverPort = Number(new URL(testKubeConfig().getCurrentCluster()!.server).port);
  standIn(apiserverPort, { name: 'apiserver', peer: { ip: APISERVER.ip }, port: APISERVER.port });
  standIn(cp.port, { name: 'control plane', peer: { ip: CONTROL_PLANE.ip }, port: CONTROL_PLANE.port });
  standIn(proxy.port, { name: 'proxy', peer: { ip: PROXY.ip }, port: Number(new URL(PROXY.url).port) });

  const watched: string[] = [];
  const serviceAddresses: string[] = [];
  for (const backend of BACKENDS) {
    const ns = await namespaces.create(backend.prefix);
    watched.push(ns);
    const labels = { app: backend.service };
    await clients().core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: backend.service, namespace: ns }, spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: backend.targetPort as never }] } },
    });
    await createIngress(ingressObject(ns, backend.service, [{ host: backend.host, paths: [{ service: backend.service, port: 'http' }] }]));
    const label = kubectl(['label', 'namespace', ns, 'tunnel=allowed']);
    if (label.status !== 0) throw new Error(`kubectl label: ${label.stderr}`);
    const port = await listen(createServer((_req, res) => res.end(backend.service)));
    serviceAddresses.push('--service-address', `${ns}/${backend.service}=127.0.0.1:${port}`);
    standIn(port, await backendDestination(ns, backend.service));
  }

  // One after the other, each with its own Lease namespace: the same cluster, first direct, then through the proxy.
  direct = await observe(watched, watched[0]!, serviceAddresses, [], gatewayPort);
  proxied = await observe(watched, watched[1]!, serviceAddresses, ['--proxy-url', `http://127.0.0.1:${proxy.port}`], gatewayPort);
}, 180_000);

afterAll(async () => {
  await operators.stopAll();
  await gateway?.close();
  await cp?.close();
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
  await namespaces.deleteAll();
});

/** The chart's policies under `values`, and the operator's pod as it renders it: its namespace, the labels of the Deployment's pod template. */
function render(values: ChartValues): { policies: object[]; operatorPod: Peer; policyName: string } {
  const objects = objectsOf(renderChart(RELEASE, RELEASE_NAMESPACE, values));
  const deployment = objects.find((o) => o.kind === 'Deployment')!;
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
  const operatorPod: Peer = {
    internal: { namespace: RELEASE_NAMESPACE, namespaceLabels: { 'kubernetes.io/metadata.name': RELEASE_NAMESPACE }, podLabels: deployment.spec.template.metadata.labels },
    ip: OPERATOR_POD_IP,
  };
  return { policies, operatorPod, policyName: `${RELEASE_NAMESPACE}/${policies[0]!.metadata.name}` };
}

/**
 * The flows of the observed connections, from the operator's pod, each to the one destination its local port
 * stands for (unmapped: those that stand for nothing), plus DNS: in a cluster the operator resolves the control
 * plane's (or proxy's) name and the Services' names through kube-dns, over UDP and TCP port 53; here it
 * resolves nothing (every address is a loopback IP), so those flows are added as a cluster would have them.
 */
function flowsOf(sockets: readonly OutboundSocket[], from: Peer): { flows: Flow[]; unmapped: OutboundSocket[] } {
  const reached = new Map<string, Destination>();
  const unmapped: OutboundSocket[] = [];
  for (const socket of sockets) {
    const destination = socket.protocol === 'TCP' && socket.remoteAddress === '127.0.0.1' ? standIns.get(socket.remotePort) : undefined;
    if (destination) reached.set(destination.name, destination);
    else unmapped.push(socket);
  }
  const flows: Flow[] = [...reached.values()].map((d) => ({ name: d.name, source: from, destination: d.peer, protocol: 'TCP', port: d.port }));
  for (const protocol of ['UDP', 'TCP'] as const) flows.push({ name: `DNS ${protocol}`, source: from, destination: KUBE_DNS, protocol, port: 53 });
  return { flows, unmapped };
}

/** What the chart's policy decides for the operator's side of each flow (the backends' own ingress policies are their namespaces' business). */
function egressVerdicts(policies: object[], flows: readonly Flow[]): Array<{ flow: string; port: number; allowed: boolean; by: string[] }> {
  return analyze(policies, flows).map((verdict, i) => ({
    flow: flows[i]!.name,
    port: flows[i]!.port,
    allowed: verdict.egress.allowed,
    by: verdict.egress.allowed ? verdict.egress.allowedBy : verdict.egress.deniedBy,
  }));
}

/** Every flow allowed, each by the chart's policy (not merely because no policy selects the pod). */
function expectAllowed(policies: object[], policyName: string, flows: readonly Flow[]): void {
  expect(egressVerdicts(policies, flows)).toEqual(flows.map((f) => ({ flow: f.name, port: f.port, allowed: true, by: [policyName] })));
}

function expectDenied(policies: object[], policyName: string, flows: readonly Flow[]): void {
  expect(egressVerdicts(policies, flows)).toEqual(flows.map((f) => ({ flow: f.name, port: f.port, allowed: false, by: [policyName] })));
}

const backendFlows = (flows: readonly Flow[]) => flows.filter((f) => f.name.startsWith('backend '));
const names = (flows: readonly Flow[]) => flows.map((f) => f.name).sort();

it('every connection the operator opened stands for one destination, and it reached each: the apiserver, the control plane (or the proxy), every exposed backend', () => {
  const { operatorPod } = render(DIRECT_VALUES);
  const backends = [...standIns.values()].filter((d) => d.name.startsWith('backend ')).map((d) => d.name);
  expect(backends).toHaveLength(BACKENDS.length);
  const directly = flowsOf(direct, operatorPod);
  expect(directly.unmapped).toEqual([]);
  expect(names(directly.flows)).toEqual(['DNS TCP', 'DNS UDP', 'apiserver', 'control plane', ...backends].sort());
  const throughProxy = flowsOf(proxied, operatorPod);
  expect(throughProxy.unmapped).toEqual([]);
  expect(names(throughProxy.flows)).toEqual(['DNS TCP', 'DNS UDP', 'apiserver', 'proxy', ...backends].sort());
});

it('by default the policy allows every flow of the running operator, and no other address outside the cluster or port of the apiserver', () => {
  const { policies, operatorPod, policyName } = render(DIRECT_VALUES);
  const { flows } = flowsOf(direct, operatorPod);
  expectAllowed(policies, policyName, flows);
  expectDenied(policies, policyName, [
    { name: 'outside, on the control plane port', source: operatorPod, destination: { ip: OUTSIDE }, protocol: 'TCP', port: CONTROL_PLANE.port },
    { name: 'the apiserver on another port', source: operatorPod, destination: { ip: APISERVER.ip }, protocol: 'TCP', port: 10250 },
  ]);
});

it('networkPolicy.backends narrowed to the backends (namespace label, target ports): their flows are allowed, another port or namespace is not', () => {
  const { policies, operatorPod, policyName } = render({
    ...DIRECT_VALUES,
    'networkPolicy.backends.namespaceSelector.matchLabels.tunnel': 'allowed',
    ...Object.fromEntries(BACKENDS.map((b, i) => [`networkPolicy.backends.ports[${i}]`, b.targetPort])),
  });
  const { flows } = flowsOf(direct, operatorPod);
  expectAllowed(policies, policyName, flows);
  const backends = backendFlows(flows);
  expect(backends).toHaveLength(BACKENDS.length);
  expectDenied(policies, policyName, [
    ...backends.map((f) => ({ ...f, name: `${f.name} on another port`, port: 7070 })),
    ...backends.map((f) => {
      const unlabelled = Object.fromEntries(Object.entries(f.destination.internal!.namespaceLabels).filter(([key]) => key !== 'tunnel'));
      return { ...f, name: `${f.name} in an unselected namespace`, destination: { ...f.destination, internal: { ...f.destination.internal!, namespaceLabels: unlabelled } } };
    }),
  ]);
});

it('with controlPlane.proxyUrl the operator reaches the control plane through the proxy, which the policy allows (the port from the URL); the control plane directly it does not', () => {
  const { policies, operatorPod, policyName } = render(PROXY_VALUES);
  const { flows } = flowsOf(proxied, operatorPod);
  expectAllowed(policies, policyName, flows);
  expectDenied(policies, policyName, [{ name: 'the control plane directly', source: operatorPod, destination: { ip: CONTROL_PLANE.ip }, protocol: 'TCP', port: CONTROL_PLANE.port }]);
});

// Our IngressClass, with the real operator and the reference control plane: its Ingresses are served
// whatever --ingress-class says and show the hosted gateway's address (the control plane's, or
// --ingress-status-address), written once per change; Ingresses of other classes keep the status their own
// controller writes; a hostile address from the control plane is refused at parse time.
import { afterAll, describe, expect, it } from '@jest/globals';
import type { V1Ingress, V1IngressLoadBalancerIngress } from '@kubernetes/client-node';
import { argoIngressHealth } from '../support/argo.js';
import { clusterByName, describeRoute, waitForRoutes } from '../support/control-plane.js';
import { createIngress, getGatewayRoute, ingressObject } from '../support/fixtures.js';
import { clients, eventually, kubectl } from '../support/kube.js';
import type { OperatorProcess } from '../support/operator.js';
import { syncSuite } from '../support/sync-suite.js';

const suite = syncSuite('ingress-class-token');
const { networking } = clients();
const OUR_CONTROLLER = 'gateway.pipeops.io/tunnel';
const FIELD_MANAGER = 'gateway-operator-ingress-status';
const classes: string[] = [];

afterAll(async () => {
  await Promise.all(classes.map((name) => networking.deleteIngressClass({ name }).catch(() => undefined)));
});

/** An IngressClass of our controller, named after the test's namespace (IngressClasses are cluster-scoped). */
async function ourClass(ns: string): Promise<string> {
  const name = `tunnel-${ns}`;
  await networking.createIngressClass({ body: { metadata: { name }, spec: { controller: OUR_CONTROLLER } } });
  classes.push(name);
  return name;
}

function ingressOf(ns: string, name: string, ingressClassName?: string, annotations?: Record<string, string>): V1Ingress {
  return ingressObject(ns, name, [{ host: `${name}.${ns}.example.com`, paths: [{ service: 'web', port: 'http' }] }], { ingressClassName, annotations });
}

const read = (ns: string, name: string) => networking.readNamespacedIngress({ namespace: ns, name });

async function shown(ns: string, name: string): Promise<V1IngressLoadBalancerIngress[]> {
  return (await read(ns, name)).status?.loadBalancer?.ingress ?? [];
}

/** Waits until the Ingress shows exactly `expected` in status.loadBalancer.ingress. */
async function showsAddress(ns: string, name: string, expected: V1IngressLoadBalancerIngress[]): Promise<V1Ingress> {
  return eventually(`${ns}/${name} shows ${JSON.stringify(expected)}`, async () => {
    const ingress = await read(ns, name);
    return JSON.stringify(ingress.status?.loadBalancer?.ingress ?? []) === JSON.stringify(expected) ? ingress : undefined;
  });
}

/** How many times the operator wrote this Ingress's status (its log says each). */
const statusWrites = (op: OperatorProcess, ns: string, name: string): number =>
  op.logs.filter((l) => l.msg === 'Ingress status written' && l.namespace === ns && l.name === name).length;

/**
 * Annotates the Ingress and waits until its GatewayRoute carries the annotation: both controllers read the
 * one Ingress informer, so the status controller has had the change too.
 */
async function touch(ns: string, name: string): Promise<void> {
  await networking.patchNamespacedIngress({ namespace: ns, name, body: [{ op: 'add', path: '/metadata/annotations', value: { touched: 'yes' } }] });
  await eventually(`${ns}/${name} touched`, async () => (await getGatewayRoute(ns, name))?.metadata.annotations?.touched === 'yes');
}

const managers = (ingress: V1Ingress): string[] => (ingress.metadata?.managedFields ?? []).map((m) => m.manager ?? '');

describe('our IngressClass', () => {
  it("serves its Ingresses whatever --ingress-class says and shows the control plane's address; Ingresses of other classes keep their own status", async () => {
    const ns = await suite.ownNamespace('ours');
    const tunnel = await ourClass(ns);
    suite.cp.gatewayAddress = { hostname: 'gateway.example.net' };
    await createIngress(ingressOf(ns, 'ours', tunnel));
    await createIngress(ingressOf(ns, 'opted-out', tunnel, { 'gateway.pipeops.io/exclude': 'true' }));
    await createIngress(ingressOf(ns, 'nginx-empty', 'nginx'));
    await createIngress(ingressOf(ns, 'traefik', 'traefik'));
    // Another class whose own controller wrote its address, as ingress-nginx would (an update of /status).
    const foreign = await createIngress(ingressOf(ns, 'nginx-own', 'nginx'));
    foreign.status = { loadBalancer: { ingress: [{ ip: '10.0.0.5' }] } };
    await networking.replaceNamespacedIngressStatus({ namespace: ns, name: 'nginx-own', body: foreign });

    // --ingress-class names nginx only: ours is served anyway, traefik is not.
    const op = suite.operators.start([...suite.operatorArgs(ns), '--ingress-class', 'nginx']);
    await op.registered();
    const ours = await showsAddress(ns, 'ours', [{ hostname: 'gateway.example.net' }]);
    expect(argoIngressHealth(ours)).toBe('Healthy');
    await waitForRoutes(suite.cp, ns, ['ours', 'nginx-empty', 'nginx-own'].map((name) => describeRoute({ host: `${name}.${ns}.example.com`, path: '/', service: 'web', port: 8080 })));
    // Every Ingress changes once more now that the address is known (each is reconciled with it).
    for (const name of ['ours', 'nginx-empty', 'nginx-own']) await touch(ns, name);
    await op.settled();
    expect(await getGatewayRoute(ns, 'opted-out')).toBeUndefined();
    expect(await getGatewayRoute(ns, 'traefik')).toBeUndefined();

    // Mirrored, but never written: the foreign address stays, the empty status stays empty (Progressing).
    const nginxOwn = await read(ns, 'nginx-own');
    expect(nginxOwn.status?.loadBalancer?.ingress).toEqual([{ ip: '10.0.0.5' }]);
    const nginxEmpty = await read(ns, 'nginx-empty');
    expect(nginxEmpty.status?.loadBalancer?.ingress ?? []).toEqual([]);
    expect(argoIngressHealth(nginxEmpty)).toBe('Progressing');
    expect(await shown(ns, 'opted-out')).toEqual([]);
    for (const ingress of [nginxOwn, nginxEmpty, await read(ns, 'opted-out'), await read(ns, 'traefik')]) expect(managers(ingress)).not.toContain(FIELD_MANAGER);
    expect(managers(ours)).toContain(FIELD_MANAGER);

    // What a newcomer sees.
    const table = kubectl(['get', 'ingress', '-n', ns, 'ours', 'nginx-empty']);
    expect(table.stdout).toMatch(/^NAME\s+CLASS\s+HOSTS\s+ADDRESS\s+PORTS\s+AGE\n/);
    expect(table.stdout).toMatch(new RegExp(`\\nours\\s+${tunnel}\\s+ours\\.${ns}\\.example\\.com\\s+gateway\\.example\\.net\\s+80\\s`));
    expect(table.stdout).toMatch(new RegExp(`\\nnginx-empty\\s+nginx\\s+nginx-empty\\.${ns}\\.example\\.com\\s+80\\s`));

    // Written once, not again when the Ingress changed (touch) without changing what it should show.
    expect(statusWrites(op, ns, 'ours')).toBe(1);

    // The control plane tells another address at the next registration: the status follows.
    suite.cp.gatewayAddress = { ip: '203.0.113.20' };
    expect(suite.cp.dropConnections(clusterByName(suite.cp, ns)?.cluster_uuid)).toBe(1);
    await showsAddress(ns, 'ours', [{ ip: '203.0.113.20' }]);
    // The operator logs its write once the apiserver has answered it, which may be after this test read it.
    await eventually('the second status write logged', async () => statusWrites(op, ns, 'ours') >= 2);
    await op.settled();
    expect(statusWrites(op, ns, 'ours')).toBe(2);
    expect((await read(ns, 'nginx-own')).status?.loadBalancer?.ingress).toEqual([{ ip: '10.0.0.5' }]);
    expect(op.logs.filter((l) => l.level === 'error')).toEqual([]);
    await op.stop();
  }, 90_000);

  it("--ingress-status-address overrides the control plane's address", async () => {
    const ns = await suite.ownNamespace('flag');
    const tunnel = await ourClass(ns);
    suite.cp.gatewayAddress = { hostname: 'gateway.example.net' };
    await createIngress(ingressOf(ns, 'ours', tunnel));
    const op = suite.operators.start([...suite.operatorArgs(ns), '--ingress-status-address', '203.0.113.7']);
    await op.registered();
    await showsAddress(ns, 'ours', [{ ip: '203.0.113.7' }]);
    await op.settled();
    expect(await shown(ns, 'ours')).toEqual([{ ip: '203.0.113.7' }]);
    expect(statusWrites(op, ns, 'ours')).toBe(1);
    await op.stop();
  }, 60_000);

  it('refuses a hostile address from the control plane at parse time: no registration on it, logged, no status written, no crash', async () => {
    const ns = await suite.ownNamespace('hostile');
    const tunnel = await ourClass(ns);
    await createIngress(ingressOf(ns, 'ours', tunnel));
    suite.cp.gatewayAddress = { hostname: 'Evil.example.com\r\nX-Injected: 1' };
    const op = suite.operators.start(suite.operatorArgs(ns));
    const refused = await op.waitForLog('the registration refused', (l) => l.level === 'error' && String(l.msg).includes("the control plane's register_success was refused"));
    expect(refused.msg).toContain('field "gateway_address"');
    // Refused every time it dials; the process keeps running, ready, and writes nothing.
    await op.waitForLog('a second refusal', (l) => l !== refused && l.msg === refused.msg);
    expect(op.running).toBe(true);
    expect((await op.get('/readyz')).status).toBe(200);
    const detailed = (await op.get('/api/health/detailed')).body;
    expect(detailed.connection.state).not.toBe('ready');
    expect(detailed.connection.lastError).toContain('gateway_address');
    expect(await shown(ns, 'ours')).toEqual([]);
    expect(statusWrites(op, ns, 'ours')).toBe(0);

    // A sane address: it registers on the next dial and the Ingress shows it.
    suite.cp.gatewayAddress = { hostname: 'gateway.example.net' };
    await op.registered();
    await showsAddress(ns, 'ours', [{ hostname: 'gateway.example.net' }]);
    expect(op.stderr.filter((line) => /unhandled|TypeError|RangeError/i.test(line))).toEqual([]);
    await op.stop();
  }, 60_000);
});

// gateway-operator preview against the real operator: each fixture of test/fixtures/preview/ is applied to
// the test apiserver (Gateway API CRDs installed) in its order, with the operator running, and the
// GatewayRoutes it writes (metadata, spec, hosts, routeCount, Accepted and ResolvedRefs) must be the ones
// `node dist/main.js preview -o json` prints for the same files; HTTPRoutes preview says are refused carry
// the same reason in their status. Then the CLI itself: stdout, exit codes 0/1/2, stdin, directories.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GatewayRoute } from '../../src/api/v1alpha1/types.js';
import type { HTTPRoute } from '../../src/gatewayapi/types.js';
import { jsonEqual } from '../../src/operator/json.js';
import { parseManifests } from '../../src/preview/inputs.js';
import { clients, eventually, kubectl, TestNamespaces } from '../support/kube.js';
import { listGatewayRoutes } from '../support/fixtures.js';
import { OperatorPool, type OperatorProcess } from '../support/operator.js';
import { REPO_ROOT } from '../support/test-cluster.js';

const FIXTURES = join(REPO_ROOT, 'test/fixtures/preview');
const SCENARIOS = ['ingress-tls.yaml', 'ingress-drops.yaml', 'ingress-missing-service.yaml', 'httproute.yaml', 'httproute-drops.yaml', 'conflicts.yaml', 'list.yaml'];
const operators = new OperatorPool();
const namespaces: string[] = [];
let operator: OperatorProcess;
let controllerName: string;
let className: string;
let scratch: string;

/** Each scenario's own namespaces and hosts (claims on a host + path are cluster-wide), and this file's GatewayClass. */
interface Scenario {
  file: string;
  shop: string;
  backends: string;
  text: string;
}
const scenarios: Scenario[] = [];

function preview(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(REPO_ROOT, 'dist/main.js'), 'preview', ...args], {
    input: options.input,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...options.env },
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** What the comparison looks at: everything the source controller writes, less what only the apiserver knows (uid, times). */
function comparable(route: GatewayRoute) {
  return {
    namespace: route.metadata.namespace,
    name: route.metadata.name,
    labels: route.metadata.labels,
    annotations: route.metadata.annotations ?? {},
    owners: (route.metadata.ownerReferences ?? []).map(({ apiVersion, kind, name, controller }) => ({ apiVersion, kind, name, controller })),
    spec: route.spec,
    hosts: route.status?.hosts,
    routeCount: route.status?.routeCount,
    conditions: (route.status?.conditions ?? []).filter((c) => c.type === 'Accepted' || c.type === 'ResolvedRefs').map(({ type, status, reason, message }) => ({ type, status, reason, message })),
  };
}

function byKey(a: { namespace?: string; name?: string }, b: { namespace?: string; name?: string }): number {
  return `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`);
}

async function operatorRoutes(scenario: Scenario) {
  const routes = [...(await listGatewayRoutes(scenario.shop)), ...(await listGatewayRoutes(scenario.backends))];
  return routes.map(comparable).sort(byKey);
}

function applyObject(object: Record<string, unknown>): void {
  const result = kubectl(['apply', '-f', '-'], JSON.stringify(object));
  if (result.status !== 0) throw new Error(`kubectl apply ${String(object.kind)}: ${result.stderr}`);
}

const testNamespaces = new TestNamespaces();

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'preview-it-'));
  const suffix = (await testNamespaces.create('preview')).replace(/^preview-/, '');
  namespaces.push(`preview-${suffix}`);
  // A controllerName and GatewayClass of this file's own: operators of other test files ignore them.
  controllerName = `gateway.pipeops.io/preview-${suffix}`;
  className = `preview-${suffix}`;
  for (const [index, file] of SCENARIOS.entries()) {
    const shop = await testNamespaces.create(`pv${index}-shop`);
    const backends = await testNamespaces.create(`pv${index}-backends`);
    namespaces.push(shop, backends);
    const text = readFileSync(join(FIXTURES, file), 'utf8')
      .replaceAll('preview-shop', shop)
      .replaceAll('preview-backends', backends)
      .replaceAll('preview-tunnel', className)
      .replaceAll('gateway.pipeops.io/tunnel', controllerName)
      .replaceAll('example.com', `s${index}.example.com`);
    scenarios.push({ file, shop, backends, text });
  }
  // No control plane: the source controllers write what preview shows; Synced is not compared.
  operator = operators.start(['--watch-namespaces', namespaces.slice(1).join(','), '--namespace', namespaces[0] as string, '--gateway-controller-name', controllerName]);
  await operator.ready();
});

afterAll(async () => {
  await operators.stopAll();
  await clients().custom.deleteClusterCustomObject({ group: 'gateway.networking.k8s.io', version: 'v1', plural: 'gatewayclasses', name: className }).catch(() => undefined);
  await testNamespaces.deleteAll();
  rmSync(scratch, { recursive: true, force: true });
});

describe('preview prints the GatewayRoutes the operator writes for the same manifests', () => {
  it.each(SCENARIOS)(
    '%s',
    async (file) => {
      const scenario = scenarios.find((s) => s.file === file) as Scenario;
      const path = join(scratch, file);
      writeFileSync(path, scenario.text);
      const previewed = preview(['-o', 'json', '--gateway-controller-name', controllerName, path]);
      expect(previewed.status === 0 || previewed.status === 1).toBe(true);
      const expected = (JSON.parse(previewed.stdout) as { items: GatewayRoute[] }).items.map(comparable).sort(byKey);

      // Applied as a user would, in the file's order: what the sources use first, then each source once the
      // operator has answered the one before (preview takes an earlier manifest as the older one).
      const manifests = parseManifests(scenario.text, file).map((m) => m.object);
      const isSource = (o: Record<string, unknown>) => o.kind === 'Ingress' || o.kind === 'HTTPRoute';
      for (const object of manifests.filter((o) => !isSource(o))) applyObject(object);
      for (const object of manifests.filter(isSource)) {
        applyObject(object);
        const { namespace, name } = object.metadata as { namespace: string; name: string };
        const gives = expected.find((r) => r.namespace === namespace && r.name === name && r.owners[0]?.kind === object.kind);
        if (gives) await eventually(`GatewayRoute ${namespace}/${name} with its conditions`, async () => (await operatorRoutes(scenario)).find((r) => r.namespace === namespace && r.name === name && r.conditions.length === 2));
        else await operator.settled();
      }

      // The operator converges to exactly what preview printed; the last reading shows the difference if not.
      await eventually(`the operator's GatewayRoutes for ${file} equal the preview's`, async () => jsonEqual(await operatorRoutes(scenario), expected), 20_000).catch(() => undefined);
      expect(await operatorRoutes(scenario)).toEqual(expected);

      // Each HTTPRoute preview says a Gateway of ours refuses carries that reason in its status; one it says is
      // not ours has no entry of this operator.
      for (const line of previewed.stderr.split('\n').filter((l) => l.includes(': HTTPRoute '))) {
        const [, namespace, name, rest] = /HTTPRoute ([^/]+)\/(\S+): (.*)$/.exec(line) ?? [];
        const read = async () =>
          ((await clients().custom.getNamespacedCustomObject({ group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes', namespace: namespace as string, name: name as string })) as HTTPRoute).status?.parents?.find(
            (p) => p.controllerName === controllerName,
          );
        const refused = /^not attached \((\w+)\)/.exec(rest ?? '')?.[1] ?? (/is not exposed until/.test(rest ?? '') ? 'NameConflict' : undefined);
        if (refused) {
          await eventually(`HTTPRoute ${namespace}/${name} Accepted=False ${refused}`, async () => (await read())?.conditions.find((c) => c.type === 'Accepted' && c.status === 'False' && c.reason === refused));
        } else {
          expect(await read()).toBeUndefined();
        }
      }
    },
    90_000,
  );
});

describe('the preview command', () => {
  const fixture = (file: string) => join(FIXTURES, file);

  it('prints the table and exits 0 when every GatewayRoute is served as written', () => {
    const run = preview([fixture('ingress-tls.yaml'), fixture('httproute.yaml')]);
    expect(run.status).toBe(0);
    expect(run.stdout.split('\n').slice(0, 3)).toEqual([
      'NAMESPACE      NAME    SOURCE      HOSTS               ROUTES   ACCEPTED   RESOLVEDREFS',
      'preview-shop   shop    Ingress     shop.example.com    2        Accepted   ResolvedRefs',
      'preview-shop   store   HTTPRoute   store.example.com   2        Accepted   ResolvedRefs',
    ]);
    expect(run.stdout).toMatch(/\nOK 2 GatewayRoutes\n$/);
    // Both files define the Service web: harmless, said on stderr.
    expect(run.stderr).toBe(
      `gateway-operator preview: Service preview-shop/web is given twice (${fixture('ingress-tls.yaml')}: document 1; ${fixture('httproute.yaml')}: document 3): the last one counts, as it would once applied\n`,
    );
  });

  it('exits 1 when a path is dropped or a GatewayRoute would be Stalled, and says which', () => {
    const dropped = preview([fixture('ingress-drops.yaml')]);
    expect(dropped.status).toBe(1);
    expect(dropped.stdout).toContain('rules[0].paths[1] (/files): resource backend Bucket/files is not supported');
    const stalled = preview([fixture('ingress-missing-service.yaml')]);
    expect(stalled.status).toBe(1);
    expect(stalled.stdout).toContain('would be Stalled (ServiceNotFound): ResolvedRefs: Service api not found');
  });

  it('reads stdin for "-", as in `kustomize build . | gateway-operator preview -`, in YAML or JSON out', () => {
    const run = preview(['-', '--output', 'yaml'], { input: readFileSync(fixture('list.yaml'), 'utf8') });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^apiVersion: v1\nkind: List\nitems:\n {2}- apiVersion: gateway.pipeops.io\/v1alpha1\n {4}kind: GatewayRoute\n/);
    expect(run.stderr).toBe('gateway-operator preview: ignored 1 object of kinds preview does not read: v1 ConfigMap (1)\ngateway-operator preview: OK 1 GatewayRoute\n');
  });

  it('reads a directory of manifests', () => {
    const run = preview(['-o', 'json', FIXTURES]);
    expect(run.status).toBe(1);
    expect((JSON.parse(run.stdout) as { items: unknown[] }).items.length).toBeGreaterThan(5);
  });

  it('exits 2 on input it cannot read, naming the input and the problem', () => {
    const bad = join(scratch, 'bad.yaml');
    writeFileSync(bad, 'apiVersion: v1\nkind: Service\nmetadata: {name: [\n');
    const run = preview([fixture('ingress-tls.yaml'), bad]);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(new RegExp(`^gateway-operator preview: ${bad}: not valid YAML: .*\\(4:1\\)`));
    const wrong = preview(['-'], { input: 'apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: a}\nspec: {rules: {host: a}}\n' });
    expect(wrong).toMatchObject({ status: 2, stdout: '', stderr: 'gateway-operator preview: (stdin): document 1: Ingress: spec.rules: must be a list, got an object\n' });
    expect(preview([join(scratch, 'missing.yaml')])).toMatchObject({ status: 2, stderr: `gateway-operator preview: ${join(scratch, 'missing.yaml')}: no such file or directory\n` });
  });

  it('exits 2 on a bad flag, naming it', () => {
    expect(preview(['--output', 'wide', fixture('ingress-tls.yaml')])).toMatchObject({ status: 2, stderr: 'gateway-operator: --output: must be one of table, yaml, json, got "wide"\n' });
    expect(preview([])).toMatchObject({ status: 2, stderr: 'gateway-operator: preview: give the manifests to read: files, directories, or - for stdin\n' });
  });

  it('needs no cluster: a kubeconfig that does not exist, or a pod without --cluster-name, changes nothing', () => {
    const run = preview([fixture('ingress-tls.yaml')], { env: { KUBECONFIG: join(scratch, 'none'), KUBERNETES_SERVICE_HOST: '10.0.0.1' } });
    expect(run.status).toBe(0);
  });
});

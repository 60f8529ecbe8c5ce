// Upgrading from the previous release (CHANGELOG.md's entry below this version, taken from git history) to this
// checkout, with exactly the commands README.md gives: the sh blocks after its `<!-- upgrade-...: run by
// test/integration/upgrade.test.ts -->` markers, run from the repository's root. The previous release's
// GatewayRoute CRD lacks status.source; after the upgrade the apiserver keeps it where before it pruned it.
// Each test has a control plane of its own: installing the old CRDs into the shared one would break every
// other file.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_VERSION, GATEWAY_ROUTE, GROUP, VERSION, type GatewayRoute } from '../../src/api/v1alpha1/types.js';
import { packageVersion, previousRelease, resolveRevision } from '../../hack/release.js';
import { clients, eventually, testKubeConfig } from '../support/kube.js';
import { runCommandSync, type CommandResult } from '../support/processes.js';
import { REPO_ROOT, TestCluster, testBinaries } from '../support/test-cluster.js';

const version = packageVersion(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
const previous = previousRelease(readFileSync(join(REPO_ROOT, 'CHANGELOG.md'), 'utf8'), version);
// What README.md's commands name.
const NAMESPACE = 'gateway-system';
const RELEASE = 'gateway-operator';
const CRDS = ['gatewayroutes.gateway.pipeops.io', 'clusterconnectivities.gateway.pipeops.io'];

let cluster: TestCluster;
let env: NodeJS.ProcessEnv;
let oldTree: string;
let custom: ReturnType<typeof clients>['custom'];

/** A bash script run from the repository's root against this file's control plane (its kubectl and helm first on PATH). */
function sh(script: string): CommandResult {
  return runCommandSync('bash', ['-euo', 'pipefail', '-c', script], { cwd: REPO_ROOT, env, timeoutMs: 120_000 });
}

function succeeds(what: string, result: CommandResult): string {
  if (result.status !== 0) throw new Error(`${what} failed (exit ${result.status}):\n${result.stderr}${result.stdout}`);
  return result.stdout;
}

/** The sh block README.md has right after `<!-- name: run by test/integration/upgrade.test.ts -->`. */
function readmeBlock(name: string): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const block = new RegExp(`<!-- ${name}: run by test/integration/upgrade\\.test\\.ts -->\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(readme)?.[1];
  if (!block) throw new Error(`README.md has no sh block after <!-- ${name}: run by test/integration/upgrade.test.ts -->`);
  return block;
}

/**
 * Writes status.source on a GatewayRoute (creating it first) and returns what the apiserver kept: undefined
 * while the CRD lacks the field (pruned), 'Manual' once it has it.
 */
async function sourceKept(name: string): Promise<string | undefined> {
  const target = { group: GROUP, version: VERSION, namespace: NAMESPACE, plural: GATEWAY_ROUTE.plural, name };
  const body: GatewayRoute = {
    apiVersion: API_VERSION,
    kind: GATEWAY_ROUTE.kind,
    metadata: { name, namespace: NAMESPACE },
    spec: { routes: [{ host: 'app.example.com', path: '/', pathType: 'Prefix', backend: { service: 'web', port: { number: 80 } } }] },
  };
  await custom.createNamespacedCustomObject({ ...target, body }).catch((err: { code?: number }) => {
    if (err.code !== 409) throw err;
  });
  await custom.patchNamespacedCustomObjectStatus({ ...target, body: [{ op: 'add', path: '/status', value: { source: 'Manual', routeCount: 1 } }] });
  const read = (await custom.getNamespacedCustomObject(target)) as GatewayRoute;
  expect(read.status?.routeCount).toBe(1); // the write itself went through
  return read.status?.source;
}

/** Polls until the upgraded CRD is served (the apiserver takes a moment to serve a changed schema). */
const servedAfterUpgrade = (name: string) => eventually(`status.source kept on ${name}`, async () => (await sourceKept(name)) === 'Manual');

beforeAll(() => {
  if (!previous) throw new Error(`CHANGELOG.md has no release before ${version}: the upgrade test needs one`);
  const revision = resolveRevision([previous.tag, previous.commit]);
  if (!revision) {
    throw new Error(
      `the upgrade test installs release ${previous.version} from git history (tag ${previous.tag}${previous.commit ? ` or commit ${previous.commit}` : ''}), ` +
        'which this checkout lacks: run it in a clone with full history (git fetch --unshallow --tags)',
    );
  }
  oldTree = mkdtempSync(join(tmpdir(), `gateway-operator-${previous.version}-`));
  succeeds(`extracting ${previous.version} (${revision})`, runCommandSync('bash', ['-c', `git -C "$0" archive ${revision} charts config crds | tar -x -C "$1"`, REPO_ROOT, oldTree]));
});

beforeEach(async () => {
  cluster = new TestCluster({ controllerManager: false, gatewayApi: false, crdDir: null });
  const info = await cluster.start();
  const home = mkdtempSync(join(tmpdir(), 'gateway-upgrade-helm-'));
  env = { ...process.env, PATH: `${testBinaries()}:${process.env.PATH}`, KUBECONFIG: info.kubeconfig, HELM_CACHE_HOME: home, HELM_CONFIG_HOME: home, HELM_DATA_HOME: home };
  custom = clients(testKubeConfig(info.kubeconfig)).custom;
  succeeds('kubectl create namespace', sh(`kubectl create namespace ${NAMESPACE}`));
}, 90_000);

afterEach(async () => {
  await cluster?.stop(); // undefined when beforeAll failed (no git history)
});

describe(`upgrade from ${previous?.version} to ${version}`, () => {
  it('Helm: the chart of the previous release, then the README steps; the changed CRD is served, and helm uninstall keeps the CRDs', async () => {
    // As the previous release's README installed it (its CRDs from the chart's crds/ folder).
    succeeds('helm install (previous release)', sh(`helm install ${RELEASE} "${join(oldTree, 'charts/gateway-operator')}" -n ${NAMESPACE} --set clusterName=upgrade`));
    expect(await sourceKept('before')).toBeUndefined();

    // Without the one-time step, Helm refuses to take over CRDs it did not install as templates.
    const refused = sh(`helm upgrade ${RELEASE} ./charts/gateway-operator -n ${NAMESPACE} --reset-then-reuse-values`);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/CustomResourceDefinition "[a-z.]+" in namespace "" exists and cannot be imported into the current release: invalid ownership metadata/);

    succeeds('the README upgrade steps', sh(readmeBlock('upgrade-helm')));
    await servedAfterUpgrade('after');
    expect(await sourceKept('before')).toBe('Manual');
    const columns = succeeds('kubectl get gwr', sh(`kubectl get gwr -n ${NAMESPACE} after`)).split('\n')[0];
    expect(columns).toMatch(/^NAME\s+SOURCE\s+HOSTS/);
    const release = JSON.parse(succeeds('helm list', sh(`helm list -n ${NAMESPACE} -o json`))) as Array<{ chart: string; status: string }>;
    expect(release).toEqual([expect.objectContaining({ chart: `gateway-operator-${version}`, status: 'deployed' })]);

    const uninstalled = succeeds('helm uninstall', sh(`helm uninstall ${RELEASE} -n ${NAMESPACE}`));
    expect(uninstalled).toContain('These resources were kept due to the resource policy');
    succeeds('the CRDs after helm uninstall', sh(`kubectl get crd ${CRDS.join(' ')}`));
    expect(await sourceKept('after')).toBe('Manual'); // and the GatewayRoutes with them
  }, 180_000);

  it('kustomize: config/default of the previous release, then the README command', async () => {
    succeeds('kubectl apply -k (previous release)', sh(`kubectl apply --server-side -k "${join(oldTree, 'config/default')}"`));
    expect(await sourceKept('before')).toBeUndefined();
    succeeds('the README upgrade command', sh(readmeBlock('upgrade-kustomize')));
    await servedAfterUpgrade('after');
    const image = succeeds('the Deployment', sh(`kubectl -n ${NAMESPACE} get deployment gateway-operator -o jsonpath='{.spec.template.spec.containers[0].image}'`));
    expect(image).toBe(`ghcr.io/pipeops/gateway-operator:${version}`);
  }, 120_000);
});

afterAll(() => {
  if (oldTree) rmSync(oldTree, { recursive: true, force: true });
});

// What users install, on the test apiserver: helm (pinned, built with the test control plane), kubectl
// apply of rendered manifests, and a kubeconfig for a ServiceAccount's TokenRequest token, so the
// operator runs with exactly the permissions the install gives it.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAllYaml } from '@kubernetes/client-node';
import { clients, kubectl, testKubeConfig, testKubeconfigPath } from './kube.js';
import { runCommandSync, type CommandResult } from './processes.js';
import { REPO_ROOT, renderKubeconfig, testBinaries } from './test-cluster.js';

export const CHART = join(REPO_ROOT, 'charts/gateway-operator');

export function helm(args: string[]): CommandResult {
  return runCommandSync(join(testBinaries(), 'helm'), args, { env: { ...process.env, HELM_CACHE_HOME: tmpdir() } });
}

/** Chart values for --set: a string is set as a string (--set-string), a boolean or number as itself (values.schema.json checks types). */
export type ChartValues = Record<string, string | boolean | number>;

const setStrings = (values: ChartValues): string[] =>
  Object.entries(values).flatMap(([key, value]) => [typeof value === 'string' ? '--set-string' : '--set', `${key}=${value}`]);

/**
 * `helm template` of the chart, with --set values. Without its CRDs unless the values ask for them: the test
 * setup installed them, and every test file shares them.
 */
export function renderChart(release: string, namespace: string, values: ChartValues): string {
  const result = helm(['template', release, CHART, '--namespace', namespace, ...setStrings({ 'crds.enabled': false, ...values })]);
  if (result.status !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return result.stdout;
}

/**
 * The chart's NOTES.txt as `helm install --dry-run` prints it after the manifests (helm template leaves
 * NOTES.txt out). Nothing is installed; helm only asks the test apiserver whether the release exists.
 */
export function chartNotes(release: string, namespace: string, values: ChartValues): string {
  // Without our IngressClass: it is cluster-scoped, and the one another test's release installed would make
  // helm refuse this dry run (it will not adopt an object of another release); the notes do not depend on it.
  // Without the CRDs either: the same goes for them.
  const withoutClass = { ...values, 'ingressClass.enabled': false, 'crds.enabled': false };
  const result = helm(['install', release, CHART, '--dry-run=client', '--kubeconfig', testKubeconfigPath(), '--namespace', namespace, ...setStrings(withoutClass)]);
  if (result.status !== 0) throw new Error(`helm install --dry-run failed: ${result.stderr}`);
  const notes = result.stdout.split('\nNOTES:\n')[1];
  if (notes === undefined) throw new Error(`helm install --dry-run printed no NOTES: ${result.stdout.slice(-500)}`);
  return notes;
}

/** kubectl apply --server-side -f - (or -k DIR), as GitOps tools do; throws with kubectl's message on failure. */
export function apply(source: { yaml: string } | { kustomization: string }, extra: string[] = []): string {
  const args = ['apply', '--server-side', '--field-manager=install-test', ...extra];
  const result = 'yaml' in source ? kubectl([...args, '-f', '-'], source.yaml) : kubectl([...args, '-k', source.kustomization]);
  if (result.status !== 0) throw new Error(`kubectl apply ${extra.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

/** The objects of a multi-document YAML stream (helm or kustomize output). */
export function objectsOf(yaml: string): Array<{ kind: string; metadata: { name: string; namespace?: string }; [key: string]: any }> {
  return (loadAllYaml(yaml) as Array<ReturnType<typeof objectsOf>[number] | null>).filter((o): o is NonNullable<typeof o> => !!o && !!o.kind);
}

/** A kubeconfig (file readable by any uid, for containers) that authenticates as the ServiceAccount. */
export async function serviceAccountKubeconfig(namespace: string, name: string): Promise<{ path: string; token: string }> {
  const { core } = clients();
  const request = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const token = request.status?.token;
  if (!token) throw new Error(`TokenRequest for ServiceAccount ${namespace}/${name} returned no token`);
  const cluster = testKubeConfig().getCurrentCluster();
  if (!cluster?.caData) throw new Error('the test kubeconfig has no cluster CA');
  const dir = mkdtempSync(join(tmpdir(), 'gateway-sa-'));
  chmodSync(dir, 0o755);
  const path = join(dir, 'kubeconfig');
  writeFileSync(path, renderKubeconfig(cluster.server, cluster.caData, token), { mode: 0o644 });
  return { path, token };
}

/**
 * `kubectl auth can-i` as a ServiceAccount: true when allowed. `resource` may end in a subresource
 * (`ingresses.networking.k8s.io/status`): kubectl itself would read that as an object named "status".
 */
export function canI(serviceAccount: string, verb: string, resource: string, namespace?: string): boolean {
  const [kind, subresource] = resource.split('/');
  const args = ['auth', 'can-i', verb, kind ?? resource, `--as=system:serviceaccount:${serviceAccount}`];
  if (subresource) args.push(`--subresource=${subresource}`);
  if (namespace) args.push('--namespace', namespace);
  else args.push('--all-namespaces');
  const result = kubectl(args);
  if (result.stdout.trim() !== 'yes' && result.stdout.trim() !== 'no') throw new Error(`kubectl auth can-i ${verb} ${resource}: ${result.stderr}`);
  return result.stdout.trim() === 'yes';
}

/** Log lines that show the apiserver refused the operator something. */
export function forbiddenLines(lines: ReadonlyArray<Record<string, unknown>>): string[] {
  return lines.map((l) => JSON.stringify(l)).filter((text) => /forbidden|HTTP-Code: 403|"code":403|status code 403/i.test(text));
}

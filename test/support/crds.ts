// Installs the repo's CRDs and waits until the apiserver serves them (Established, then listable).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiextensionsV1Api,
  CustomObjectsApi,
  KubeConfig,
  loadAllYaml,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { waitFor } from './processes.js';

export function readCrds(dir: string): V1CustomResourceDefinition[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml')
    .sort()
    .flatMap((file) => loadAllYaml(readFileSync(join(dir, file), 'utf8')) as V1CustomResourceDefinition[]);
}

export async function installCrds(kubeconfigPath: string, dir: string): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const extensions = kc.makeApiClient(ApiextensionsV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  for (const crd of readCrds(dir)) {
    const name = crd.metadata?.name ?? '(unnamed)';
    try {
      await extensions.createCustomResourceDefinition({ body: crd });
    } catch (err) {
      throw new Error(`installing CRD ${name}: ${(err as Error).message}`);
    }
    await waitFor(`CRD ${name} Established`, async () => {
      const current = await extensions.readCustomResourceDefinition({ name });
      return current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
    });
    for (const version of crd.spec.versions.filter((v) => v.served)) {
      const target = { group: crd.spec.group, version: version.name, plural: crd.spec.names.plural };
      await waitFor(`${target.plural}.${target.group}/${target.version} served`, async () => {
        await custom.listClusterCustomObject({ ...target, limit: 1 });
        return true;
      });
    }
  }
}

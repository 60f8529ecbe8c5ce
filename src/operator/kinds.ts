// The Kubernetes kinds the operator watches, with what the informer needs to list and watch them.

export interface ResourceKind {
  /** "v1" for the core group, else "group/version". */
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

export const INGRESS: ResourceKind = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', plural: 'ingresses', namespaced: true };
export const INGRESS_CLASS: ResourceKind = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'IngressClass',
  plural: 'ingressclasses',
  namespaced: false,
};
export const SERVICE: ResourceKind = { apiVersion: 'v1', kind: 'Service', plural: 'services', namespaced: true };
export const CONFIG_MAP: ResourceKind = { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true };

/** The REST path of a group-version: /api/v1 for the core group, else /apis/group/version. */
export function apiVersionPath(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/** The REST collection path of `kind`, in one namespace or across all. */
export function collectionPath(kind: ResourceKind, namespace?: string): string {
  const base = apiVersionPath(kind.apiVersion);
  return kind.namespaced && namespace ? `${base}/namespaces/${namespace}/${kind.plural}` : `${base}/${kind.plural}`;
}

/** "namespace/name" for namespaced objects, "name" for cluster-scoped ones. */
export function objectKey(meta: { namespace?: string; name?: string }): string {
  return meta.namespace ? `${meta.namespace}/${meta.name ?? ''}` : (meta.name ?? '');
}

/** The keys of `objects`, for a watch that maps one change to the objects it concerns. */
export function keysOf(objects: Iterable<{ metadata?: { namespace?: string; name?: string } }>): string[] {
  return [...objects].map((object) => objectKey(object.metadata ?? {}));
}

export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return slash === -1 ? { namespace: '', name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

export const NAMESPACE: ResourceKind = { apiVersion: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false };

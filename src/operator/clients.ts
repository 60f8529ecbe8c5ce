// The typed calls the operator makes, each one request() (rest.ts) to a path built from encoded segments.
// They keep the method names and parameter objects of client-node's generated API classes, whose ~1.2 MB
// (classes, ~700 models, ObjectSerializer) the bundle no longer holds: only the calls used here exist.
// Model types are imported as types only (erased). Lease times are strings on the wire (see microTime).
import type { CoreV1Event, KubeConfig, V1ConfigMap, V1Lease, V1LeaseSpec, V1Namespace, V1Scale, VersionInfo } from '@kubernetes/client-node';
import { request, restPath, type RequestOptions } from './rest.js';

export const APPLY_PATCH = 'application/apply-patch+yaml';
export const MERGE_PATCH = 'application/merge-patch+json';
export type PatchContentType = typeof APPLY_PATCH | typeof MERGE_PATCH;

/**
 * A Lease time as the apiserver's MicroTime: RFC 3339 in UTC with 6 fractional digits, as client-node's
 * V1MicroTime wrote it ("2026-12-01T13:00:00.123000Z"; a Date holds milliseconds only).
 */
export function microTime(at: Date | number): string {
  return `${new Date(at).toISOString().slice(0, -1)}000Z`;
}

export type LeaseSpec = Omit<V1LeaseSpec, 'acquireTime' | 'renewTime'> & { acquireTime?: string; renewTime?: string };
export type Lease = Omit<V1Lease, 'spec'> & { spec?: LeaseSpec };

interface InNamespace {
  namespace: string;
}
interface Named extends InNamespace {
  name: string;
}
interface WithBody<T> {
  body: T;
}

const CORE_V1 = ['api', 'v1'];
const COORDINATION_V1 = ['apis', 'coordination.k8s.io', 'v1'];
const APPS_V1 = ['apis', 'apps', 'v1'];

/** async: an invalid segment rejects like a failed request (a caller's .catch() sees it), never throws. */
async function send<T>(kc: KubeConfig, method: string, segments: string[], options: Omit<RequestOptions, 'method'> = {}): Promise<T> {
  return request<T>(kc, restPath(...segments), { ...options, method });
}

/** read, create and replace of one namespaced resource `T`, under client-node's names (readNamespacedLease ...). */
type Namespaced<Kind extends string, T> = { [K in `readNamespaced${Kind}`]: (params: Named) => Promise<T> } & {
  [K in `createNamespaced${Kind}`]: (params: InNamespace & WithBody<T>) => Promise<T>;
} & { [K in `replaceNamespaced${Kind}`]: (params: Named & WithBody<T>) => Promise<T> };

function namespaced<Kind extends string, T>(
  kc: KubeConfig,
  kind: Kind,
  groupVersion: readonly string[],
  plural: string,
  { timeoutMs }: ClientOptions = {},
): Namespaced<Kind, T> {
  const path = (namespace: string, ...rest: string[]): string[] => [...groupVersion, 'namespaces', namespace, plural, ...rest];
  return {
    [`readNamespaced${kind}`]: ({ namespace, name }: Named) => send<T>(kc, 'GET', path(namespace, name), { timeoutMs }),
    [`createNamespaced${kind}`]: ({ namespace, body }: InNamespace & WithBody<T>) => send<T>(kc, 'POST', path(namespace), { body, timeoutMs }),
    [`replaceNamespaced${kind}`]: ({ namespace, name, body }: Named & WithBody<T>) => send<T>(kc, 'PUT', path(namespace, name), { body, timeoutMs }),
  } as Namespaced<Kind, T>;
}

export interface ClientOptions {
  /** How long one call may go without an answer (rest.ts's default, 60 s, unless told). */
  timeoutMs?: number;
}

export type CoreClient = Namespaced<'ConfigMap', V1ConfigMap> &
  Pick<Namespaced<'Event', CoreV1Event>, 'createNamespacedEvent'> & { readNamespace(params: { name: string }): Promise<V1Namespace> };

export function coreClient(kc: KubeConfig): CoreClient {
  return {
    ...namespaced<'ConfigMap', V1ConfigMap>(kc, 'ConfigMap', CORE_V1, 'configmaps'),
    createNamespacedEvent: namespaced<'Event', CoreV1Event>(kc, 'Event', CORE_V1, 'events').createNamespacedEvent,
    readNamespace: ({ name }) => send(kc, 'GET', [...CORE_V1, 'namespaces', name]),
  };
}

export type CoordinationClient = Namespaced<'Lease', Lease>;

/** Leader election passes its renew deadline as `timeoutMs`: a call hanging past it cannot keep a lease it lost. */
export function coordinationClient(kc: KubeConfig, options: ClientOptions = {}): CoordinationClient {
  return namespaced<'Lease', Lease>(kc, 'Lease', COORDINATION_V1, 'leases', options);
}

/** A Deployment's scale subresource. */
export interface AppsClient {
  readNamespacedDeploymentScale(params: Named): Promise<V1Scale>;
  replaceNamespacedDeploymentScale(params: Named & WithBody<V1Scale>): Promise<V1Scale>;
}

export function appsClient(kc: KubeConfig): AppsClient {
  const scale = ({ namespace, name }: Named): string[] => [...APPS_V1, 'namespaces', namespace, 'deployments', name, 'scale'];
  return {
    readNamespacedDeploymentScale: (params) => send(kc, 'GET', scale(params)),
    replaceNamespacedDeploymentScale: (params) => send(kc, 'PUT', scale(params), { body: params.body }),
  };
}

export interface VersionClient {
  getCode(): Promise<VersionInfo>;
}

export function versionClient(kc: KubeConfig): VersionClient {
  return { getCode: () => send(kc, 'GET', ['version']) };
}

export interface CustomObjectParams {
  group: string;
  version: string;
  plural: string;
  name: string;
  /** Absent for a cluster-scoped object. */
  namespace?: string;
}

export interface PatchParams extends CustomObjectParams, WithBody<object> {
  fieldManager?: string;
  force?: boolean;
  dryRun?: 'All';
}

export interface DeleteParams extends CustomObjectParams {
  /** DeleteOptions (preconditions, propagationPolicy). */
  body?: object;
}

/** Custom objects of any group, namespaced or cluster-scoped, and their /status. */
export class CustomObjectsClient {
  constructor(private readonly kc: KubeConfig) {}

  patchNamespacedCustomObject(params: PatchParams & InNamespace, contentType: PatchContentType): Promise<unknown> {
    return this.patch(params, contentType);
  }

  patchNamespacedCustomObjectStatus(params: PatchParams & InNamespace, contentType: PatchContentType): Promise<unknown> {
    return this.patch(params, contentType, 'status');
  }

  patchClusterCustomObject(params: PatchParams, contentType: PatchContentType): Promise<unknown> {
    return this.patch(params, contentType);
  }

  patchClusterCustomObjectStatus(params: PatchParams, contentType: PatchContentType): Promise<unknown> {
    return this.patch(params, contentType, 'status');
  }

  getNamespacedCustomObject(params: CustomObjectParams & InNamespace): Promise<unknown> {
    return send(this.kc, 'GET', objectPath(params));
  }

  getClusterCustomObject(params: CustomObjectParams): Promise<unknown> {
    return send(this.kc, 'GET', objectPath(params));
  }

  deleteNamespacedCustomObject(params: DeleteParams & InNamespace): Promise<unknown> {
    return this.remove(params);
  }

  deleteClusterCustomObject(params: DeleteParams): Promise<unknown> {
    return this.remove(params);
  }

  private remove({ body, ...object }: DeleteParams): Promise<unknown> {
    return send(this.kc, 'DELETE', objectPath(object), { body });
  }

  private patch({ body, fieldManager, force, dryRun, ...object }: PatchParams, contentType: PatchContentType, ...subresource: string[]): Promise<unknown> {
    return send(this.kc, 'PATCH', objectPath(object, ...subresource), { body, contentType, query: { fieldManager, force, dryRun } });
  }
}

function objectPath({ group, version, namespace, plural, name }: CustomObjectParams, ...subresource: string[]): string[] {
  return ['apis', group, version, ...(namespace === undefined ? [] : ['namespaces', namespace]), plural, name, ...subresource];
}

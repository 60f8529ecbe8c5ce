// Server-side apply of custom objects and of their /status, each under a named field manager, so the
// controllers that share an object own disjoint fields and never undo each other's writes.
import { APPLY_PATCH, type CustomObjectsClient } from './clients.js';

export interface CustomObjectRef {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespace?: string;
  name: string;
}

/** The apiserver's message from a KubeRequestError (its body is the response text, a Status JSON). */
/** Longest error body quoted in a message (a proxy's HTML page can be any length). */
const MAX_ERROR_BODY_CHARS = 4096;

export function apiErrorMessage(err: unknown): string {
  const body = (err as { body?: unknown }).body;
  if (typeof body === 'string' && body) {
    try {
      const status = JSON.parse(body) as { message?: string };
      if (status.message) return status.message.slice(0, MAX_ERROR_BODY_CHARS);
    } catch {
      return body.slice(0, MAX_ERROR_BODY_CHARS);
    }
  }
  return (err as Error).message ?? String(err);
}

export function apiErrorCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** An error that says which object and which operation failed. */
export class ObjectError extends Error {
  constructor(
    readonly ref: Pick<CustomObjectRef, 'kind' | 'namespace' | 'name'>,
    operation: string,
    cause: unknown,
  ) {
    super(`${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}: ${operation}: ${apiErrorMessage(cause)}`, { cause });
    this.name = 'ObjectError';
  }

  get code(): number | undefined {
    return apiErrorCode(this.cause);
  }
}

function target(ref: CustomObjectRef) {
  return { group: ref.group, version: ref.version, plural: ref.plural, name: ref.name };
}

async function apply<T>(api: CustomObjectsClient, ref: CustomObjectRef, body: object, fieldManager: string, status: boolean): Promise<T> {
  const params = { ...target(ref), body, fieldManager, force: true };
  try {
    if (ref.namespace) {
      const namespaced = { ...params, namespace: ref.namespace };
      return (await (status ? api.patchNamespacedCustomObjectStatus(namespaced, APPLY_PATCH) : api.patchNamespacedCustomObject(namespaced, APPLY_PATCH))) as T;
    }
    return (await (status ? api.patchClusterCustomObjectStatus(params, APPLY_PATCH) : api.patchClusterCustomObject(params, APPLY_PATCH))) as T;
  } catch (err) {
    throw new ObjectError(ref, status ? 'apply status' : 'apply', err);
  }
}

export function applyObject<T>(api: CustomObjectsClient, ref: CustomObjectRef, body: object, fieldManager: string): Promise<T> {
  return apply<T>(api, ref, body, fieldManager, false);
}

export function applyStatus<T>(api: CustomObjectsClient, ref: CustomObjectRef, body: object, fieldManager: string): Promise<T> {
  return apply<T>(api, ref, body, fieldManager, true);
}

/** The object as stored; undefined when it does not exist. */
export async function readObject<T>(api: CustomObjectsClient, ref: CustomObjectRef): Promise<T | undefined> {
  try {
    return (await (ref.namespace ? api.getNamespacedCustomObject({ ...target(ref), namespace: ref.namespace }) : api.getClusterCustomObject(target(ref)))) as T;
  } catch (err) {
    if (apiErrorCode(err) === 404) return undefined;
    throw new ObjectError(ref, 'read', err);
  }
}

/** Deletes the object; one that is already gone counts as deleted. */
export async function deleteObject(api: CustomObjectsClient, ref: CustomObjectRef, uid?: string): Promise<void> {
  try {
    const body = uid ? { preconditions: { uid } } : undefined;
    if (ref.namespace) await api.deleteNamespacedCustomObject({ ...target(ref), namespace: ref.namespace, body });
    else await api.deleteClusterCustomObject({ ...target(ref), body });
  } catch (err) {
    if (apiErrorCode(err) === 404) return;
    throw new ObjectError(ref, 'delete', err);
  }
}

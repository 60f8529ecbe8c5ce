// Event filters for watches, as controller-runtime's predicates: a watch enqueues only for the changes
// its controller acts on. Without them every status write of one controller wakes every controller that
// watches the same kind (the Ingress controller once reconciled once per Synced write).
import type { KubeObject } from './informer.js';

/** One informer event: the object now (the last state, when deleted) and before (absent on create). */
export interface WatchEvent<T> {
  object: T;
  previous: T | undefined;
  deleted: boolean;
}

export type Predicate<T> = (event: WatchEvent<T>) => boolean;

/** Metadata the predicates compare; every object the operator watches has it. */
interface Meta {
  uid?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: ReadonlyArray<{ uid?: string; controller?: boolean }>;
  deletionTimestamp?: string;
}

function meta(object: KubeObject | undefined): Meta {
  return (object?.metadata ?? {}) as Meta;
}

function sameRecord(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const left = Object.entries(a ?? {});
  if (left.length !== Object.keys(b ?? {}).length) return false;
  return left.every(([key, value]) => b?.[key] === value);
}

function ownersOf(m: Meta): string {
  return (m.ownerReferences ?? []).map((o) => `${o.uid ?? ''}:${o.controller === true}`).join(',');
}

/**
 * Creates, deletes, and updates that change metadata.generation (the spec): status-only writes pass by. A
 * new uid is a new object (deleted and created again while the watch was down, seen as one update).
 */
export const generationChanged: Predicate<KubeObject> = ({ object, previous, deleted }) =>
  deleted || previous === undefined || meta(object).generation !== meta(previous).generation || meta(object).uid !== meta(previous).uid;

/** Updates to labels, annotations, owners or the start of deletion: what no generation counts. */
export const metadataChanged: Predicate<KubeObject> = ({ object, previous, deleted }) => {
  if (deleted || previous === undefined) return true;
  const [now, before] = [meta(object), meta(previous)];
  return (
    !sameRecord(now.labels, before.labels) ||
    !sameRecord(now.annotations, before.annotations) ||
    ownersOf(now) !== ownersOf(before) ||
    now.deletionTimestamp !== before.deletionTimestamp
  );
};

/** Everything but a status write: the spec or the metadata changed, or the object came or went. */
export const specOrMetadataChanged: Predicate<KubeObject> = (event) => generationChanged(event) || metadataChanged(event);

export function anyOf<T>(...predicates: Predicate<T>[]): Predicate<T> {
  return (event) => predicates.some((p) => p(event));
}

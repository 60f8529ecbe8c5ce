// A shared informer for one kind, built on client-node's Watch but with the recovery client-node's own
// informer lacks: it restarts after any error with backoff (client-node's stops for good on non-410
// errors), relists every 10 minutes and when the watch has gone silent (1.4.0 can sit on a dead watch),
// and diffs each relist against its cache so deletes missed while disconnected are still delivered.
// Handlers only enqueue keys; their exceptions are logged, never swallowed.
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../log.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { forWatches } from './connections.js';
import { collectionPath, objectKey, type ResourceKind } from './kinds.js';
import { getJson, KubeRequestError } from './rest.js';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

export type ChangeHandler<T> = (object: T, previous: T | undefined, deleted: boolean) => void;

export interface InformerOptions {
  kind: ResourceKind;
  /** Watch only these namespaces (one list-watch each); all when undefined. */
  namespaces?: readonly string[];
  labelSelector?: string;
  relistIntervalMs?: number;
  watchTimeoutSeconds?: number;
  backoff?: BackoffOptions;
  logger: Logger;
  /** Called on every restart after an error, for metrics. */
  onRestart?: (kind: string, error: unknown) => void;
  /**
   * What the cache keeps of each object, computed once per new resourceVersion (e.g. only the part a
   * feature reads, parsed). Must keep metadata.name, namespace and resourceVersion.
   */
  transform?: (object: KubeObject) => KubeObject;
}

interface ObjectList<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}

/**
 * Objects per LIST page (client-go's reflector uses 500 too): a cluster-wide list of a large kind is read
 * and transformed a page at a time, never held whole as one body, one string and one parsed array.
 */
export const LIST_PAGE_SIZE = 500;
/** Lists started again after their continue token expired (410) before giving up until the next retry. */
const MAX_LIST_RESTARTS = 3;

/**
 * Index name → indexed value → object keys: one key as a plain string (most values name one object: an
 * Ingress's Service, a route's host + path; a Set each would cost ~300 bytes at 10,000 objects), a Set
 * from the second on.
 */
type Indexes = Map<string, Map<string, string | Set<string>>>;

function keysOf(entry: string | Set<string> | undefined): Iterable<string> {
  return entry === undefined ? [] : typeof entry === 'string' ? [entry] : entry;
}
export type IndexFunc<T> = (object: T) => string[];

const NAMESPACE_INDEX = 'namespace';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** resourceVersions are opaque, but etcd's are integers; anything else is never taken as newer. */
function isNewer(candidate: string | undefined, cached: string | undefined): boolean {
  if (!candidate || !/^\d+$/.test(candidate)) return false;
  if (!cached || !/^\d+$/.test(cached)) return false;
  return BigInt(candidate) > BigInt(cached);
}

/** Distinct strings the cache shares (see interned); past this many, new ones are kept as they are. */
const MAX_INTERNED = 4_096;
const internPool = new Map<string, string>();

/**
 * One shared copy of a string that repeats across cached objects (a condition's type, reason and message, an
 * apiVersion, a kind): JSON.parse makes a new copy for every object, ~6 MiB of duplicates at 10,000
 * GatewayRoutes. Bounded: a value seen after the pool is full is not shared.
 */
function interned<V>(value: V): V {
  if (typeof value !== 'string') return value;
  const known = internPool.get(value);
  if (known !== undefined) return known as V;
  if (internPool.size < MAX_INTERNED) internPool.set(value, value);
  return value;
}

type Shareable = { apiVersion?: string; kind?: string; type?: string; status?: string; reason?: string; message?: string };

function internFields(object: Shareable, fields: ReadonlyArray<keyof Shareable>): void {
  for (const field of fields) if (typeof object[field] === 'string') object[field] = interned(object[field]);
}

/**
 * What no controller reads and a cache should not keep: field ownership and kubectl's copy of the object; and
 * the repeating strings shared. Metadata is rebuilt without them rather than `delete`d from: a deletion turns
 * an object into a slow dictionary about three times its size (4.5 MiB of metadata per 10,000 objects).
 */
function trim<T extends KubeObject>(object: T): T {
  const metadata = object.metadata as (Record<string, unknown> & { annotations?: Record<string, string>; ownerReferences?: Shareable[] }) | undefined;
  if (metadata) {
    const { managedFields: _managedFields, ...kept } = metadata;
    if (kept.annotations && LAST_APPLIED in kept.annotations) {
      const { [LAST_APPLIED]: _lastApplied, ...annotations } = kept.annotations;
      kept.annotations = annotations;
    }
    for (const owner of kept.ownerReferences ?? []) internFields(owner, ['apiVersion', 'kind']);
    (object as { metadata?: unknown }).metadata = kept;
  }
  internFields(object as Shareable, ['apiVersion', 'kind']);
  const conditions = (object as { status?: { conditions?: unknown } }).status?.conditions;
  if (Array.isArray(conditions)) for (const condition of conditions as Shareable[]) internFields(condition, ['type', 'status', 'reason', 'message']);
  return object;
}

export class Informer<T extends KubeObject> {
  private readonly store = new Map<string, T>();
  private readonly handlers: ChangeHandler<T>[] = [];
  private readonly scopes: ListWatch<T>[];
  private readonly indexers = new Map<string, IndexFunc<T>>();
  private readonly indexes: Indexes = new Map();

  constructor(kc: KubeConfig, readonly options: InformerOptions) {
    const namespaces = options.kind.namespaced && options.namespaces?.length ? options.namespaces : [undefined];
    this.scopes = namespaces.map((namespace) => new ListWatch<T>(kc, this, namespace));
    this.addIndex(NAMESPACE_INDEX, (o) => [o.metadata?.namespace ?? '']);
  }

  get kind(): string {
    return this.options.kind.kind;
  }

  onChange(handler: ChangeHandler<T>): void {
    this.handlers.push(handler);
  }

  /**
   * Keeps objects findable by a derived value (as controller-runtime's field indexers do), so handlers
   * look up what an event concerns instead of scanning the cache.
   */
  addIndex(name: string, index: IndexFunc<T>): void {
    // Two features registering one name would silently answer each other's lookups.
    if (this.indexers.has(name)) throw new Error(`the ${this.kind} informer already has an index named "${name}"`);
    this.indexers.set(name, index);
    this.indexes.set(name, new Map());
    for (const [key, object] of this.store) this.indexObject(key, object, 1);
  }

  byIndex(name: string, value: string): T[] {
    const found: T[] = [];
    for (const key of keysOf(this.indexes.get(name)?.get(value))) {
      const object = this.store.get(key);
      if (object) found.push(object);
    }
    return found;
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(namespace?: string): T[] {
    return namespace === undefined ? [...this.store.values()] : this.byIndex(NAMESPACE_INDEX, namespace);
  }

  start(): void {
    for (const scope of this.scopes) scope.start();
  }

  stop(): void {
    for (const scope of this.scopes) scope.stop();
  }

  hasSynced(): boolean {
    return this.scopes.every((scope) => scope.synced);
  }

  /** @internal */ keys(namespace: string | undefined): string[] {
    return namespace === undefined ? [...this.store.keys()] : [...keysOf(this.indexes.get(NAMESPACE_INDEX)?.get(namespace))];
  }

  /**
   * Read-your-writes: an object this process just wrote (the apiserver's answer) enters the cache now, not
   * a watch round trip later, so the controllers that react to it start at once. Never replaces a newer
   * cached version; the watch event that follows carries the same resourceVersion and changes nothing.
   */
  observe(object: T): void {
    const cached = this.store.get(objectKey(object.metadata ?? {}));
    if (cached && !isNewer(object.metadata?.resourceVersion, cached.metadata?.resourceVersion)) return;
    this.upsert(object);
  }

  /** @internal */ upsert(object: T): void {
    const key = objectKey(object.metadata ?? {});
    const previous = this.store.get(key);
    if (previous && previous.metadata?.resourceVersion === object.metadata?.resourceVersion) return; // unchanged (relist)
    if (previous) this.indexObject(key, previous, -1);
    const kept = this.kept(object);
    this.store.set(key, kept);
    this.indexObject(key, kept, 1);
    this.notify(kept, previous, false);
  }

  /** @internal */ remove(key: string, last?: T): void {
    const previous = this.store.get(key);
    if (!previous) return;
    this.store.delete(key);
    this.indexObject(key, previous, -1);
    this.notify(last ? this.kept(last) : previous, previous, true);
  }

  private kept(object: T): T {
    const trimmed = trim(object);
    return this.options.transform ? (this.options.transform(trimmed) as T) : trimmed;
  }

  private indexObject(key: string, object: T, direction: 1 | -1): void {
    for (const [name, index] of this.indexers) {
      const values = this.indexes.get(name)!;
      for (const value of index(object)) {
        const keys = values.get(value);
        if (direction === 1) {
          if (keys === undefined || keys === key) values.set(value, key);
          else if (typeof keys === 'string') values.set(value, new Set([keys, key]));
          else keys.add(key);
        } else if (keys === key) {
          values.delete(value);
        } else if (typeof keys === 'object') {
          keys.delete(key);
          if (keys.size === 1) values.set(value, keys.values().next().value as string);
        }
      }
    }
  }

  private notify(object: T, previous: T | undefined, deleted: boolean): void {
    for (const handler of this.handlers) {
      try {
        handler(object, previous, deleted);
      } catch (err) {
        this.options.logger.error('informer handler failed', { controller: `informer/${this.kind}`, err });
      }
    }
  }
}

/** One list + watch loop over one namespace (or all). */
class ListWatch<T extends KubeObject> {
  synced = false;
  private stopped = true;
  private resourceVersion = '';
  private generation = 0;
  private abort?: AbortController;
  private lastActivity = Date.now();
  private lastList = 0;
  private watchdog?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private readonly backoff: Backoff;
  private readonly watch: Watch;
  private readonly path: string;

  constructor(
    private readonly kc: KubeConfig,
    private readonly informer: Informer<T>,
    private readonly namespace: string | undefined,
  ) {
    this.watch = new Watch(forWatches(kc)); // long-lived: never in the way of requests
    this.path = collectionPath(informer.options.kind, namespace);
    this.backoff = new Backoff(informer.options.backoff ?? { initialMs: 500, maxMs: 15_000, factor: 2, jitter: 0.25 });
  }

  private get options(): InformerOptions {
    return this.informer.options;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const relistMs = this.options.relistIntervalMs ?? 10 * 60_000;
    const silenceMs = ((this.options.watchTimeoutSeconds ?? 300) + 60) * 1000;
    this.watchdog = setInterval(() => {
      const now = Date.now();
      if (now - this.lastList > relistMs) this.restart('periodic relist');
      else if (now - this.lastActivity > silenceMs) this.restart('watch silent too long');
    }, Math.min(15_000, relistMs));
    this.watchdog.unref();
    void this.listAndWatch();
  }

  stop(): void {
    this.stopped = true;
    this.generation++;
    clearInterval(this.watchdog);
    clearTimeout(this.retryTimer);
    this.abort?.abort();
    this.abort = undefined;
  }

  restart(why: string): void {
    if (this.stopped) return;
    this.options.logger.debug('informer relisting', { controller: `informer/${this.informer.kind}`, reason: why, namespace: this.namespace });
    this.generation++;
    this.abort?.abort();
    this.abort = undefined;
    this.resourceVersion = '';
    clearTimeout(this.retryTimer);
    void this.listAndWatch();
  }

  private async listAndWatch(): Promise<void> {
    const generation = ++this.generation;
    try {
      if (!this.resourceVersion) await this.list(generation);
      if (generation !== this.generation) return;
      this.lastActivity = Date.now();
      const query: Record<string, string | number | boolean> = {
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: this.options.watchTimeoutSeconds ?? 300,
      };
      if (this.options.labelSelector) query.labelSelector = this.options.labelSelector;
      const abort = await this.watch.watch(
        this.path,
        query,
        (phase, object: T & { code?: number }) => this.onEvent(generation, phase, object),
        (err) => this.onDone(generation, err),
      );
      if (generation === this.generation) this.abort = abort;
      else abort.abort();
    } catch (err) {
      this.onDone(generation, err);
    }
  }

  /**
   * Lists in pages (limit, then metadata.continue), each page's objects entering the cache (transformed) before
   * the next is asked for. A continue token that expired (410) restarts the list from the first page. The
   * watch then starts from the list's resourceVersion, the last page's (as client-go's reflector does).
   */
  private async list(generation: number): Promise<void> {
    const query: Record<string, string> = { limit: String(LIST_PAGE_SIZE) };
    if (this.options.labelSelector) query.labelSelector = this.options.labelSelector;
    const { apiVersion, kind } = this.options.kind;
    let seen = new Set<string>();
    let resourceVersion = '';
    let next: string | undefined;
    let restarts = 0;
    let pages = 0;
    for (;;) {
      let page: ObjectList<T>;
      try {
        page = await getJson<ObjectList<T>>(this.kc, this.path, next ? { ...query, continue: next } : query);
      } catch (err) {
        if (next === undefined || (err as KubeRequestError).statusCode !== 410 || ++restarts > MAX_LIST_RESTARTS) throw err;
        this.options.logger.debug('list continue token expired, listing again', { controller: `informer/${this.informer.kind}`, namespace: this.namespace });
        [seen, next, pages] = [new Set(), undefined, 0];
        continue;
      }
      if (generation !== this.generation) return;
      pages++;
      for (const item of page.items) {
        const object = { apiVersion, kind, ...item } as T;
        seen.add(objectKey(object.metadata ?? {}));
        this.informer.upsert(object);
      }
      resourceVersion = page.metadata?.resourceVersion ?? '';
      next = page.metadata?.continue || undefined;
      if (next === undefined) break;
    }
    for (const key of this.informer.keys(this.namespace)) if (!seen.has(key)) this.informer.remove(key);
    this.options.logger.debug('informer listed', { controller: `informer/${this.informer.kind}`, namespace: this.namespace, objects: seen.size, pages, resourceVersion });
    this.resourceVersion = resourceVersion;
    this.lastList = Date.now();
    this.synced = true;
  }

  private onEvent(generation: number, phase: string, object: T & { code?: number }): void {
    if (generation !== this.generation) return;
    this.lastActivity = Date.now();
    switch (phase) {
      case 'ADDED':
      case 'MODIFIED':
        this.informer.upsert(object);
        break;
      case 'DELETED':
        this.informer.remove(objectKey(object.metadata ?? {}), object);
        break;
      case 'ERROR':
        // 410 Gone: our resourceVersion is too old; the server ends the watch and we relist.
        if (object.code === 410) this.resourceVersion = '';
        return;
      case 'BOOKMARK':
        break;
      default:
        return;
    }
    this.backoff.reset();
    if (object.metadata?.resourceVersion) this.resourceVersion = object.metadata.resourceVersion;
  }

  private onDone(generation: number, err: unknown): void {
    if (generation !== this.generation || this.stopped) return; // a watch we replaced or stopped on purpose
    if (!err) {
      void this.listAndWatch(); // the server closed the watch (timeoutSeconds): resume from resourceVersion
      return;
    }
    const status = (err as KubeRequestError).statusCode ?? (err as { code?: number }).code;
    if (status === 410) {
      this.resourceVersion = '';
      void this.listAndWatch();
      return;
    }
    const delay = this.backoff.next();
    this.options.onRestart?.(this.informer.kind, err);
    this.options.logger.warn('watch failed, restarting', {
      controller: `informer/${this.informer.kind}`,
      namespace: this.namespace,
      err,
      retryInMs: delay,
    });
    this.resourceVersion = ''; // relist after an error: anything may have changed meanwhile
    this.retryTimer = setTimeout(() => void this.listAndWatch(), delay);
    this.retryTimer.unref();
  }
}

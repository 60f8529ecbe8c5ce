// What features register with, as controller-runtime's manager: shared informers (one per kind and scope,
// however many features read that kind), the API clients, the event recorder, the controllers built with
// controller() and the runnables added with add(). Each feature has a `setup(manager, options)`; the
// manager owns every lifecycle: runnables that need no leadership start at once, the rest once this
// replica leads (informers, then, with every cache synced, controllers, then leader-gated runnables),
// and stop() ends them in reverse.
import type { KubeConfig } from '@kubernetes/client-node';
import { coreClient, CustomObjectsClient, type CoreClient } from './clients.js';
import type { Logger } from '../log.js';
import { metrics } from '../metrics.js';
import { Controller, type Reconciler } from './controller.js';
import type { EventRecorder } from './events.js';
import { Informer, type KubeObject } from './informer.js';
import { apiVersionPath, objectKey, type ResourceKind } from './kinds.js';
import type { LeaderElector } from './leader-election.js';
import type { Predicate } from './predicates.js';
import type { WorkQueueOptions } from './queue.js';
import { getJson, KubeRequestError } from './rest.js';

export interface ManagerOptions {
  kc: KubeConfig;
  events: EventRecorder;
  logger: Logger;
  /** --watch-namespaces: the namespaces of "watched" informers (all when empty). */
  watchNamespaces: readonly string[];
  /** With leader election, leader-gated work starts only while this replica holds the Lease. */
  elector?: LeaderElector;
  /**
   * The leader work cannot go on (the Lease was lost, or starting it failed): the process must end; its
   * caches and queues may be behind the new leader's. `reason` says which.
   */
  onFatal?: (reason: string) => void;
}

export interface InformerScope {
  /** Only --watch-namespaces (namespaced kinds). Default false: the whole cluster. */
  watched?: boolean;
  labelSelector?: string;
  /** What the cache keeps of each object (InformerOptions.transform); the name tells informers apart. */
  transform?: { name: string; keep: (object: KubeObject) => KubeObject };
}

/** Something with a lifecycle the manager drives (a socket, a timer, a server). */
export interface Runnable {
  name: string;
  /** Default true: starts once this replica leads and every cache has synced. False: at manager start. */
  needLeaderElection?: boolean;
  /** `signal` aborts when the manager stops. */
  start(signal: AbortSignal): void | Promise<void>;
  stop?(): void | Promise<void>;
}

/** An informer whose changes enqueue keys of a controller: its own key unless `map` says which. */
export interface Watch<T extends KubeObject> {
  informer: Informer<T>;
  /** The keys to reconcile for this change; default: the object's own "namespace/name". */
  map?: (object: T, previous: T | undefined, deleted: boolean) => Iterable<string>;
  predicate?: Predicate<T>;
}

export interface ControllerSpec<T extends KubeObject> {
  name: string;
  /** The primary kind: a change enqueues the object's own key. */
  for?: Omit<Watch<T>, 'map'>;
  /** Each watch has a kind of its own (checked where it is written, with watch()). */
  watches?: ReadonlyArray<Watch<any>>;
  /**
   * Events from outside the apiserver (the control-plane socket), as controller-runtime's source.Channel:
   * each is called once with the controller's enqueue.
   */
  sources?: ReadonlyArray<(enqueue: (key: string) => void) => void>;
  reconcile: Reconciler;
  /** Keys reconciled once at start whether or not an event names them (a singleton that may not exist yet). */
  initialKeys?: readonly string[];
  concurrency?: number;
  retry?: WorkQueueOptions['retry'];
}

/** Typed constructor of a watch, so `map` and `predicate` are checked against the informer's kind. */
export function watch<T extends KubeObject>(w: Watch<T>): Watch<T> {
  return w;
}

const CACHE_POLL_MS = 50;

export class Manager {
  readonly custom: CustomObjectsClient;
  readonly core: CoreClient;
  readonly events: EventRecorder;
  readonly logger: Logger;
  /** The manager's own log lines. */
  private readonly log: Logger;
  readonly controllers: Controller[] = [];
  private readonly runnables: Runnable[] = [];
  private readonly initialKeys = new Map<Controller, readonly string[]>();
  /** Each controller's primary informer, to enqueue its objects at the start of the leader work. */
  private readonly primaries = new Map<Controller, Informer<KubeObject>>();
  private readonly informers = new Map<string, Informer<KubeObject>>();
  /** Informers every replica runs, leader or not (what a standby's tunnel boundary is computed from). */
  private readonly everyReplica = new Set<Informer<KubeObject>>();
  private readonly discovery = new Map<string, Promise<Set<string>>>();
  private readonly stopping = new AbortController();
  private readonly started: Runnable[] = [];
  private leading = false;
  private working = false;

  constructor(private readonly options: ManagerOptions) {
    this.custom = new CustomObjectsClient(options.kc);
    this.core = coreClient(options.kc);
    this.events = options.events;
    this.logger = options.logger;
    this.log = options.logger.child({ controller: 'manager' });
  }

  /** The one informer of `kind` in this scope, created on first use. */
  informer<T extends KubeObject>(kind: ResourceKind, scope: InformerScope = {}): Informer<T> {
    const namespaces = scope.watched && kind.namespaced && this.options.watchNamespaces.length ? [...this.options.watchNamespaces] : undefined;
    const id = `${kind.apiVersion}/${kind.plural} ${namespaces?.join(',') ?? '*'} ${scope.labelSelector ?? ''} ${scope.transform?.name ?? ''}`;
    let informer = this.informers.get(id);
    if (!informer) {
      informer = new Informer<KubeObject>(this.options.kc, {
        kind,
        logger: this.logger,
        namespaces,
        labelSelector: scope.labelSelector,
        transform: scope.transform?.keep,
        onRestart: (k) => metrics.informerRestarts.inc({ kind: k }),
      });
      this.informers.set(id, informer);
      metrics.informerRestarts.inc({ kind: kind.kind }, 0); // the series exists from the start: rate() sees the first restart
    }
    return informer as unknown as Informer<T>;
  }

  /**
   * Builds and registers a controller: its primary kind and every watch enqueue through their predicates,
   * and the manager starts it (leader-gated, caches synced) and stops it.
   */
  controller<T extends KubeObject>(spec: ControllerSpec<T>): Controller {
    const controller = new Controller({ name: spec.name, reconcile: spec.reconcile, logger: this.logger, concurrency: spec.concurrency, retry: spec.retry });
    const watches: Array<Watch<KubeObject>> = [...(spec.for ? [spec.for as unknown as Watch<KubeObject>] : []), ...(spec.watches ?? [])];
    // Nothing is queued before the controller runs: a standby's informers (run for its tunnel) would otherwise
    // fill its queue with every key they ever saw. At its start every primary object is enqueued (startLeaderWork),
    // which covers every event it did not see; secondary watches map to primaries.
    const enqueue = (key: string): void => {
      if (controller.running) controller.enqueue(key);
    };
    for (const { informer, map, predicate } of watches) {
      informer.onChange((object, previous, deleted) => {
        if (predicate && !predicate({ object, previous, deleted })) return;
        for (const key of map ? map(object, previous, deleted) : [objectKey(object.metadata ?? {})]) enqueue(key);
      });
    }
    for (const source of spec.sources ?? []) source(enqueue);
    if (spec.for) this.primaries.set(controller, spec.for.informer as unknown as Informer<KubeObject>);
    if (spec.initialKeys?.length) this.initialKeys.set(controller, spec.initialKeys);
    this.controllers.push(controller);
    return controller;
  }

  add(runnable: Runnable): void {
    this.runnables.push(runnable);
  }

  /** Whether the apiserver serves every one of these kinds (a CRD may not be installed). */
  async serves(kinds: readonly ResourceKind[]): Promise<boolean> {
    for (const kind of kinds) {
      if (!(await this.servedResources(kind.apiVersion)).has(kind.plural)) return false;
    }
    return true;
  }

  /** The resources one group-version serves, asked of the apiserver once per start (discovery). */
  private servedResources(apiVersion: string): Promise<Set<string>> {
    let served = this.discovery.get(apiVersion);
    if (!served) {
      served = getJson<{ resources?: Array<{ name: string }> }>(this.options.kc, apiVersionPath(apiVersion)).then(
        (list) => new Set((list.resources ?? []).map((r) => r.name)),
        (err: unknown) => {
          if (err instanceof KubeRequestError && err.statusCode === 404) return new Set<string>();
          this.discovery.delete(apiVersion); // a failure is not an answer: ask again next time
          throw err;
        },
      );
      this.discovery.set(apiVersion, served);
    }
    return served;
  }

  allInformers(): Informer<KubeObject>[] {
    return [...this.informers.values()];
  }

  /**
   * Runs `informer` on every replica from the manager's start, not only once leading: for work a standby
   * does too (the tunnel's boundary). Runnables that need no leadership start once these have synced.
   */
  runOnEveryReplica<T extends KubeObject>(informer: Informer<T>): Informer<T> {
    this.everyReplica.add(informer as unknown as Informer<KubeObject>);
    return informer;
  }

  informersOfEveryReplica(): Informer<KubeObject>[] {
    return [...this.everyReplica];
  }

  /** Whether leader-gated work runs here: this replica leads (or elects no leader) and has started it. */
  get isWorking(): boolean {
    return this.working;
  }

  /** Whether this replica holds the Lease (always, without leader election). */
  get isLeader(): boolean {
    return this.options.elector ? this.leading : true;
  }

  /** Starts what needs no leadership now and the rest once leading; returns when the former have started. */
  async start(): Promise<void> {
    if (this.stopping.signal.aborted) return;
    for (const informer of this.everyReplica) informer.start();
    await this.untilSynced([...this.everyReplica]);
    for (const runnable of this.runnables.filter((r) => r.needLeaderElection === false)) await this.startRunnable(runnable);
    const { elector } = this.options;
    if (!elector) {
      this.setLeading(true);
      return this.startLeaderWork();
    }
    elector.run({
      onStartedLeading: () => {
        this.setLeading(true);
        void this.startLeaderWork().catch((err: unknown) => {
          this.options.onFatal?.(`starting the leader work failed: ${(err as Error).message}`);
        });
      },
      onStoppedLeading: () => {
        this.setLeading(false);
        this.options.onFatal?.('lost the leader lease');
      },
    });
  }

  /** The one place leadership changes: the flag and the leader gauge move together. */
  private setLeading(leading: boolean): void {
    this.leading = leading;
    metrics.leader.set(leading ? 1 : 0);
  }

  private async startLeaderWork(): Promise<void> {
    if (this.working || this.stopping.signal.aborted) return;
    this.working = true;
    for (const informer of this.informers.values()) informer.start();
    // Reconcile only against complete caches (an object missing from a half-filled cache looks new), and
    // start runnables (the control-plane socket) only then, so the first snapshot holds every route.
    const since = Date.now();
    await this.untilSynced([...this.informers.values()]);
    if (this.stopping.signal.aborted) return;
    this.log.info('caches synced', { ms: Date.now() - since });
    for (const controller of this.controllers) {
      controller.start();
      for (const key of this.initialKeys.get(controller) ?? []) controller.enqueue(key);
      for (const object of this.primaries.get(controller)?.list() ?? []) controller.enqueue(objectKey(object.metadata ?? {}));
    }
    for (const runnable of this.runnables.filter((r) => r.needLeaderElection !== false)) await this.startRunnable(runnable);
  }

  private async untilSynced(informers: Informer<KubeObject>[]): Promise<void> {
    while (!informers.every((i) => i.hasSynced()) && !this.stopping.signal.aborted) await new Promise((r) => setTimeout(r, CACHE_POLL_MS));
  }

  private async startRunnable(runnable: Runnable): Promise<void> {
    if (this.stopping.signal.aborted) return;
    this.started.push(runnable);
    await runnable.start(this.stopping.signal);
  }

  /**
   * The start of a drain: the leader work stops (controllers, their reconciles aborted; leader-gated runnables
   * in reverse) and the Lease is released at once, so a standby takes over the route sync while this replica
   * still finishes the requests it carries. Idempotent.
   */
  async stopLeaderWork(timeoutMs = 3_000): Promise<void> {
    if (this.stopping.signal.aborted) return;
    this.stopping.abort(new Error('the manager is stopping'));
    this.setLeading(false); // from now on a standby may take over; /api/health/detailed and the leader gauge say so
    await Promise.all(this.controllers.map((c) => c.stop(timeoutMs)));
    await this.stopRunnables((r) => r.needLeaderElection !== false);
    await this.options.elector?.release();
  }

  /** Graceful stop, bounded in time: the leader work and the Lease (above), the other runnables in reverse, informers. */
  async stop(timeoutMs = 3_000): Promise<void> {
    await this.stopLeaderWork(timeoutMs);
    await this.stopRunnables(() => true);
    for (const informer of this.informers.values()) informer.stop();
  }

  private async stopRunnables(which: (runnable: Runnable) => boolean): Promise<void> {
    const stopping = this.started.filter(which).reverse();
    this.started.splice(0, this.started.length, ...this.started.filter((r) => !which(r)));
    for (const runnable of stopping) {
      try {
        await runnable.stop?.();
      } catch (err) {
        this.log.warn('stopping failed', { runnable: runnable.name, err });
      }
    }
  }
}

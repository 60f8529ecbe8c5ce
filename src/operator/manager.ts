// What features register with, as controller-runtime's manager: shared informers (one per kind and scope,
// however many features read that kind), the API clients, the event recorder, and the controllers it starts
// once every cache has synced and stops on shutdown. Each feature has a `setup(manager, options)`.
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../log.js';
import { metrics } from '../metrics.js';
import type { Controller } from './controller.js';
import type { EventRecorder } from './events.js';
import { Informer, type KubeObject } from './informer.js';
import { apiVersionPath, type ResourceKind } from './kinds.js';
import { getJson, KubeRequestError } from './rest.js';

export interface ManagerOptions {
  kc: KubeConfig;
  events: EventRecorder;
  logger: Logger;
  /** --watch-namespaces: the namespaces of "watched" informers (all when empty). */
  watchNamespaces: readonly string[];
}

export interface InformerScope {
  /** Only --watch-namespaces (namespaced kinds). Default false: the whole cluster. */
  watched?: boolean;
  labelSelector?: string;
}

export class Manager {
  readonly custom: CustomObjectsApi;
  readonly core: CoreV1Api;
  readonly events: EventRecorder;
  readonly logger: Logger;
  readonly controllers: Controller[] = [];
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private readonly discovery = new Map<string, Promise<Set<string>>>();

  constructor(private readonly options: ManagerOptions) {
    this.custom = options.kc.makeApiClient(CustomObjectsApi);
    this.core = options.kc.makeApiClient(CoreV1Api);
    this.events = options.events;
    this.logger = options.logger;
  }

  /** The one informer of `kind` in this scope, created on first use. */
  informer<T extends KubeObject>(kind: ResourceKind, scope: InformerScope = {}): Informer<T> {
    const namespaces = scope.watched && kind.namespaced && this.options.watchNamespaces.length ? [...this.options.watchNamespaces] : undefined;
    const id = `${kind.apiVersion}/${kind.plural} ${namespaces?.join(',') ?? '*'} ${scope.labelSelector ?? ''}`;
    let informer = this.informers.get(id);
    if (!informer) {
      informer = new Informer<KubeObject>(this.options.kc, {
        kind,
        logger: this.logger,
        namespaces,
        labelSelector: scope.labelSelector,
        onRestart: (k) => metrics.informerRestarts.inc({ kind: k }),
      });
      this.informers.set(id, informer);
    }
    return informer as unknown as Informer<T>;
  }

  add(controller: Controller): void {
    this.controllers.push(controller);
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

  startInformers(): void {
    for (const informer of this.informers.values()) informer.start();
  }

  hasSynced(): boolean {
    return [...this.informers.values()].every((i) => i.hasSynced());
  }

  startControllers(): void {
    for (const controller of this.controllers) controller.start();
  }

  async stopControllers(timeoutMs: number): Promise<void> {
    await Promise.all(this.controllers.map((c) => c.stop(timeoutMs)));
  }

  stopInformers(): void {
    for (const informer of this.informers.values()) informer.stop();
  }
}

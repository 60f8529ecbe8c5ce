// A controller is a named work queue plus a level-triggered reconcile(key): events only say which key
// changed, reconcile reads the current state from the caches and converges. Errors are logged once
// here, with the key, and retried with per-key backoff. Built by Manager.controller(), never by hand.
import type { Logger } from '../log.js';
import { metrics } from '../metrics.js';
import { splitKey } from './kinds.js';
import { WorkQueue, type ReconcileResult, type WorkQueueOptions } from './queue.js';

/** Reconciles one key; `signal` aborts when the controller stops (the reconcile should not start writes then). */
export type Reconciler = (key: string, signal: AbortSignal) => Promise<ReconcileResult>;

export interface ControllerOptions {
  name: string;
  reconcile: Reconciler;
  logger: Logger;
  concurrency?: number;
  retry?: WorkQueueOptions['retry'];
}

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly stopping = new AbortController();
  private depthTimer?: NodeJS.Timeout;

  constructor(options: ControllerOptions) {
    const { name } = options;
    const logger = options.logger.child({ controller: name });
    this.name = name;
    this.queue = new WorkQueue((key) => options.reconcile(key, this.stopping.signal), {
      concurrency: options.concurrency ?? 4,
      retry: options.retry,
      observer: {
        latency: (seconds) => metrics.queueLatency.observe({ controller: name }, seconds),
        reconciled: (seconds, failed) => {
          metrics.reconcileDuration.observe({ controller: name }, seconds);
          metrics.reconciles.inc({ controller: name, result: failed ? 'error' : 'success' });
        },
        retry: (key, err, delayMs, attempt) => {
          const { namespace, name: objectName } = splitKey(key);
          const level = attempt > 5 ? 'error' : 'warn';
          logger.log(level, 'reconcile failed, retrying', { namespace, name: objectName, err, attempt, retryInMs: delayMs });
        },
      },
    });
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  /** Started (and not stopped): events are queued only from then on (see Manager.controller). */
  running = false;

  start(): void {
    this.running = true;
    this.depthTimer = setInterval(() => metrics.queueDepth.set({ controller: this.name }, this.queue.depth), 1_000);
    this.depthTimer.unref();
    this.queue.start();
  }

  /** Aborts the reconciles in flight (their signal) and waits up to `timeoutMs` for them to end. */
  async stop(timeoutMs?: number): Promise<void> {
    this.running = false;
    clearInterval(this.depthTimer);
    this.stopping.abort(new Error(`controller ${this.name} is stopping`));
    await this.queue.shutdown(timeoutMs);
  }
}

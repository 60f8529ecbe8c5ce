// A controller is a named work queue plus a level-triggered reconcile(key): events only say which key
// changed, reconcile reads the current state from the caches and converges. Errors are logged once
// here, with the key, and retried with per-key backoff.
import type { Logger } from '../log.js';
import { metrics } from '../metrics.js';
import { splitKey } from './kinds.js';
import { WorkQueue, type ReconcileResult, type WorkQueueOptions } from './queue.js';

export interface ControllerOptions {
  name: string;
  reconcile: (key: string) => Promise<ReconcileResult>;
  logger: Logger;
  concurrency?: number;
  retry?: WorkQueueOptions['retry'];
}

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly depthTimer: NodeJS.Timeout;

  constructor(options: ControllerOptions) {
    const { name, logger } = options;
    this.name = name;
    this.queue = new WorkQueue(options.reconcile, {
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
          logger.log(level, 'reconcile failed, retrying', { controller: name, namespace, name: objectName, err, attempt, retryInMs: delayMs });
        },
      },
    });
    this.depthTimer = setInterval(() => metrics.queueDepth.set({ controller: name }, this.queue.depth), 1_000);
    this.depthTimer.unref();
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  start(): void {
    this.queue.start();
  }

  async stop(timeoutMs?: number): Promise<void> {
    clearInterval(this.depthTimer);
    await this.queue.shutdown(timeoutMs);
  }
}

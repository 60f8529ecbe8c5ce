// Keyed work queue in the client-go style: a key waits in the queue at most once (duplicate adds
// coalesce), one reconcile per key at a time (a key added while it runs is re-queued when it ends),
// bounded concurrency across keys, and per-key exponential retries that reset on success.
import { backoffDelay, type BackoffOptions } from './backoff.js';

export type ReconcileResult = void | { requeueAfterMs?: number };
export type ReconcileFn = (key: string) => Promise<ReconcileResult>;

export interface QueueObserver {
  /** Seconds from the (first) add to the start of its reconcile. */
  latency?(seconds: number): void;
  /** Seconds one reconcile took, and whether it failed. */
  reconciled?(seconds: number, failed: boolean): void;
  /** A failed key is retried after `delayMs`. */
  retry?(key: string, error: unknown, delayMs: number, attempt: number): void;
}

export interface WorkQueueOptions {
  concurrency?: number;
  retry?: BackoffOptions;
  observer?: QueueObserver;
}

export const DEFAULT_RETRY: BackoffOptions = { initialMs: 5, maxMs: 5 * 60_000, factor: 2 };

export class WorkQueue {
  private readonly pending: string[] = [];
  private readonly queued = new Map<string, number>(); // key -> time first added
  private readonly processing = new Set<string>();
  private readonly dirtyWhileProcessing = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<string, number>();
  private readonly concurrency: number;
  private readonly retry: BackoffOptions;
  private readonly idleWaiters: Array<() => void> = [];
  private running = false;
  private active = 0;

  constructor(private readonly reconcile: ReconcileFn, private readonly options: WorkQueueOptions = {}) {
    this.concurrency = options.concurrency ?? 4;
    this.retry = options.retry ?? DEFAULT_RETRY;
  }

  start(): void {
    this.running = true;
    this.pump();
  }

  /** Stops starting new reconciles and waits (up to `timeoutMs`) for the ones in flight. */
  async shutdown(timeoutMs = 5_000): Promise<void> {
    this.running = false;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    if (this.active === 0) return;
    await Promise.race([
      new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
      new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref()),
    ]);
  }

  add(key: string): void {
    if (this.processing.has(key)) {
      if (!this.dirtyWhileProcessing.has(key)) this.dirtyWhileProcessing.set(key, Date.now());
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.set(key, Date.now());
    this.pending.push(key);
    this.pump();
  }

  /** Adds `key` after `delayMs`; an earlier pending delay for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (delayMs <= 0) return this.add(key);
    const at = Date.now() + delayMs;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.delayed.set(key, { at, timer });
  }

  get depth(): number {
    return this.pending.length;
  }

  get inFlight(): number {
    return this.active;
  }

  /** Keys waiting for a requeueAfter or a retry delay to pass. */
  get delayedCount(): number {
    return this.delayed.size;
  }

  get retrying(): number {
    return this.failures.size;
  }

  /** True when nothing is queued or running (delayed retries do not count). */
  idle(): boolean {
    return this.pending.length === 0 && this.active === 0;
  }

  private pump(): void {
    while (this.running && this.active < this.concurrency && this.pending.length > 0) {
      const key = this.pending.shift() as string;
      const addedAt = this.queued.get(key) ?? Date.now();
      this.queued.delete(key);
      this.processing.add(key);
      this.active++;
      this.options.observer?.latency?.((Date.now() - addedAt) / 1000);
      void this.process(key);
    }
  }

  private async process(key: string): Promise<void> {
    const started = Date.now();
    let failed = false;
    try {
      const result = await this.reconcile(key);
      this.failures.delete(key);
      if (result && result.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
    } catch (error) {
      failed = true;
      const attempt = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, attempt);
      const delayMs = backoffDelay(attempt - 1, this.retry);
      this.options.observer?.retry?.(key, error, delayMs, attempt);
      if (this.running) this.addAfter(key, delayMs);
    } finally {
      this.options.observer?.reconciled?.((Date.now() - started) / 1000, failed);
      this.processing.delete(key);
      this.active--;
      if (this.dirtyWhileProcessing.has(key)) {
        this.dirtyWhileProcessing.delete(key);
        this.add(key);
      }
      if (this.active === 0) this.idleWaiters.splice(0).forEach((resolve) => resolve());
      this.pump();
    }
  }
}

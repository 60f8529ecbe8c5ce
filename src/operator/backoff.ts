// Exponential backoff with jitter, shared by informer restarts, queue retries and socket reconnects.

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor?: number;
  /** ±fraction of random jitter, e.g. 0.25 for ±25 %. */
  jitter?: number;
}

export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const { initialMs, maxMs, factor = 2, jitter = 0 } = options;
  const base = Math.min(maxMs, initialMs * factor ** Math.max(0, attempt));
  const spread = base * jitter * (random() * 2 - 1);
  return Math.max(0, Math.min(maxMs, Math.round(base + spread)));
}

/** Counts attempts; `next()` gives the next delay, `reset()` after a success. */
export class Backoff {
  private attempt = 0;
  constructor(private readonly options: BackoffOptions, private readonly random: () => number = Math.random) {}

  next(): number {
    return backoffDelay(this.attempt++, this.options, this.random);
  }

  reset(): void {
    this.attempt = 0;
  }
}

// GatewayRoute writes a source controller has started and the apiserver has not answered yet. The sync
// controller sends such a write's routes to the control plane as it starts instead of one apiserver round
// trip later (docs/protocol.md, "Sent as it is written"). The stored GatewayRoute stays the record: once the
// write is answered (stored, refused or failed) the sync controller compares the control plane with the
// cache again and corrects it where they differ.
import type { GatewayRoute } from '../api/v1alpha1/types.js';
import { objectKey } from '../operator/kinds.js';

export type PendingWriteListener = (key: string) => void;

/** One write in progress: settle it once the apiserver has answered (a stored answer already in the cache). */
export interface PendingWrite {
  settle(stored: boolean): void;
}

/** Keys whose last write failed, remembered at most (a bound; a forgotten key is only announced again). */
const MAX_FAILED_KEYS = 10_000;

export class PendingWrites {
  private readonly writes = new Map<string, GatewayRoute>();
  /**
   * Keys whose last write failed: their next write is not announced, so a write the apiserver keeps refusing
   * (an admission policy, a quota) does not show its routes to the control plane at every retry.
   */
  private readonly failed = new Set<string>();
  private readonly startedListeners: PendingWriteListener[] = [];
  private readonly settledListeners: PendingWriteListener[] = [];

  /** `route` is the object as it will be applied (metadata + spec). */
  start(route: GatewayRoute): PendingWrite {
    const key = objectKey(route.metadata);
    const announced = !this.failed.has(key);
    if (announced) {
      this.writes.set(key, route);
      for (const listener of this.startedListeners) listener(key);
    }
    return {
      settle: (stored) => {
        if (stored) this.failed.delete(key);
        else this.rememberFailed(key);
        // A later write of the same key (not expected: one reconcile per key at a time) keeps its own entry.
        if (!announced || this.writes.get(key) !== route) return;
        this.writes.delete(key);
        for (const listener of this.settledListeners) listener(key);
      },
    };
  }

  /** The object being written under `key` (announced), until the apiserver answers. */
  get(key: string): GatewayRoute | undefined {
    return this.writes.get(key);
  }

  onStarted(listener: PendingWriteListener): void {
    this.startedListeners.push(listener);
  }

  onSettled(listener: PendingWriteListener): void {
    this.settledListeners.push(listener);
  }

  private rememberFailed(key: string): void {
    this.failed.delete(key);
    this.failed.add(key);
    if (this.failed.size > MAX_FAILED_KEYS) this.failed.delete(this.failed.values().next().value!);
  }
}

// What the control plane holds, per GatewayRoute, and what it still has to be told. Not a list of
// messages but the state they derive from: for each GatewayRoute the desired routes, the last routes
// sent (with their revision) and the last acknowledged. A change is sent against what was last sent
// (so nothing goes twice), deletes are derived from it (so they always reach the control plane), and a
// reconnect sends one snapshot of everything desired, which supersedes whatever was in flight.
import type { RouteAction, WireRoute } from '../controlplane/protocol.js';
import { sameRoutes } from './wire.js';

export interface Sent {
  routes: WireRoute[];
  revision: number;
  generation?: number;
}

export interface Acked extends Sent {
  at: Date;
  rejected: Array<{ key: string; reason: string }>;
}

interface Entry {
  /** undefined: the GatewayRoute is gone and its routes must be deleted. */
  desired?: WireRoute[];
  generation?: number;
  sent?: Sent;
  acked?: Acked;
}

export interface Change {
  action: RouteAction;
  routes: WireRoute[];
  revision: number;
}

/** Revisions grow across process runs too: never below the wall clock in ms, always +1 at least. */
export class RevisionClock {
  private last = 0;
  constructor(private readonly now: () => number = Date.now) {}
  next(): number {
    this.last = Math.max(this.now(), this.last + 1);
    return this.last;
  }
}

/**
 * Every operation is O(1) or O(what it touches), never a scan of all entries: unacknowledged keys are
 * kept by the revision they were sent at (revisions only grow, so the map's insertion order is their
 * order and an ack walks only what it acknowledges), and the counters follow each change.
 */
export class Outbox {
  private readonly entries = new Map<string, Entry>();
  /** Sent and not yet acknowledged, by the revision they were sent at (ascending). */
  private readonly unacked = new Map<number, Set<string>>();
  private readonly unackedRevision = new Map<string, number>();
  private ackedRoutes = 0;
  private exposedRoutesCache?: WireRoute[];

  constructor(private readonly clock = new RevisionClock()) {}

  setDesired(key: string, routes: WireRoute[] | undefined, generation?: number): void {
    const entry = this.entries.get(key) ?? {};
    entry.desired = routes;
    entry.generation = generation;
    // Same routes as already acknowledged under an older generation (e.g. only tlsSecrets changed):
    // the control plane already holds this generation.
    if (routes && entry.acked && entry.sent?.revision === entry.acked.revision && sameRoutes(entry.acked.routes, routes)) {
      entry.acked.generation = generation;
      entry.sent.generation = generation;
    }
    if (!routes && !entry.sent) {
      this.remove(key, entry); // never sent: nothing to delete remotely
      return;
    }
    this.entries.set(key, entry);
  }

  lastSent(key: string): WireRoute[] {
    return this.entries.get(key)?.sent?.routes ?? [];
  }

  acked(key: string): Acked | undefined {
    return this.entries.get(key)?.acked;
  }

  /** The change to send for `key` now, recorded as sent; undefined when the control plane is current. */
  takeChange(key: string): Change | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const desired = entry.desired ?? [];
    const sentRoutes = entry.sent?.routes ?? [];
    if (entry.sent && sameRoutes(sentRoutes, desired)) return undefined;
    if (!entry.sent && desired.length === 0) return undefined;
    const action: RouteAction = sentRoutes.length === 0 ? 'add' : desired.length === 0 ? 'delete' : 'update';
    const revision = this.clock.next();
    this.markSent(key, entry, { routes: desired, revision, generation: entry.generation });
    return { action, routes: action === 'delete' ? sentRoutes : desired, revision };
  }

  /** Everything desired, as one snapshot; every entry counts as sent at its revision. */
  takeSnapshot(): { revision: number; routes: WireRoute[] } {
    const revision = this.clock.next();
    const routes: WireRoute[] = [];
    for (const [key, entry] of this.entries) {
      const desired = entry.desired ?? [];
      this.markSent(key, entry, { routes: desired, revision, generation: entry.generation });
      for (const route of desired) routes.push(route);
    }
    return { revision, routes };
  }

  /** Acknowledges every message ≤ revision; returns the keys whose acknowledged state changed. */
  ack(revision: number, rejected: ReadonlyArray<{ key: string; reason: string }>): string[] {
    const changed: string[] = [];
    const now = new Date();
    const reasons = new Map(rejected.map((r) => [r.key, r]));
    for (const [sentAt, keys] of this.unacked) {
      if (sentAt > revision) break;
      this.unacked.delete(sentAt);
      for (const key of keys) {
        this.unackedRevision.delete(key);
        const entry = this.entries.get(key);
        if (!entry?.sent) continue;
        const sent = entry.sent;
        const refused = reasons.size ? sent.routes.flatMap((r) => reasons.get(r.key) ?? []) : [];
        this.setAcked(entry, { ...sent, at: now, rejected: refused });
        changed.push(key);
        if (entry.desired === undefined && sent.routes.length === 0) this.remove(key, entry);
      }
    }
    return changed;
  }

  /** The revision `key` was sent at, while it waits for its acknowledgement. */
  pendingRevision(key: string): number | undefined {
    return this.unackedRevision.get(key);
  }

  /** Keys sent but not yet acknowledged. */
  pendingKeys(): string[] {
    return [...this.unackedRevision.keys()];
  }

  /**
   * The routes this cluster exposes, for the tunnel's route lookup and its boundary: every route last sent,
   * less those the control plane rejected at that revision (rebuilt only after a change). A change counts
   * as soon as it is sent: the control plane cannot route to it before it has it, and a delete in flight
   * already closes its backend.
   */
  exposedRoutes(): WireRoute[] {
    if (!this.exposedRoutesCache) {
      const all: WireRoute[] = [];
      for (const { sent, acked } of this.entries.values()) {
        if (!sent) continue;
        const refused = acked?.revision === sent.revision && acked.rejected.length ? new Set(acked.rejected.map((r) => r.key)) : undefined;
        for (const route of sent.routes) if (!refused?.has(route.key)) all.push(route);
      }
      this.exposedRoutesCache = all;
    }
    return this.exposedRoutesCache;
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  /** GatewayRoutes sent and not yet acknowledged. */
  get size(): number {
    return this.unackedRevision.size;
  }

  ackedRouteCount(): number {
    return this.ackedRoutes;
  }

  private markSent(key: string, entry: Entry, sent: Sent): void {
    this.forgetPending(key);
    entry.sent = sent;
    let bucket = this.unacked.get(sent.revision);
    if (!bucket) this.unacked.set(sent.revision, (bucket = new Set()));
    bucket.add(key);
    this.unackedRevision.set(key, sent.revision);
    this.exposedRoutesCache = undefined;
  }

  private setAcked(entry: Entry, acked: Acked | undefined): void {
    const previous = entry.acked;
    if (previous) this.ackedRoutes -= previous.routes.length - previous.rejected.length;
    entry.acked = acked;
    if (acked) this.ackedRoutes += acked.routes.length - acked.rejected.length;
    // Rejections (new or gone) change what is exposed.
    if (previous?.rejected.length || acked?.rejected.length) this.exposedRoutesCache = undefined;
  }

  private remove(key: string, entry: Entry): void {
    this.setAcked(entry, undefined);
    this.forgetPending(key);
    if (this.entries.delete(key) && entry.sent?.routes.length) this.exposedRoutesCache = undefined;
  }

  /** Takes `key` out of the bucket of the revision it waits on, if any. */
  private forgetPending(key: string): void {
    const revision = this.unackedRevision.get(key);
    if (revision === undefined) return;
    this.unackedRevision.delete(key);
    const bucket = this.unacked.get(revision);
    bucket?.delete(key);
    if (bucket?.size === 0) this.unacked.delete(revision);
  }
}

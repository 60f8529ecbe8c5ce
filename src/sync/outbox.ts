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

export class Outbox {
  private readonly entries = new Map<string, Entry>();

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
      this.entries.delete(key); // never sent: nothing to delete remotely
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
    entry.sent = { routes: desired, revision, generation: entry.generation };
    return { action, routes: action === 'delete' ? sentRoutes : desired, revision };
  }

  /** Everything desired, as one snapshot; every entry counts as sent at its revision. */
  takeSnapshot(): { revision: number; routes: WireRoute[] } {
    const revision = this.clock.next();
    const routes: WireRoute[] = [];
    for (const entry of this.entries.values()) {
      const desired = entry.desired ?? [];
      entry.sent = { routes: desired, revision, generation: entry.generation };
      routes.push(...desired);
    }
    return { revision, routes };
  }

  /** Acknowledges every message ≤ revision; returns the keys whose acknowledged state changed. */
  ack(revision: number, rejected: ReadonlyArray<{ key: string; reason: string }>): string[] {
    const changed: string[] = [];
    const now = new Date();
    for (const [key, entry] of this.entries) {
      const sent = entry.sent;
      if (!sent || sent.revision > revision || (entry.acked && entry.acked.revision >= sent.revision)) continue;
      const keys = new Set(sent.routes.map((r) => r.key));
      entry.acked = { ...sent, at: now, rejected: rejected.filter((r) => keys.has(r.key)) };
      changed.push(key);
      if (entry.desired === undefined && sent.routes.length === 0) this.entries.delete(key);
    }
    return changed;
  }

  /** Keys sent but not yet acknowledged. */
  pendingKeys(): string[] {
    return [...this.entries].filter(([, e]) => e.sent && e.acked?.revision !== e.sent.revision).map(([k]) => k);
  }

  /** Every route last sent, for the tunnel's route lookup. */
  sentRoutes(): WireRoute[] {
    return [...this.entries.values()].flatMap((e) => e.sent?.routes ?? []);
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  get size(): number {
    return this.pendingKeys().length;
  }

  ackedRouteCount(): number {
    let count = 0;
    for (const entry of this.entries.values()) count += entry.acked ? entry.acked.routes.length - entry.acked.rejected.length : 0;
    return count;
  }
}

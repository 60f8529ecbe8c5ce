// What the control plane holds, per GatewayRoute, and what it still has to be told. Not a list of
// messages but the state they derive from: for each GatewayRoute the desired state, the message in flight
// (at most one, so every change is computed against what the control plane acknowledged), the last
// acknowledged state with the routes it rejected, and the last refusal (NACK). Every answer is matched to
// its message by request_id, never by "everything up to revision N", so a refused message can never be
// covered by a later acknowledgement.
import type { RoutesAckPayload, RoutesNackPayload, WireGatewayRoute, WireRoute, ExposedRoute } from '../controlplane/protocol.js';
import { randomBytes } from 'node:crypto';
import { RevisionClock } from '../controlplane/revision.js';
import { diffGatewayRoute, sameGatewayRoute, type ChangeBody } from './wire.js';

export interface Acked {
  /** undefined: the control plane holds nothing for this GatewayRoute. */
  state?: WireGatewayRoute;
  revision: number;
  generation?: number;
  at: Date;
  rejected: Array<{ key: string; reason: string }>;
}

export interface Refusal {
  code: string;
  message: string;
  retryable: boolean;
  attempts: number;
  /** When a retryable refusal may be retried. */
  retryAt: number;
  /** What was refused: a non-retryable refusal stands until the desired state differs from it. */
  state?: WireGatewayRoute;
}

interface InFlight {
  requestId: string;
  revision: number;
  state?: WireGatewayRoute;
  generation?: number;
  sentAt: number;
}

interface Entry {
  /** undefined: the GatewayRoute is gone and its routes must be deleted. */
  desired?: WireGatewayRoute;
  generation?: number;
  inFlight?: InFlight;
  acked?: Acked;
  refusal?: Refusal;
}

export interface Change {
  requestId: string;
  revision: number;
  body: ChangeBody;
}

/** Retry delay after `attempts` retryable refusals: 1 s, 2 s, 4 s … capped at 60 s. */
export function retryDelayMs(attempts: number): number {
  return Math.min(60_000, 1_000 * 2 ** Math.max(0, attempts - 1));
}

/** The GatewayRoute ("namespace/name") a route key belongs to: keys start with it (see routeKey). */
export function gatewayRouteOfKey(routeKey: string): string {
  const first = routeKey.indexOf('/');
  const second = routeKey.indexOf('/', first + 1);
  return second === -1 ? routeKey : routeKey.slice(0, second);
}

export class Outbox {
  private readonly entries = new Map<string, Entry>();
  /** Messages awaiting their answer: request_id → the GatewayRoutes it carried. */
  private readonly awaiting = new Map<string, { keys: string[]; sentAt: number }>();
  private inFlightCount = 0;
  private ackedRoutes = 0;
  private exposedCache?: ExposedRoute[];
  private nextId = 0;
  /** Request ids are unique across processes too: a new leader's answers are never taken for an old one's. */
  private readonly idPrefix = randomBytes(4).toString('hex');

  constructor(readonly clock = new RevisionClock()) {}

  setDesired(key: string, gatewayRoute: WireGatewayRoute | undefined, generation?: number): void {
    const entry = this.entries.get(key) ?? {};
    // The state already held (in flight, else acknowledged) when it is the same: one object, not a second copy per GatewayRoute.
    const held = entry.inFlight ? entry.inFlight.state : entry.acked?.state;
    const same = !!gatewayRoute && !!held && sameGatewayRoute(held, gatewayRoute);
    entry.desired = same ? held : gatewayRoute;
    entry.generation = generation;
    // The same state as acknowledged under an older generation (e.g. only tlsSecrets changed): the control
    // plane already holds this generation.
    if (same && entry.acked && !entry.inFlight) entry.acked.generation = generation;
    if (!gatewayRoute && !entry.acked?.state && !entry.inFlight) {
      this.remove(key, entry); // never held remotely: nothing to delete
      return;
    }
    this.entries.set(key, entry);
  }

  /** The routes last sent for `key` (in flight, else acknowledged), for keeping ports of vanished Services. */
  lastSent(key: string): WireRoute[] {
    const entry = this.entries.get(key);
    return (entry?.inFlight ? entry.inFlight.state : entry?.acked?.state)?.routes ?? [];
  }

  acked(key: string): Acked | undefined {
    return this.entries.get(key)?.acked;
  }

  refusal(key: string): Refusal | undefined {
    return this.entries.get(key)?.refusal;
  }

  /** True when the control plane acknowledged exactly the desired state, nothing in flight or refused. */
  inSync(key: string): boolean {
    const entry = this.entries.get(key);
    return !!entry?.acked && !entry.inFlight && !entry.refusal && sameGatewayRoute(entry.acked.state, entry.desired);
  }

  /** When the message in flight for `key` was sent. */
  inFlightSince(key: string): number | undefined {
    return this.entries.get(key)?.inFlight?.sentAt;
  }

  /**
   * The change to send for `key` now, recorded as in flight; undefined when the control plane is current,
   * a message for `key` is still unanswered, or a refusal stands (retryable: until its retry time).
   */
  takeChange(key: string, now = Date.now()): Change | undefined {
    const entry = this.entries.get(key);
    if (!entry || entry.inFlight) return undefined;
    const refusal = entry.refusal;
    const held = entry.acked?.state;
    let body = diffGatewayRoute(held, entry.desired);
    if (!body) {
      // The control plane holds what is desired after all (e.g. the refused state was a write the apiserver
      // then refused too): the refusal is over, whatever its retry time.
      if (refusal) entry.refusal = undefined;
      return undefined;
    }
    if (refusal && (refusal.retryable ? now < refusal.retryAt : sameGatewayRoute(refusal.state, entry.desired))) return undefined;
    // Routes the control plane rejected are offered again with any other change (not alone: that would loop).
    const rejected = entry.acked?.rejected ?? [];
    if (rejected.length && entry.desired && !body.deleted) {
      const again = new Set(rejected.map((r) => r.key));
      const upserted = new Set(body.upsert.map((r) => r.key));
      body = { ...body, upsert: [...body.upsert, ...entry.desired.routes.filter((r) => again.has(r.key) && !upserted.has(r.key))] };
    }
    const requestId = this.requestId();
    const revision = this.clock.next();
    this.markInFlight(key, entry, { requestId, revision, state: entry.desired, generation: entry.generation, sentAt: now });
    this.awaiting.set(requestId, { keys: [key], sentAt: now });
    return { requestId, revision, body };
  }

  /** Everything desired, as one snapshot; every entry is in flight with it (superseding anything before). */
  takeSnapshot(now = Date.now()): { requestId: string; revision: number; gatewayRoutes: WireGatewayRoute[] } {
    const requestId = this.requestId();
    const revision = this.clock.next();
    const gatewayRoutes: WireGatewayRoute[] = [];
    const keys: string[] = [];
    for (const [key, entry] of this.entries) {
      entry.refusal = undefined;
      this.markInFlight(key, entry, { requestId, revision, state: entry.desired, generation: entry.generation, sentAt: now });
      keys.push(key);
      if (entry.desired) gatewayRoutes.push(entry.desired);
    }
    this.awaiting.set(requestId, { keys, sentAt: now });
    return { requestId, revision, gatewayRoutes };
  }

  /** Applies a routes_ack to the message it answers; returns the GatewayRoutes whose state changed. */
  ack(requestId: string, payload: RoutesAckPayload, now = new Date()): string[] {
    const message = this.awaiting.get(requestId);
    if (!message) return [];
    this.awaiting.delete(requestId);
    const rejectedBy = new Map<string, Array<{ key: string; reason: string }>>();
    for (const item of payload.rejected) {
      const owner = gatewayRouteOfKey(item.key);
      const list = rejectedBy.get(owner);
      if (list) list.push(item);
      else rejectedBy.set(owner, [item]);
    }
    const changed: string[] = [];
    for (const key of message.keys) {
      const entry = this.entries.get(key);
      if (!entry || entry.inFlight?.requestId !== requestId) continue; // superseded by a later snapshot
      const sent = entry.inFlight;
      this.clearInFlight(entry);
      entry.refusal = undefined;
      this.setAcked(entry, { state: sent.state, revision: sent.revision, generation: sent.generation, at: now, rejected: rejectedBy.get(key) ?? [] });
      changed.push(key);
      if (!entry.desired && !sent.state) this.remove(key, entry);
    }
    return changed;
  }

  /** Applies a routes_nack: nothing of that message is held by the control plane. */
  nack(requestId: string, payload: RoutesNackPayload, now = Date.now()): string[] {
    const message = this.awaiting.get(requestId);
    if (!message) return [];
    this.awaiting.delete(requestId);
    if (payload.current_revision !== undefined) this.clock.resume(payload.current_revision);
    const changed: string[] = [];
    for (const key of message.keys) {
      const entry = this.entries.get(key);
      if (!entry || entry.inFlight?.requestId !== requestId) continue;
      const attempts = (entry.refusal?.attempts ?? 0) + 1;
      const refused = entry.inFlight.state;
      this.clearInFlight(entry);
      // A stale revision is fixed by continuing above the control plane's: retry at once.
      const retryAt = payload.code === 'stale_revision' ? now : now + retryDelayMs(attempts);
      entry.refusal = { code: payload.code, message: payload.message, retryable: payload.retryable, attempts, retryAt, state: refused };
      changed.push(key);
    }
    return changed;
  }

  /** The socket is gone: unanswered messages may or may not have been applied; the next snapshot settles it. */
  disconnected(): string[] {
    const keys: string[] = [];
    for (const [key, entry] of this.entries) {
      if (!entry.inFlight) continue;
      this.clearInFlight(entry);
      keys.push(key);
    }
    this.awaiting.clear();
    return keys;
  }

  /** Whether a message with this request_id still waits for its answer. */
  isAwaiting(requestId: string): boolean {
    return this.awaiting.has(requestId);
  }

  /** When the oldest unanswered message was sent. */
  oldestAwaitingSince(): number | undefined {
    return this.awaiting.values().next().value?.sentAt; // insertion order is send order
  }

  /**
   * The routes this cluster exposes, for the tunnel's route lookup and its boundary: for every GatewayRoute
   * the state last sent (in flight, else acknowledged), less the routes the control plane rejected of it. A
   * change counts once sent: the control plane cannot route to it before it has it, and a delete in flight
   * already closes its backend. Rebuilt only after a change.
   */
  exposedRoutes(): ExposedRoute[] {
    if (!this.exposedCache) {
      const all: ExposedRoute[] = [];
      for (const entry of this.entries.values()) {
        const state = entry.inFlight ? entry.inFlight.state : entry.acked?.state;
        if (!state) continue;
        const refused = !entry.inFlight && entry.acked?.rejected.length ? new Set(entry.acked.rejected.map((r) => r.key)) : undefined;
        for (const route of state.routes) if (!refused?.has(route.key)) all.push({ ...route, namespace: route.service_namespace ?? state.namespace });
      }
      this.exposedCache = all;
    }
    return this.exposedCache;
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  /** GatewayRoutes sent and not yet answered. */
  get size(): number {
    return this.inFlightCount;
  }

  ackedRouteCount(): number {
    return this.ackedRoutes;
  }

  private requestId(): string {
    return `${this.idPrefix}-${++this.nextId}`;
  }

  private markInFlight(key: string, entry: Entry, inFlight: InFlight): void {
    if (!entry.inFlight) this.inFlightCount++;
    entry.inFlight = inFlight;
    this.exposedCache = undefined;
  }

  private clearInFlight(entry: Entry): void {
    if (entry.inFlight) this.inFlightCount--;
    entry.inFlight = undefined;
    this.exposedCache = undefined;
  }

  private setAcked(entry: Entry, acked: Acked | undefined): void {
    const count = (a: Acked | undefined): number => (a?.state?.routes.length ?? 0) - (a?.rejected.length ?? 0);
    this.ackedRoutes += count(acked) - count(entry.acked);
    entry.acked = acked;
    this.exposedCache = undefined;
  }

  private remove(key: string, entry: Entry): void {
    this.setAcked(entry, undefined);
    this.clearInFlight(entry);
    this.entries.delete(key);
  }
}

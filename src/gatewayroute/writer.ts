// Writes a GatewayRoute translated from a source object (an Ingress or an HTTPRoute) the same way for every
// source: server-side apply of metadata + spec only when they differ from the cache, then the source's
// status fields (Accepted, ResolvedRefs, hosts, routeCount, source) under the source's own field manager, and an
// Event on the source object when a condition flips. status.observedGeneration is the sync controller's.
import type { CustomObjectsClient } from '../operator/clients.js';
import { conditionsChanged, findCondition } from '../api/v1alpha1/conditions.js';
import { sourceStatusChanged, SPEC_FIELD_MANAGER, userAnnotations } from '../api/v1alpha1/gatewayroute.js';
import { API_VERSION, GATEWAY_ROUTE, GROUP, MANAGED_BY_LABEL, VERSION, type GatewayRoute } from '../api/v1alpha1/types.js';
import type { Logger } from '../log.js';
import { apiErrorCode, applyObject, applyStatus, deleteObject, readObject, type CustomObjectRef } from '../operator/apply.js';
import type { EventRecorder } from '../operator/events.js';
import type { Informer } from '../operator/informer.js';
import { jsonEqual } from '../operator/json.js';
import { gatewayRouteBody, heldBy, nameConflictMessage, ownedStatus, type TranslatedGatewayRoute } from './object.js';
import type { PendingWrites } from './pending.js';

export type { TranslatedGatewayRoute } from './object.js';

export function gatewayRouteRef(namespace: string, name: string): CustomObjectRef {
  return { group: GROUP, version: VERSION, plural: GATEWAY_ROUTE.plural, kind: GATEWAY_ROUTE.kind, namespace, name };
}

export interface GatewayRouteWriterOptions {
  custom: CustomObjectsClient;
  gatewayRoutes: Informer<GatewayRoute>;
  /** Announces each spec write as it starts (the sync controller sends it then), and settles it once answered. */
  pendingWrites?: PendingWrites;
  events: EventRecorder;
  /** Already the controller's child logger (its `controller` field set). */
  logger: Logger;
  /** The controller's name: the managed-by label value. */
  controller: string;
  statusFieldManager: string;
}

const SOURCE_CONDITIONS = new Set(['Accepted', 'ResolvedRefs']);

export class GatewayRouteWriter {
  /** Source key (namespace/name) → "source uid/GatewayRoute uid" of a name conflict already reported with an Event. */
  private readonly nameConflicts = new Map<string, string>();
  /** Source key → "source uid" + the ignored annotations last reported with an Event (only sources that have some). */
  private readonly ignoredReported = new Map<string, string>();

  constructor(private readonly options: GatewayRouteWriterOptions) {}

  /**
   * Another object (a hand-written GatewayRoute, or one translated from another source) holds the name this
   * source's GatewayRoute would have: both are left alone, and the user learns why from a Warning Event on
   * the source (once per conflicting pair). Returns the message, for the source's own status.
   */
  reportNameConflict(source: TranslatedGatewayRoute['source'] & { namespace: string }, existing: GatewayRoute): string {
    const { namespace, name, kind } = source;
    const message = nameConflictMessage(source, existing);
    const key = `${namespace}/${name}`;
    const conflict = `${source.uid}/${existing.metadata.uid ?? ''}`;
    if (this.nameConflicts.get(key) === conflict) return message;
    this.nameConflicts.set(key, conflict);
    this.options.logger.warn(`another object holds the GatewayRoute name of this ${kind}; leaving both alone`, { namespace, name, heldBy: heldBy(existing) });
    this.options.events.record(source, 'Warning', 'NameConflict', message);
    return message;
  }

  /** The source's name is its own again (or the source is gone): a later conflict is news. */
  forgetNameConflict(key: string): void {
    this.nameConflicts.delete(key);
  }

  /** Creates or updates the GatewayRoute and its source-owned status; `existing` is the cached one (owned by this source). */
  async write(existing: GatewayRoute | undefined, desired: TranslatedGatewayRoute): Promise<GatewayRoute> {
    const { custom, gatewayRoutes, controller, logger } = this.options;
    const { namespace, name } = desired;
    const body = gatewayRouteBody(desired, controller);
    let current = existing;
    if (!current || !this.upToDate(current, body)) {
      // Announced (sent to the control plane as it starts) only when what is stored is foreseeable: a create,
      // or a spec change with the annotations as stored (another field manager's annotations would differ).
      const foreseeable = !current || jsonEqual(userAnnotations(current.metadata.annotations), body.metadata.annotations);
      const pending = foreseeable ? this.options.pendingWrites?.start(body) : undefined;
      let stored = false;
      try {
        current = await this.apply(body);
        gatewayRoutes.observe(current);
        stored = true;
      } finally {
        // After observe: whoever reacts to the settle reads the stored object from the cache.
        pending?.settle(stored);
      }
      logger.info(existing ? 'updated GatewayRoute' : 'created GatewayRoute', { namespace, name, routes: desired.spec.routes?.length ?? 0 });
    }
    await this.writeStatus(current, desired);
    this.reportIgnored(desired);
    return current;
  }

  /**
   * Server-side applies `body`. A write whose answer never came (the connection cut, a timeout: no HTTP status)
   * may still have been stored: it is read back, and counts as written when the stored object is `body`, so
   * the control plane, told of the write as it started, is not set back for a write the apiserver made.
   */
  private async apply(body: GatewayRoute): Promise<GatewayRoute> {
    const ref = gatewayRouteRef(body.metadata.namespace ?? '', body.metadata.name ?? '');
    try {
      return await applyObject<GatewayRoute>(this.options.custom, ref, body, SPEC_FIELD_MANAGER);
    } catch (err) {
      if (apiErrorCode(err) !== undefined) throw err; // the apiserver answered: refused
      const stored = await readObject<GatewayRoute>(this.options.custom, ref).catch(() => undefined);
      if (stored && this.upToDate(stored, body)) return stored;
      throw err;
    }
  }

  /** A Warning Event on the source when the annotations it has that cannot be applied change (not at every reconcile). */
  private reportIgnored(desired: TranslatedGatewayRoute): void {
    const key = `${desired.namespace}/${desired.name}`;
    const reported = desired.ignored.length ? `${desired.source.uid} ${desired.ignored.join('\n')}` : undefined;
    if (reported === this.ignoredReported.get(key)) return;
    if (reported === undefined) {
      this.ignoredReported.delete(key);
      return;
    }
    this.ignoredReported.set(key, reported);
    this.options.events.record({ ...desired.source, namespace: desired.namespace }, 'Warning', 'IgnoredAnnotation', desired.ignored.join('; '));
  }

  async delete(existing: GatewayRoute, why: string): Promise<void> {
    const { namespace = '', name = '', uid } = existing.metadata;
    await deleteObject(this.options.custom, gatewayRouteRef(namespace, name), uid);
    this.options.logger.info(`deleted GatewayRoute: ${why}`, { namespace, name });
  }

  private async writeStatus(current: GatewayRoute, desired: TranslatedGatewayRoute): Promise<void> {
    const { namespace, name } = desired;
    const previous = (current.status?.conditions ?? []).filter((c) => SOURCE_CONDITIONS.has(c.type));
    const status = ownedStatus(desired, current.status?.conditions, current.metadata.generation, new Date());
    const { conditions } = status;
    const changed = conditionsChanged(previous, conditions) || sourceStatusChanged(current.status, status);
    if (!changed) return;
    const written = await applyStatus<GatewayRoute>(
      this.options.custom,
      gatewayRouteRef(namespace, name),
      { apiVersion: API_VERSION, kind: GATEWAY_ROUTE.kind, metadata: { name, namespace }, status },
      this.options.statusFieldManager,
    );
    // The next reconcile compares with this answer, not with the cache before it: the watch event of this
    // write does not wake the source controller (its GatewayRoute watch ignores status writes), so a
    // status that flips back before that event arrives would otherwise be compared with a stale one.
    this.options.gatewayRoutes.observe(written);
    for (const condition of conditions) {
      const before = findCondition(previous, condition.type);
      if (before?.status === condition.status) continue;
      if (!before && condition.status === 'True') continue; // a healthy first report is not news
      this.options.events.record({ ...desired.source, namespace }, condition.status === 'True' ? 'Normal' : 'Warning', condition.reason, `${condition.type}: ${condition.message}`);
    }
  }

  private upToDate(current: GatewayRoute, desired: GatewayRoute): boolean {
    return (
      jsonEqual(current.spec, desired.spec) &&
      current.metadata.labels?.[MANAGED_BY_LABEL] === this.options.controller &&
      jsonEqual(userAnnotations(current.metadata.annotations), desired.metadata.annotations)
    );
  }
}

// Kubernetes Events for the objects we manage. Callers record only transitions (a condition that
// flips), so a steady state writes no Events.
import { randomBytes } from 'node:crypto';
import type { CoreClient } from './clients.js';
import type { Logger } from '../log.js';

export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
}

export type EventType = 'Normal' | 'Warning';

export class EventRecorder {
  constructor(
    private readonly core: Pick<CoreClient, 'createNamespacedEvent'>,
    private readonly component: string,
    private readonly instance: string,
    private readonly defaultNamespace: string,
    private readonly logger: Logger,
  ) {}

  /** Fire and forget: an Event that cannot be written is logged, never fails the reconcile. */
  record(object: InvolvedObject, type: EventType, reason: string, message: string): void {
    const namespace = object.namespace || this.defaultNamespace;
    const now = new Date();
    void this.core
      .createNamespacedEvent({
        namespace,
        body: {
          metadata: { name: `${object.name}.${randomBytes(8).toString('hex')}`, namespace },
          involvedObject: { ...object, namespace: object.namespace },
          type,
          reason,
          message: message.slice(0, 1024),
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
          source: { component: this.component },
          reportingComponent: this.component,
          reportingInstance: this.instance,
        },
      })
      .catch((err: unknown) =>
        this.logger.warn('could not record event', { controller: 'events', namespace, name: object.name, reason, err }),
      );
  }
}

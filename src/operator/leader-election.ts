// Lease-based leader election with client-go's timings and rules: a lease is taken over only after its
// holder has not renewed it for a full lease duration as observed by this process (no clock trust),
// the leader renews every retry period and gives up when it cannot renew within the renew deadline,
// and a leader that stops cleanly releases the lease so the next one takes over at once.
import { microTime, type CoordinationClient, type Lease } from './clients.js';
import type { Logger } from '../log.js';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface LeaderCallbacks {
  onStartedLeading: () => void;
  /** Leadership was lost (not released on purpose): the process must stop its work. */
  onStoppedLeading: () => void;
}

function statusCode(err: unknown): number | undefined {
  return (err as { code?: number }).code;
}

function time(value: unknown): number {
  return value ? new Date(value as string | Date).getTime() : 0;
}

export class LeaderElector {
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private observed?: { holder: string; renewTime: number; seenAt: number };
  private leading = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private lastRenew = 0;
  private readonly logger: Logger;

  constructor(
    private readonly api: Pick<CoordinationClient, 'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'>,
    private readonly options: LeaderElectionOptions,
    logger: Logger,
  ) {
    this.logger = logger.child({ controller: 'leader-election' });
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  run(callbacks: LeaderCallbacks): void {
    const tick = async (): Promise<void> => {
      if (this.stopped) return;
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew();
      } catch (err) {
        this.logger.warn('leader election: lease update failed', { err });
      }
      if (this.stopped) return;
      if (ok) {
        this.lastRenew = Date.now();
        if (!this.leading) {
          this.leading = true;
          this.logger.info('became leader', { identity: this.options.identity });
          callbacks.onStartedLeading();
        }
      } else if (this.leading && Date.now() - this.lastRenew > this.renewDeadlineMs) {
        this.leading = false;
        this.stopped = true;
        this.logger.error('lost leadership: could not renew the lease within the renew deadline');
        callbacks.onStoppedLeading();
        return;
      }
      const jitter = this.leading ? 0 : Math.random() * this.retryPeriodMs * 0.2;
      this.timer = setTimeout(() => void tick(), this.retryPeriodMs + jitter);
    };
    void tick();
  }

  /** Stops renewing; when leading, releases the lease so another replica takes over immediately. */
  async release(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.api.readNamespacedLease({ name: this.options.name, namespace: this.options.namespace });
      if (lease.spec?.holderIdentity !== this.options.identity) return;
      const now = microTime(Date.now());
      lease.spec = { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now };
      await this.api.replaceNamespacedLease({ name: this.options.name, namespace: this.options.namespace, body: lease });
      this.logger.info('released the leader lease');
    } catch (err) {
      this.logger.warn('could not release the leader lease', { err });
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { name, namespace, identity } = this.options;
    const now = Date.now();
    const durationSeconds = Math.ceil(this.leaseDurationMs / 1000);
    let lease: Lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
      const stamp = microTime(now);
      await this.api.createNamespacedLease({
        namespace,
        body: {
          metadata: { name, namespace },
          spec: { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: stamp, renewTime: stamp, leaseTransitions: 0 },
        },
      });
      return true;
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewTime = time(spec.renewTime);
    if (!this.observed || this.observed.holder !== holder || this.observed.renewTime !== renewTime) {
      this.observed = { holder, renewTime, seenAt: now };
    }
    const heldByOther = holder !== '' && holder !== identity;
    const expired = this.observed.seenAt + (spec.leaseDurationSeconds ?? durationSeconds) * 1000 < now;
    if (heldByOther && !expired) return false;
    const stamp = microTime(now);
    lease.spec = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds: durationSeconds,
      renewTime: stamp,
      acquireTime: holder === identity ? (spec.acquireTime ?? stamp) : stamp,
      leaseTransitions: (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1),
    };
    // replace carries the resourceVersion we read: a concurrent writer makes this fail with 409.
    await this.api.replaceNamespacedLease({ name, namespace, body: lease });
    return true;
  }
}

// Concurrent exchanges per client address at the gateway: one client cannot hold every cluster's share of
// sockets, timers and buffers. HTTP requests and WebSocket streams count alike. Pure.

import { FairShare } from '../tunnel/fair-share.js';

export const DEFAULT_MAX_EXCHANGES_PER_SOURCE = 128;

export class SourceLimiter {
  /** The same per-key count as the agent's fair share per client. */
  private readonly open: FairShare;

  constructor(readonly maxPerSource = DEFAULT_MAX_EXCHANGES_PER_SOURCE) {
    this.open = new FairShare(maxPerSource);
  }

  /**
   * Takes one slot for `source`; undefined when it holds the maximum already. A taken slot comes with its
   * release, which gives it back once however often it is called (close and error may both fire).
   */
  acquire(source: string): (() => void) | undefined {
    if (!this.open.take(source)) return undefined;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open.release(source);
    };
  }

  /** Slots `source` holds now. */
  held(source: string): number {
    return this.open.held(source);
  }
}

/** How the gateway names a client to the agent (proxy_request.client): its address, which the agent's fair share counts. */
export function clientOf(req: { socket: { remoteAddress?: string } }): string {
  return req.socket.remoteAddress ?? 'unknown';
}

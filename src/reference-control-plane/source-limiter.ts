// Concurrent exchanges per client address at the gateway: one client cannot hold every cluster's share of
// sockets, timers and buffers. HTTP requests and WebSocket streams count alike. Pure.

export const DEFAULT_MAX_EXCHANGES_PER_SOURCE = 128;

export class SourceLimiter {
  private readonly open = new Map<string, number>();

  constructor(readonly maxPerSource = DEFAULT_MAX_EXCHANGES_PER_SOURCE) {}

  /**
   * Takes one slot for `source`; undefined when it holds the maximum already. A taken slot comes with its
   * release, which gives it back once however often it is called (close and error may both fire).
   */
  acquire(source: string): (() => void) | undefined {
    const held = this.open.get(source) ?? 0;
    if (held >= this.maxPerSource) return undefined;
    this.open.set(source, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(source) ?? 1) - 1;
      if (left > 0) this.open.set(source, left);
      else this.open.delete(source);
    };
  }

  /** Slots `source` holds now. */
  held(source: string): number {
    return this.open.get(source) ?? 0;
  }
}

/** How the gateway names a client to the agent (proxy_request.client): its address, which the agent's fair share counts. */
export function clientOf(req: { socket: { remoteAddress?: string } }): string {
  return req.socket.remoteAddress ?? 'unknown';
}

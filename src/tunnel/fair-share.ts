// A fair share of the tunnel's slots per client: one client of the gateway (the address it names in
// proxy_request.client / ws_open.client) may hold at most so many requests or streams at once, so a single
// client holding slow uploads cannot take every slot of the cluster. Requests without a client name are
// counted only against the overall limit.
export class FairShare {
  private readonly counts = new Map<string, number>();

  constructor(private readonly perClient: number) {}

  /** Takes a slot for `client`; false when it already holds its share. */
  take(client: string | undefined): boolean {
    if (client === undefined) return true;
    const count = this.counts.get(client) ?? 0;
    if (count >= this.perClient) return false;
    this.counts.set(client, count + 1);
    return true;
  }

  release(client: string | undefined): void {
    if (client === undefined) return;
    const count = (this.counts.get(client) ?? 0) - 1;
    if (count > 0) this.counts.set(client, count);
    else this.counts.delete(client);
  }

  /** Slots `client` holds now. */
  held(client: string): number {
    return this.counts.get(client) ?? 0;
  }
}

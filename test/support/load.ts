// Steady load through the gateway, as users keep sending it during an upgrade or a node loss: `clients`
// keep-alive clients, each sending its next GET as soon as the last is answered, every outcome recorded.
import { Agent, request } from 'node:http';

export interface Outcome {
  /** When the answer (or the failure) arrived, ms since the epoch. */
  at: number;
  status: number;
  /** The gateway's or the operator's error text, or the client's own error. */
  error?: string;
}

export interface LoadOptions {
  port: number;
  host: string;
  path: string;
  clients: number;
  /** A request unanswered this long counts as failed (the client gives up). */
  timeoutMs?: number;
}

export class Load {
  readonly outcomes: Outcome[] = [];
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly agents: Agent[] = [];

  constructor(private readonly options: LoadOptions) {}

  start(): void {
    this.running = true;
    for (let i = 0; i < this.options.clients; i++) {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      this.agents.push(agent);
      this.loops.push(this.loop(agent));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    for (const agent of this.agents) agent.destroy();
  }

  failures(since = 0): Outcome[] {
    return this.outcomes.filter((o) => o.at >= since && o.status !== 200);
  }

  successes(since = 0): number {
    return this.outcomes.filter((o) => o.at >= since && o.status === 200).length;
  }

  /**
   * Whole seconds with no successful answer between `from` and `to`: the longest gap between two successes (or
   * between `from` and the first), floored. 0 means some request succeeded in every second.
   */
  outageSeconds(from: number, to: number): number {
    let last = from;
    let longest = 0;
    for (const o of this.outcomes) {
      if (o.status !== 200 || o.at < from || o.at > to) continue;
      longest = Math.max(longest, o.at - last);
      last = o.at;
    }
    longest = Math.max(longest, to - last);
    return Math.floor(longest / 1000);
  }

  private async loop(agent: Agent): Promise<void> {
    while (this.running) this.outcomes.push(await this.once(agent));
  }

  private once(agent: Agent): Promise<Outcome> {
    const { port, host, path, timeoutMs = 10_000 } = this.options;
    return new Promise((resolve) => {
      const done = (status: number, error?: string): void => resolve({ at: Date.now(), status, ...(error ? { error } : {}) });
      const req = request({ host: '127.0.0.1', port, path, headers: { Host: host }, agent, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done(res.statusCode ?? 0, res.statusCode === 200 ? undefined : Buffer.concat(chunks).toString().slice(0, 300)));
        res.on('error', (err) => done(0, err.message));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (err) => done(0, err.message));
      req.end();
    });
  }
}

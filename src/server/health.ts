// HTTP endpoints for probes and operators: /healthz, /readyz (503 with the reasons until ready),
// /metrics (Prometheus), /api/health/detailed and /api/metrics/runtime. Never shows the token.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { registry } from '../metrics.js';

export interface HealthSource {
  /** Reasons the operator is not ready yet; empty when ready. */
  notReadyReasons(): string[];
  detailed(): Record<string, unknown>;
}

export class HealthServer {
  private readonly server: Server;
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 20 });
  private readonly started = Date.now();

  constructor(private readonly source: HealthSource) {
    this.loopDelay.enable();
    this.server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      const json = (status: number, body: unknown): void => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'GET' && req.method !== 'HEAD') return json(405, { error: 'method not allowed' });
      switch (path) {
        case '/healthz':
          return json(200, { status: 'ok' });
        case '/readyz': {
          const reasons = this.source.notReadyReasons();
          return json(reasons.length ? 503 : 200, { ready: reasons.length === 0, reasons });
        }
        case '/metrics':
          void registry.metrics().then((text) => {
            res.writeHead(200, { 'Content-Type': registry.contentType });
            res.end(text);
          });
          return;
        case '/api/health/detailed':
          return json(200, { uptimeSeconds: Math.round((Date.now() - this.started) / 1000), ...this.source.detailed() });
        case '/api/metrics/runtime': {
          const memory = process.memoryUsage();
          const handles = (process as unknown as { getActiveResourcesInfo?: () => string[] }).getActiveResourcesInfo?.() ?? [];
          return json(200, {
            memory,
            eventLoopDelayMs: {
              mean: this.loopDelay.mean / 1e6,
              p99: this.loopDelay.percentile(99) / 1e6,
              max: this.loopDelay.max / 1e6,
            },
            activeHandles: handles.length,
            activeResources: handles.reduce<Record<string, number>>((acc, kind) => ((acc[kind] = (acc[kind] ?? 0) + 1), acc), {}),
            uptimeSeconds: process.uptime(),
          });
        }
        default:
          return json(404, { error: `no such endpoint: ${path}` });
      }
    });
  }

  async listen(port: number, host = '0.0.0.0'): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, resolve);
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.loopDelay.disable();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

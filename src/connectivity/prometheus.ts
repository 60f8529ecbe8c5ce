// Finds the cluster's Prometheus for the control plane (heartbeat metadata, /api/health/detailed).
// Pure choice over the Service cache, re-evaluated every 30 s; logged only when the answer changes.
import type { Logger } from '../log.js';
import { SERVICE } from '../operator/kinds.js';
import type { Manager, Runnable } from '../operator/manager.js';
import type { IngressServiceLike } from './detect.js';

export interface PrometheusEndpoint {
  namespace: string;
  service: string;
  port: number;
  url: string;
}

const NAMES = [/^(.+-)?kube-prometheus-stack-prometheus$/, /^(.+-)?kube-prometheus-prometheus$/, /^prometheus-operated$/, /^prometheus-server$/];

function rank(service: IngressServiceLike): number {
  const name = service.metadata?.name ?? '';
  const byName = NAMES.findIndex((re) => re.test(name));
  if (byName !== -1) return byName;
  return service.metadata?.labels?.['app.kubernetes.io/name'] === 'prometheus' ? NAMES.length : -1;
}

export function findPrometheus(services: readonly IngressServiceLike[], namespaces: readonly string[] = []): PrometheusEndpoint | undefined {
  const candidates = services
    .filter((s) => namespaces.length === 0 || namespaces.includes(s.metadata?.namespace ?? ''))
    .map((s) => ({ s, r: rank(s) }))
    .filter(({ r }) => r !== -1)
    .sort((a, b) => a.r - b.r || `${a.s.metadata?.namespace}/${a.s.metadata?.name}`.localeCompare(`${b.s.metadata?.namespace}/${b.s.metadata?.name}`));
  const best = candidates[0]?.s;
  if (!best) return undefined;
  const ports = best.spec?.ports ?? [];
  const port = (ports.find((p) => ['http-web', 'web', 'http'].includes(p.name ?? '')) ?? ports.find((p) => p.port === 9090) ?? ports[0])?.port ?? 9090;
  const namespace = best.metadata?.namespace ?? '';
  const service = best.metadata?.name ?? '';
  return { namespace, service, port, url: `http://${service}.${namespace}.svc:${port}` };
}

/** Registers discovery over every Service of the cluster (--prometheus-namespaces narrows it). */
export function setup(manager: Manager, options: { namespaces: readonly string[] }): PrometheusDiscovery {
  const services = manager.informer<IngressServiceLike>(SERVICE);
  const discovery = new PrometheusDiscovery(() => services.list(), options.namespaces, manager.logger.child({ controller: 'prometheus' }));
  services.onChange(() => discovery.discover());
  manager.add(discovery);
  return discovery;
}

export class PrometheusDiscovery implements Runnable {
  readonly name = 'prometheus-discovery';
  current?: PrometheusEndpoint;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly services: () => IngressServiceLike[],
    private readonly namespaces: readonly string[],
    private readonly logger: Logger,
    private readonly intervalMs = 30_000,
  ) {}

  private started = false;

  start(): void {
    this.started = true;
    this.discover();
    this.timer = setInterval(() => this.discover(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Also called on every Service change, so a new Prometheus shows up without waiting for the timer. */
  discover(): void {
    if (!this.started) return;
    const found = findPrometheus(this.services(), this.namespaces);
    if (JSON.stringify(found) === JSON.stringify(this.current)) return;
    this.current = found;
    if (found) this.logger.info('discovered Prometheus', { namespace: found.namespace, name: found.service, port: found.port });
    else this.logger.info('no Prometheus found');
  }
}

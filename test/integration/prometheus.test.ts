// The alerts and the dashboard against a real Prometheus (prometheus from its Go module, cached like the test
// apiserver) scraping a running operator: the reference control plane and gateway, an Ingress served through
// the tunnel with answers of 2xx and 5xx, and Prometheus loading the chart's rules. Every rule is healthy, every
// alert expression evaluates and each metric selector in it returns series (most alerts are quiet in a healthy
// system), and every dashboard query (its variables resolved as Grafana would) evaluates and returns series.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import { Gateway } from '../../src/reference-control-plane/gateway.js';
import { describeRoute, waitForRoutes } from '../support/control-plane.js';
import { call } from '../support/fake-agent.js';
import { createIngress, ingressObject } from '../support/fixtures.js';
import { eventually } from '../support/kube.js';
import { dashboard, dashboardQueries, dashboardVariables, renderedRuleGroups, substitute } from '../support/observability.js';
import type { OperatorProcess } from '../support/operator.js';
import { startProcess, waitFor, type ManagedProcess } from '../support/processes.js';
import { syncSuite } from '../support/sync-suite.js';
import { freePort, prometheusBinaries } from '../support/test-cluster.js';

/** The labels a ServiceMonitor gives the operator's series, which the chart's alerts select (see renderedRuleGroups). */
const TARGET = { job: 'gateway-operator-metrics', namespace: 'gateway-system', pod: 'gateway-operator-0' };

const suite = syncSuite('prometheus-test-token');
let operator: OperatorProcess;
let gateway: Gateway;
let backend: Server;
let prometheus: { process: ManagedProcess; port: number; dir: string };

/** A backend answering 500 on /fail and 200 elsewhere. */
async function startBackend(): Promise<Server> {
  const server = createServer((req, res) => {
    res.statusCode = req.url === '/fail' ? 500 : 200;
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** Prometheus scraping the operator every second and evaluating the chart's rules every second; retried on a taken port. */
async function startPrometheus(metricsPort: number): Promise<{ process: ManagedProcess; port: number; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-prometheus-'));
  writeFileSync(join(dir, 'rules.yaml'), dump({ groups: renderedRuleGroups() }));
  writeFileSync(
    join(dir, 'prometheus.yml'),
    dump({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: ['rules.yaml'],
      scrape_configs: [{ job_name: TARGET.job, static_configs: [{ targets: [`127.0.0.1:${metricsPort}`], labels: { namespace: TARGET.namespace, pod: TARGET.pod } }] }],
    }),
  );
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const process = startProcess('prometheus', join(prometheusBinaries(), 'prometheus'), [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ], join(dir, 'prometheus.log'));
    try {
      await waitFor('prometheus ready', async () => (await fetch(`http://127.0.0.1:${port}/-/ready`)).ok, { timeoutMs: 30_000, intervalMs: 100, abortOn: process.exited });
      return { process, port, dir };
    } catch (err) {
      await process.stop();
      if (attempt === 3 || !process.logTail().includes('address already in use')) throw new Error(`${(err as Error).message}\n${process.logTail()}`);
    }
  }
}

interface ApiAnswer<T> {
  status: 'success' | 'error';
  data: T;
  error?: string;
}

async function api<T>(path: string, params: Record<string, string> = {}): Promise<ApiAnswer<T>> {
  const url = new URL(path, `http://127.0.0.1:${prometheus.port}`);
  for (const [key, value] of Object.entries(params)) url.searchParams.append(key, value);
  return (await (await fetch(url)).json()) as ApiAnswer<T>;
}

/** An instant query: its error, or how many series it returned. */
async function query(expr: string): Promise<{ error?: string; series: number }> {
  const answer = await api<{ result: unknown[] }>('/api/v1/query', { query: expr });
  return answer.status === 'success' ? { series: answer.data.result.length } : { error: answer.error ?? 'failed', series: 0 };
}

/** Polls until every query evaluates and returns series; the ones that still do not at the deadline, with why. */
async function unanswered(queries: ReadonlyArray<{ name: string; expr: string }>, timeoutMs = 20_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const failing: string[] = [];
    for (const { name, expr } of queries) {
      const { error, series } = await query(expr);
      if (error || series === 0) failing.push(`${name}: ${error ?? 'no series'} (${expr})`);
    }
    if (failing.length === 0 || Date.now() > deadline) return failing;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

/** The metric selectors of a PromQL expression (every one in the chart's rules has matchers): `name{…}`. */
const selectorsOf = (expr: string): string[] => [...new Set(expr.match(/\b[a-zA-Z_:][a-zA-Z0-9_:]*\{[^}]*\}/g) ?? [])];

beforeAll(async () => {
  backend = await startBackend();
  gateway = new Gateway(suite.cp, {});
  const gatewayPort = await gateway.listen();
  const ns = await suite.ownNamespace('prometheus');
  const host = `${ns}.example.com`;
  await createIngress(ingressObject(ns, 'web', [{ host, paths: [{ path: '/', service: 'web', port: 'http' }] }]));
  const backendPort = (backend.address() as AddressInfo).port;
  operator = suite.operators.start(suite.operatorArgs(ns, {}, ['--service-address', `${ns}/web=127.0.0.1:${backendPort}`]), { POD_NAME: TARGET.pod });
  await operator.registered();
  await waitForRoutes(suite.cp, ns, [describeRoute({ host, path: '/', service: 'web', port: 8080 })]);
  prometheus = await startPrometheus(operator.healthPort);
  // Answers of both kinds, so the status series exist; the tunnel's counters then move while Prometheus scrapes.
  await eventually('a request served through the tunnel', async () => (await call(gatewayPort, host, '/')).status === 200);
  expect((await call(gatewayPort, host, '/fail')).status).toBe(500);
  await waitFor('prometheus scraped the operator', async () => (await query(`up{job="${TARGET.job}"} == 1`)).series === 1, { timeoutMs: 30_000, intervalMs: 500 });
  for (let i = 0; i < 5; i++) await call(gatewayPort, host, '/');
}, 120_000);

afterAll(async () => {
  await prometheus?.process.stop();
  if (prometheus) rmSync(prometheus.dir, { recursive: true, force: true });
  await gateway?.close();
  await new Promise((resolve) => backend?.close(resolve));
});

describe('the chart\'s alerts in Prometheus', () => {
  it('loads every rule, and every one evaluates healthy', async () => {
    const expected = renderedRuleGroups().flatMap((g) => g.rules.map((r) => r.alert)).sort();
    type Rules = { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> };
    let rules: Array<{ name: string; health: string; lastError?: string }> = [];
    await eventually('every rule evaluated', async () => {
      rules = (await api<Rules>('/api/v1/rules')).data.groups.flatMap((g) => g.rules);
      return rules.length === expected.length && rules.every((r) => r.health !== 'unknown');
    });
    expect(rules.map((r) => r.name).sort()).toEqual(expected);
    expect(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`)).toEqual([]);
  });

  it('every alert expression evaluates, and every metric it selects has series', async () => {
    const rules = renderedRuleGroups().flatMap((g) => g.rules);
    for (const rule of rules) expect({ alert: rule.alert, ...(await query(rule.expr)) }).toEqual({ alert: rule.alert, series: expect.any(Number) });
    const selectors = rules.flatMap((rule) => selectorsOf(rule.expr).map((expr) => ({ name: rule.alert, expr })));
    expect(selectors.length).toBeGreaterThanOrEqual(rules.length);
    expect(await unanswered(selectors)).toEqual([]);
  });

  it('none is pending or firing against a healthy operator (once the first scrapes are in: "down" may be pending before them)', async () => {
    let active: string[] = [];
    const activeAlerts = async (): Promise<string[]> =>
      (await api<{ alerts: Array<{ labels: { alertname: string }; state: string }> }>('/api/v1/alerts')).data.alerts.map((a) => `${a.labels.alertname} ${a.state}`);
    await eventually('no alert active', async () => (active = await activeAlerts()).length === 0, 15_000).catch(() => undefined);
    expect(active).toEqual([]);
  });
});

describe('the dashboard in Prometheus', () => {
  it('resolves its variables to the operator\'s series, and every panel query evaluates and returns series', async () => {
    const board = dashboard();
    const values: Record<string, string> = {};
    for (const variable of dashboardVariables(board)) {
      const selector = substitute(variable.selector, values, '1m');
      const found = (await api<string[]>(`/api/v1/label/${variable.label}/values`, { 'match[]': selector })).data;
      expect({ variable: variable.name, values: found }).toEqual({ variable: variable.name, values: [TARGET[variable.label as keyof typeof TARGET]] });
      values[variable.name] = found[0]!;
    }
    const queries = dashboardQueries(board).map(({ name, expr }) => ({ name, expr: substitute(expr, values, '1m') }));
    expect(queries.length).toBeGreaterThan(25);
    expect(await unanswered(queries)).toEqual([]);
  });
});

// What the observability tests share: the chart's alert rules as rendered for a release, and the queries of
// its Grafana dashboard with their template variables.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHART, objectsOf, renderChart } from './install.js';

/** What the alerts' runbook_url start with in the tests. */
export const RUNBOOKS = 'https://docs.example.com/operations.md';

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/**
 * The rule groups of the chart's PrometheusRule for release gateway-operator in gateway-system (what
 * alerts.promtool.yaml expects): scraped by the chart's ServiceMonitor, with a control plane (every alert).
 */
export function renderedRuleGroups(values: Record<string, string | boolean> = {}): Array<{ name: string; rules: AlertRule[] }> {
  const objects = objectsOf(
    renderChart('gateway-operator', 'gateway-system', {
      clusterName: 'alerts',
      'controlPlane.url': 'https://control-plane.example.com',
      'serviceMonitor.enabled': true,
      'prometheusRule.enabled': true,
      'prometheusRule.runbookBaseUrl': RUNBOOKS,
      ...values,
    }),
  );
  const rule = objects.find((o) => o.kind === 'PrometheusRule');
  if (!rule) throw new Error('the chart rendered no PrometheusRule');
  return rule.spec.groups;
}

export const DASHBOARD_FILE = join(CHART, 'dashboards/gateway-operator.json');

interface Panel {
  title: string;
  type: string;
  targets?: Array<{ expr: string; refId: string }>;
  panels?: Panel[];
}

export interface Dashboard {
  uid: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query?: string | { query: string } }> };
}

export function dashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
}

/** Every query of every panel (rows' panels too), named "panel title / refId". */
export function dashboardQueries(board: Dashboard): Array<{ name: string; expr: string }> {
  const panels = board.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  return panels.flatMap((panel) => (panel.targets ?? []).map((t) => ({ name: `${panel.title} / ${t.refId}`, expr: t.expr })));
}

/** The dashboard's query variables in order: name and the `label_values(selector, label)` they are read with. */
export function dashboardVariables(board: Dashboard): Array<{ name: string; selector: string; label: string }> {
  return board.templating.list
    .filter((v) => v.type === 'query')
    .map((v) => {
      const query = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
      const match = /^label_values\((.+),\s*(\w+)\)$/.exec(query);
      if (!match) throw new Error(`dashboard variable ${v.name}: expected label_values(selector, label), got ${query}`);
      return { name: v.name, selector: match[1]!, label: match[2]! };
    });
}

/** `text` with Grafana's variables replaced: $name and ${name} from `values`, $__rate_interval as `rateInterval`. */
export function substitute(text: string, values: Record<string, string>, rateInterval: string): string {
  return text.replace(/\$\{?(\w+)\}?/g, (whole, name: string) => (name === '__rate_interval' ? rateInterval : (values[name] ?? whole)));
}

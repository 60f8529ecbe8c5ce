// The chart's alerts and dashboard as a platform engineer installs them: the PrometheusRule rendered by helm
// passes `promtool test rules` (test/integration/alerts.promtool.yaml: each alert fires when it should and
// stays quiet in a healthy system), every alert has a case that fires it, and the dashboard ConfigMap carries
// dashboards/gateway-operator.json unchanged under the sidecar's label.
import { describe, expect, it } from '@jest/globals';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump, load } from 'js-yaml';
import { CHART, helm, objectsOf, renderChart } from '../support/install.js';
import { DASHBOARD_FILE, renderedRuleGroups, RUNBOOKS } from '../support/observability.js';
import { runCommandSync } from '../support/processes.js';
import { prometheusBinaries, REPO_ROOT } from '../support/test-cluster.js';

const PROMTOOL_CASES = join(REPO_ROOT, 'test/integration/alerts.promtool.yaml');

function promtool(args: string[]): ReturnType<typeof runCommandSync> {
  return runCommandSync(join(prometheusBinaries(), 'promtool'), args);
}

describe('PrometheusRule', () => {
  it('passes promtool test rules, and every alert has a case that fires it', () => {
    const groups = renderedRuleGroups();
    const dir = mkdtempSync(join(tmpdir(), 'gateway-alerts-'));
    writeFileSync(join(dir, 'rules.yaml'), dump({ groups }));
    copyFileSync(PROMTOOL_CASES, join(dir, 'alerts.promtool.yaml'));
    const checked = promtool(['check', 'rules', join(dir, 'rules.yaml')]);
    expect(`${checked.stdout}${checked.stderr}`).toContain('SUCCESS');
    const tested = promtool(['test', 'rules', join(dir, 'alerts.promtool.yaml')]);
    rmSync(dir, { recursive: true });
    expect({ status: tested.status, output: `${tested.stdout}${tested.stderr}` }).toEqual({ status: 0, output: expect.stringContaining('SUCCESS') });

    const cases = load(readFileSync(PROMTOOL_CASES, 'utf8')) as { tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }> };
    const fired = new Set(cases.tests.flatMap((t) => t.alert_rule_test ?? []).filter((c) => c.exp_alerts.length > 0).map((c) => c.alertname));
    const alerts = groups.flatMap((g) => g.rules.map((r) => r.alert));
    expect(alerts.length).toBeGreaterThanOrEqual(8);
    expect(alerts.filter((alert) => !fired.has(alert))).toEqual([]);
  });

  it('every alert has a severity, a summary, a description and a runbook_url under runbookBaseUrl; alertLabels are added, severity kept', () => {
    const rules = renderedRuleGroups({ 'prometheusRule.alertLabels.team': 'platform', 'prometheusRule.alertLabels.severity': 'none' }).flatMap((g) => g.rules);
    for (const rule of rules) {
      expect({ alert: rule.alert, severity: rule.labels.severity }).toEqual({ alert: rule.alert, severity: expect.stringMatching(/^(critical|warning)$/) });
      expect(rule.labels.team).toBe('platform');
      expect(rule.annotations.summary).toBeTruthy();
      expect(rule.annotations.description).toBeTruthy();
      expect(rule.annotations.runbook_url).toMatch(new RegExp(`^${RUNBOOKS.replace(/\./g, '\\.')}#runbook-[a-z0-9-]+$`));
      expect(rule.for).toMatch(/^\d+m$/);
    }
  });

  it('selects the release\'s series (job and namespace of the ServiceMonitor, or prometheusRule.selector), and is off by default', () => {
    const exprs = (values = {}) => renderedRuleGroups(values).flatMap((g) => g.rules.map((r) => r.expr));
    for (const expr of exprs()) expect(expr).toContain('job="gateway-operator-metrics", namespace="gateway-system"');
    for (const expr of exprs({ 'prometheusRule.selector': 'cluster="eu-1"' })) expect(expr).toContain('{cluster="eu-1"');
    expect(objectsOf(renderChart('gateway-operator', 'gateway-system', { clusterName: 'x' })).some((o) => o.kind === 'PrometheusRule')).toBe(false);
    const unset = helm(['template', 'x', CHART, '--set', 'clusterName=x', '--set', 'prometheusRule.enabled=true']);
    expect(unset.status).not.toBe(0);
    expect(unset.stderr).toContain('prometheusRule.runbookBaseUrl is required');
  });

  // Both setups are allowed, and in both the default rules would page for ever.
  it('refuses the default selector without the ServiceMonitor it matches (GatewayOperatorDown would never clear)', () => {
    const args = ['template', 'x', CHART, '--set', 'clusterName=x', '--set', 'prometheusRule.enabled=true', '--set', `prometheusRule.runbookBaseUrl=${RUNBOOKS}`];
    const refused = helm(args);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain('prometheusRule.enabled needs serviceMonitor.enabled=true, or prometheusRule.selector set to');
    const alerts = renderedRuleGroups({ 'serviceMonitor.enabled': false, 'prometheusRule.selector': 'job="gateway-operator"' }).flatMap((g) => g.rules);
    expect(alerts.length).toBeGreaterThanOrEqual(8);
  });

  it('leaves the control-plane alerts out without controlPlane.url (nothing connects: they would fire or idle for ever)', () => {
    const alerts = renderedRuleGroups({ 'controlPlane.url': '' }).flatMap((g) => g.rules.map((r) => r.alert));
    expect(alerts).toEqual(['GatewayOperatorDown', 'GatewayOperatorNoLeader', 'GatewayOperatorGatewayRoutesStalled']);
  });
});

describe('Grafana dashboard', () => {
  const dashboardFile = readFileSync(DASHBOARD_FILE, 'utf8');

  it('is the chart\'s dashboards/gateway-operator.json in a ConfigMap with the sidecar label, where grafanaDashboard says', () => {
    const plain = objectsOf(renderChart('gateway-operator', 'gateway-system', { clusterName: 'x', 'grafanaDashboard.enabled': true }));
    const configMap = plain.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'gateway-operator-dashboard')!;
    expect(configMap.metadata).toMatchObject({ namespace: 'gateway-system', labels: { grafana_dashboard: '1' } });
    expect(configMap.data['gateway-operator.json']).toBe(dashboardFile.trimEnd());
    expect(JSON.parse(configMap.data['gateway-operator.json']).uid).toBe('gateway-operator');

    const placed = objectsOf(
      renderChart('gateway-operator', 'gateway-system', {
        clusterName: 'x',
        'grafanaDashboard.enabled': true,
        'grafanaDashboard.namespace': 'monitoring',
        'grafanaDashboard.labels.grafana_dashboard': 'gateway',
        'grafanaDashboard.annotations.grafana_folder': 'Gateway',
      }),
    ).find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'gateway-operator-dashboard')!;
    expect(placed.metadata).toMatchObject({ namespace: 'monitoring', labels: { grafana_dashboard: 'gateway' }, annotations: { grafana_folder: 'Gateway' } });
    expect(objectsOf(renderChart('gateway-operator', 'gateway-system', { clusterName: 'x' })).some((o) => o.metadata.name === 'gateway-operator-dashboard')).toBe(false);
  });
});

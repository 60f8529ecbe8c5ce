// docs/operations.md against the code, lighter than docs/conditions.md's check: every condition reason that is
// not True is named in it (or its type's section of docs/conditions.md is linked), every runbook link leads to a
// runbook that exists (every alert of the chart's PrometheusRule too, whose severity and `for` its Alerts table
// gives), every gateway_operator_* metric it names is registered, every log message in its troubleshooting table
// is one the operator writes, and no helm upgrade in the docs uses --reuse-values.
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLUSTER_CONNECTIVITY_REASONS, GATEWAY_ROUTE_REASONS, SUMMARY_REASONS, type ReasonTable } from '../../../src/api/v1alpha1/reasons.js';
import { registry } from '../../../src/metrics.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DOC = 'docs/operations.md';
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
const slug = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

/** The anchors a Markdown document defines: its headings' and its `<a id="…">`s. */
function anchors(markdown: string): Set<string> {
  const found = new Set<string>();
  for (const line of markdown.split('\n')) {
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading?.[1]) found.add(slug(heading[1]));
  }
  for (const match of markdown.matchAll(/<a id="([^"]+)"><\/a>/g)) found.add(match[1]!);
  return found;
}

/** The runbook anchors `markdown` links to (`#runbook-…`, in this document or through `operations.md#runbook-…`). */
const runbookLinks = (markdown: string): string[] => [...new Set([...markdown.matchAll(/\]\((?:[^)#\s]*operations\.md)?#(runbook-[a-z0-9-]+)\)/g)].map((m) => m[1]!))];

/**
 * The runbooks the chart's alerts link to: each alert of templates/prometheusrule.yaml names one (`runbook: <name>`,
 * rendered as runbook_url <runbookBaseUrl>#runbook-<name>); an alert without one is reported as "(none)".
 */
function alertRunbooks(template: string): Array<{ alert: string; runbook: string; severityFor: string }> {
  return template
    .split(/^- alert: /m)
    .slice(1)
    .map((rule) => ({
      alert: rule.split('\n')[0]!.trim(),
      runbook: /^\s+runbook: ([a-z0-9-]+)\s*$/m.exec(rule)?.[1] ?? '(none)',
      severityFor: `${/^\s+severity: (\S+)$/m.exec(rule)?.[1] ?? '?'}, ${/^\s+for: (\S+)$/m.exec(rule)?.[1] ?? '?'}`,
    }));
}

/** The Alerts table's "severity, for" of each alert, as "critical, 5m" (a condition before the `for` dropped). */
const documentedSeverityFor = (markdown: string): Map<string, string> =>
  new Map([...markdown.matchAll(/^\| `(GatewayOperator\w+)` \| (\w+), (?:[^|]* )?(\d+[smh]) \|/gm)].map((m) => [m[1]!, `${m[2]}, ${m[3]}`]));

/** The metric names Prometheus scrapes from the registry (histograms also as _bucket, _sum and _count). */
async function scrapedNames(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const metric of await registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
  }
  return names;
}

/** The gateway_operator_* names `markdown` mentions that `known` lacks. */
const unknownMetrics = (markdown: string, known: ReadonlySet<string>): string[] =>
  [...new Set(markdown.match(/\bgateway_operator_[a-z0-9_]+/g) ?? [])].filter((name) => !known.has(name));

/** Every reason of every type that is not True (what someone has to look at), as `Type / Reason`. */
const actionableReasons = (...tables: ReasonTable[]): Array<{ type: string; reason: string }> =>
  tables.flatMap((table) =>
    Object.entries(table).flatMap(([type, reasons]) =>
      Object.entries(reasons)
        .filter(([, spec]) => spec.status !== 'True')
        .map(([reason]) => ({ type, reason })),
    ),
  );

/** Reasons neither named in `doc` nor covered by a link to their type's section of docs/conditions.md. */
function undocumentedReasons(doc: string, reasons: ReadonlyArray<{ type: string; reason: string }>): string[] {
  return reasons
    .filter(({ type, reason }) => !doc.includes(`\`${reason}\``) && !doc.includes(`conditions.md#${type.toLowerCase()}`))
    .map(({ type, reason }) => `${type} / ${reason}`);
}

/** The messages of the troubleshooting table: "| level | `message` | …" under "## Troubleshooting by log line". */
function loggedMessages(markdown: string): string[] {
  const section = markdown.split(/^## /m).find((s) => s.startsWith('Troubleshooting by log line')) ?? '';
  return [...section.matchAll(/^\| (?:warn|error) \| `([^`]+)` \|/gm)].map((m) => m[1]!);
}

/**
 * The `helm upgrade` commands of a document that keep the last release's values with `--reuse-values`, which
 * drops the new chart's defaults (README.md, Upgrade with Helm); continuation lines joined. A warning that
 * names the flag without a command is not one.
 */
const reuseValuesUpgrades = (markdown: string): string[] =>
  (markdown.replace(/\s*\\\n\s*/g, ' ').match(/helm upgrade [^`\n]*/g) ?? []).filter((command) => /\s--reuse-values(\s|$)/.test(command));

const sourceFiles = (dir: string): string[] =>
  readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );

/** A message is written by the operator when each literal part of it (between `…` placeholders) is in its source. */
const notInSource = (messages: readonly string[], source: string): string[] =>
  messages.filter((message) => message.split('…').some((part) => part.trim() && !source.includes(part)));

describe(`${DOC}`, () => {
  const doc = read(DOC);

  it('is linked from README.md', () => {
    expect(read('README.md')).toContain('(docs/operations.md)');
  });

  it('names every condition reason that is not True, or links its type in docs/conditions.md', () => {
    expect(undocumentedReasons(doc, actionableReasons(GATEWAY_ROUTE_REASONS, CLUSTER_CONNECTIVITY_REASONS, SUMMARY_REASONS))).toEqual([]);
  });

  it('links only sections of README.md, docs/conditions.md and docs/protocol.md that exist', () => {
    const files: Record<string, string> = { '../README.md': 'README.md', 'conditions.md': 'docs/conditions.md', 'protocol.md': 'docs/protocol.md' };
    const links = [...doc.matchAll(/\]\(([^)#\s]+)#([^)\s]+)\)/g)].map((m) => ({ file: m[1]!, anchor: m[2]! }));
    expect(links.length).toBeGreaterThan(10);
    const broken = links.filter(({ file, anchor }) => !(file in files) || !anchors(read(files[file]!)).has(anchor));
    expect(broken.map(({ file, anchor }) => `${file}#${anchor}`)).toEqual([]);
  });

  it('has the runbooks alerts point to, and every runbook link (here and in README.md) leads to one', () => {
    const defined = anchors(doc);
    for (const runbook of ['control-plane-disconnected', 'routes-not-synced', 'gatewayroute-stalled', 'host-answers-503', 'tunnel-403', 'tunnel-limits', 'identity-not-cached', 'replica-draining', 'standby-not-ready', 'operator-down', 'tunnel-errors', 'reconnect-storm']) {
      expect(defined).toContain(`runbook-${runbook}`);
    }
    const links = [...runbookLinks(doc), ...runbookLinks(read('README.md'))];
    expect(links.filter((link) => !defined.has(link))).toEqual([]);
  });

  it("has the runbook every alert of the chart's PrometheusRule links to, and the rule's severity and `for` in its Alerts table", () => {
    const alerts = alertRunbooks(read('charts/gateway-operator/templates/prometheusrule.yaml'));
    expect(alerts.length).toBeGreaterThanOrEqual(8);
    const defined = anchors(doc);
    expect(alerts.filter(({ runbook }) => !defined.has(`runbook-${runbook}`))).toEqual([]);
    // The Alerts table names every alert, with the rule's severity and `for`.
    const documented = documentedSeverityFor(doc);
    expect(alerts.map(({ alert }) => `${alert}: ${documented.get(alert) ?? 'not in the table'}`)).toEqual(alerts.map(({ alert, severityFor }) => `${alert}: ${severityFor}`));
  });

  it('upgrades with -f or --reset-then-reuse-values, never --reuse-values (here, README.md, the chart\'s README and NOTES.txt)', () => {
    const docs = [DOC, 'README.md', ...readdirSync(join(ROOT, 'docs')).map((file) => `docs/${file}`), 'charts/gateway-operator/README.md', 'charts/gateway-operator/templates/NOTES.txt'];
    expect([...new Set(docs)].flatMap((file) => reuseValuesUpgrades(read(file)).map((command) => `${file}: ${command}`))).toEqual([]);
  });

  it('links only anchors of its own that exist', () => {
    const defined = anchors(doc);
    const local = [...doc.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!);
    expect(local.filter((anchor) => !defined.has(anchor))).toEqual([]);
  });

  it('names only metrics the operator registers', async () => {
    const known = await scrapedNames();
    expect(doc).toMatch(/gateway_operator_controlplane_connected/);
    expect(unknownMetrics(doc, known)).toEqual([]);
  });

  it('lists at least 25 log messages, each one the operator writes', () => {
    const messages = loggedMessages(doc);
    expect(messages.length).toBeGreaterThanOrEqual(25);
    const source = sourceFiles('src')
      .filter((file) => !file.includes('reference-control-plane'))
      .map((file) => read(file))
      .join('\n');
    expect(notInSource(messages, source)).toEqual([]);
  });

  it('the checks have teeth: a misspelt metric, a missing runbook, an unknown log line and an unnamed reason are reported', async () => {
    const known = await scrapedNames();
    expect(unknownMetrics('alert on `gateway_operator_controlplane_conected == 0`', known)).toEqual(['gateway_operator_controlplane_conected']);
    expect(unknownMetrics('`gateway_operator_reconcile_duration_seconds_bucket`', known)).toEqual([]);
    expect(runbookLinks('see [x](#runbook-nope) and [y](docs/operations.md#runbook-other)')).toEqual(['runbook-nope', 'runbook-other']);
    expect(notInSource(['control-plane socket closed', 'the control plane exploded'], "logger.warn('control-plane socket closed')")).toEqual(['the control plane exploded']);
    expect(undocumentedReasons('`Pending`', [{ type: 'Synced', reason: 'Pending' }, { type: 'Synced', reason: 'Throttled' }])).toEqual(['Synced / Throttled']);
    expect(alertRunbooks('- alert: A\n  for: 5m\n  severity: critical\n  runbook: tunnel-errors\n- alert: B\n  expr: up\n')).toEqual([
      { alert: 'A', runbook: 'tunnel-errors', severityFor: 'critical, 5m' },
      { alert: 'B', runbook: '(none)', severityFor: '?, ?' },
    ]);
    expect(documentedSeverityFor('| `GatewayOperatorA` | warning, above 5 min for 1m | x |\n| `GatewayOperatorB` | critical, 2m | y |')).toEqual(
      new Map([['GatewayOperatorA', 'warning, 1m'], ['GatewayOperatorB', 'critical, 2m']]),
    );
    expect(reuseValuesUpgrades('Not `--reuse-values`.\n```sh\nhelm upgrade x ./c --reset-then-reuse-values\nhelm upgrade x ./c -n y \\\n  --reuse-values --set a=b\n```\n')).toEqual(['helm upgrade x ./c -n y --reuse-values --set a=b']);
  });
});

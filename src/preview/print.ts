// How preview shows its result: a table for people (kubectl-like columns, then what was dropped, what would
// stall and which sources are not served, then a one-line verdict), or the GatewayRoutes as a `kind: List` in
// YAML or JSON for tools. Pure.
import yaml from 'js-yaml';
import { findCondition } from '../api/v1alpha1/conditions.js';
import { objectKey } from '../operator/kinds.js';
import { previewFails, type PreviewResult } from './preview.js';

const COLUMNS = ['NAMESPACE', 'NAME', 'SOURCE', 'HOSTS', 'ROUTES', 'ACCEPTED', 'RESOLVEDREFS'] as const;

function alignColumns(rows: readonly string[][]): string[] {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('   ').trimEnd());
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** The table, the details behind it and the verdict, as preview prints them by default. */
export function formatTable(result: PreviewResult): string {
  const lines: string[] = [];
  if (result.gatewayRoutes.length === 0) lines.push('No GatewayRoutes.');
  else {
    const rows = result.gatewayRoutes.map(({ gatewayRoute: route }) => [
      route.metadata.namespace ?? '',
      route.metadata.name ?? '',
      route.spec.source?.kind ?? '',
      route.status?.hosts || '<none>',
      String(route.status?.routeCount ?? 0),
      findCondition(route.status?.conditions, 'Accepted')?.reason ?? '',
      findCondition(route.status?.conditions, 'ResolvedRefs')?.reason ?? '',
    ]);
    lines.push(...alignColumns([[...COLUMNS], ...rows]));
  }

  for (const { gatewayRoute: route, stalled } of result.gatewayRoutes) {
    // Only what needs a reader's attention: conditions that are not plainly fine, and Stalled.
    const details = (route.status?.conditions ?? [])
      .filter((c) => c.status !== 'True' || c.reason !== c.type)
      .map((c) => `  ${c.type} ${c.status} ${c.reason}: ${c.message}`);
    if (stalled) details.push(`  would be Stalled (${stalled.reason}): ${stalled.message}`);
    if (details.length) lines.push('', objectKey(route.metadata), ...details);
  }

  if (result.sources.length) {
    lines.push('', 'Ingresses and HTTPRoutes not served (or not through every Gateway they name):');
    for (const source of result.sources) lines.push(`  ${source.kind} ${source.namespace}/${source.name}: ${source.message}`);
  }
  lines.push('', verdict(result));
  return `${lines.join('\n')}\n`;
}

/** One line: how many GatewayRoutes, what fails the preview, and the exit code it gives. */
export function verdict(result: PreviewResult): string {
  const routes = result.gatewayRoutes;
  const dropping = routes.filter((r) => r.dropsPaths).length;
  const stalled = routes.filter((r) => r.stalled).length;
  const refused = result.sources.filter((s) => s.fails).length;
  const said: string[] = [];
  if (dropping) said.push(`${dropping} ${dropping === 1 ? 'drops' : 'drop'} paths`);
  if (stalled) said.push(`${stalled} would be Stalled`);
  if (refused) said.push(`${plural(refused, 'source')} not served as asked`);
  const summary = `${plural(routes.length, 'GatewayRoute')}${said.length ? `: ${said.join(', ')}` : ''}`;
  return previewFails(result) ? `FAIL ${summary} (exit 1)` : `OK ${summary}`;
}

/** The GatewayRoutes as a `kind: List`, the shape `kubectl get -o yaml|json` prints. */
export function formatList(result: PreviewResult, format: 'yaml' | 'json'): string {
  const list = { apiVersion: 'v1', kind: 'List', items: result.gatewayRoutes.map((r) => r.gatewayRoute) };
  return format === 'json' ? `${JSON.stringify(list, null, 2)}\n` : yaml.dump(list, { noRefs: true, lineWidth: -1 });
}

/**
 * For stderr: what was not read (kinds preview ignores), warnings, and, when stdout carries only data (YAML,
 * JSON), the sources not served and the verdict.
 */
export function formatNotes(result: PreviewResult, options: { withSources: boolean }): string {
  const lines: string[] = [];
  if (result.ignored.length) {
    const counts = new Map<string, number>();
    for (const { kind } of result.ignored) counts.set(kind, (counts.get(kind) ?? 0) + 1);
    lines.push(`ignored ${plural(result.ignored.length, 'object')} of kinds preview does not read: ${[...counts].map(([kind, count]) => `${kind} (${count})`).join(', ')}`);
  }
  lines.push(...result.warnings);
  if (options.withSources) {
    for (const source of result.sources) lines.push(`${source.kind} ${source.namespace}/${source.name}: ${source.message}`);
    lines.push(verdict(result));
  }
  return lines.map((line) => `gateway-operator preview: ${line}\n`).join('');
}
